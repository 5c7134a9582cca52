"""``flywheel report``: one self-contained HTML handout, checked by parsing it."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator import run
from simulator.cli import app
from simulator.errors import InputError
from simulator.reporting.compare import compare_runs
from simulator.reporting.plots import run_figures
from simulator.reporting.report import write_report

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"population.size": 300, "steps": 40}
SVG = "data:image/svg+xml;base64,"
runner = CliRunner()


class Handout(HTMLParser):
    """The parts of a handout a reader sees: images, table cells, list items, all text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.cells: list[str] = []
        self.items: list[str] = []
        self.texts: list[str] = []
        self.tags: list[str] = []
        self.links: list[str] = []
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self._open.append(tag)
        if tag == "img":
            self.images.append(attrs)
        self.links += [v for k, v in attrs.items() if k in ("src", "href") and v]
        if tag in ("td", "th", "li"):
            (self.items if tag == "li" else self.cells).append("")

    def handle_endtag(self, tag):
        while self._open and self._open.pop() != tag:
            pass

    def handle_data(self, data):
        self.texts.append(data)
        if self._open and self._open[-1] in ("td", "th"):
            self.cells[-1] += data
        elif "li" in self._open:
            self.items[-1] += data


def svg_of(image: dict[str, str]) -> ET.Element:
    assert image["src"].startswith(SVG)
    return ET.fromstring(base64.b64decode(image["src"][len(SVG) :]))


def svg_text(root: ET.Element) -> str:
    return " ".join(t for t in root.itertext() if t.strip())


@pytest.fixture(scope="module")
def hoarding(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hoarding")
    result = run(ROOT / "scenarios/data_hoarding.yaml", overrides=SMALL, engine="array")
    result.write(folder, plots=False)
    return folder, result


def test_a_run_s_handout_has_every_figure_number_and_notice(hoarding, tmp_path):
    folder, result = hoarding
    out = runner.invoke(app, ["report", str(folder), "--out", str(tmp_path / "r.html")])
    assert out.exit_code == 0, out.output
    page = Handout((tmp_path / "r.html").read_text(encoding="utf-8"))
    expected = run_figures(result.timeseries, result.summary, result.scenario)
    assert len(page.images) == len(expected) == 6
    for image, (stem, fig) in zip(page.images, expected.items(), strict=True):
        assert image["alt"] == fig.get_suptitle(), stem
        assert fig.get_suptitle() in svg_text(svg_of(image))  # the figure itself is embedded
    final = result.summary["final"]
    for number in [f"{final['active_users']:,}", f"{final['moat']:+.3f}", "never",
                   f"{result.summary['defensibility']['score']} / 10",
                   f"{final['collected_examples']:,.0f}"]:  # fmt: skip
        assert number in page.cells, number
    assert page.items == list(result.scenario.report.notice)
    assert result.scenario.description in " ".join(page.texts)
    assert "reinvestment:" in " ".join(page.texts)  # the scenario as run
    audit_rows = [c for c in page.cells if c == "exclusive data"]
    assert audit_rows == ["exclusive data"]


def test_the_handout_needs_no_network_and_no_other_file(hoarding, tmp_path):
    folder, _ = hoarding
    page = Handout(write_report([folder], tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "script" not in page.tags and "link" not in page.tags
    assert page.links and all(link.startswith(SVG) for link in page.links)


def test_user_text_is_escaped(tmp_path):
    evil = {"description": "<script>alert('x')</script> & more", **SMALL}
    result = run(ROOT / "scenarios/baseline.yaml", overrides=evil, engine="array")
    result.write(tmp_path / "run", plots=False)
    html = write_report([tmp_path / "run"], tmp_path / "r.html").read_text(encoding="utf-8")
    assert (
        "<script>" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp;" in html
    )


def test_a_comparison_s_handout(tmp_path):
    comparison = compare_runs(
        [ROOT / "scenarios/baseline.yaml", ROOT / "scenarios/data_hoarding.yaml"],
        overrides=SMALL,
        engine="array",
    )
    comparison.write(tmp_path / "cmp")
    page = Handout(write_report([tmp_path / "cmp"], tmp_path / "c.html").read_text())
    assert len(page.images) == 1
    assert "baseline: final moat" in svg_text(svg_of(page.images[0]))
    assert {"baseline", "data_hoarding"} <= set(page.cells)
    for one in comparison.runs:
        assert f"{one.summaries[0]['final']['active_users']:,}" in page.cells
    notices = [n for one in comparison.runs for n in one.scenario.report.notice]
    assert page.items == list(dict.fromkeys(notices))
    assert sum(cell == "exclusive data" for cell in page.cells) == 2  # one audit per run


def test_a_sweep_s_handout(tmp_path):
    from simulator.experiment import load_experiment, run_experiment

    sweep = run_experiment(load_experiment(ROOT / "tests/golden/sweep.yaml"), tmp_path / "sweep")
    page = Handout(write_report([sweep.path], tmp_path / "s.html").read_text())
    titles = [svg_text(svg_of(image)) for image in page.images]
    assert len(titles) == 2 and "Phase diagram" in titles[0]
    assert "Replicate means per design point" in " ".join(page.texts)


def test_several_folders_in_one_handout_need_out(hoarding, tmp_path):
    folder, _ = hoarding
    result = runner.invoke(app, ["report", str(folder), str(folder)])
    assert result.exit_code == 2 and "--out" in result.output
    out = runner.invoke(
        app, ["report", str(folder), str(folder), "--out", str(tmp_path / "b.html")]
    )
    assert out.exit_code == 0, out.output
    assert len(Handout((tmp_path / "b.html").read_text()).images) == 12


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_bad_folders_exit_2_and_write_nothing(tmp_path, make):
    folder = tmp_path / "nothing"
    if make == "empty":
        folder.mkdir()
    result = runner.invoke(app, ["report", str(folder), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2, result.output
    assert str(folder) in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(InputError):
        write_report([], tmp_path / "r.html")
