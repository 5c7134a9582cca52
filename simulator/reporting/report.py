"""One self-contained HTML handout per run, comparison or sweep: ``flywheel report``.

The handout has, for each folder given: the scenario's question, its key numbers,
every figure (embedded as SVG, so the file opens offline and prints sharply), the
defensibility audit, the things to notice and the scenario as run. It is rendered with
Jinja2 with autoescaping on: a scenario's name, description and notes are user text.

In Python::

    from simulator.reporting.report import write_report
    write_report(["results/baseline"], "handout.html")
    write_report(["results/compare/baseline-vs-data_hoarding"], "comparison.html")
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib as mpl
import yaml
from matplotlib.figure import Figure

from .._version import __version__
from ..errors import InputError
from .names import AUDIT_ITEMS, axis_label, describe, summary_label
from .plots import DPI, STYLE
from .stories import format_number, highlights, summary_number

#: The numbers every run's handout shows, before the scenario's own key metrics.
KEY_NUMBERS = (
    "final.active_users",
    "final.quality",
    "final.baseline_quality",
    "final.moat",
    "takeoff_step",
    "word_of_mouth_step",
    "half_adoption_step",
    "defensibility.score",
)

#: Figure stems -> the sentence under the figure.
CAPTIONS = {
    "key_metrics": "The scenario's key metrics, against the level that gives each its meaning.",
    "users": "Potential, active and churned users; takeoff and half adoption marked.",
    "quality": "The model's quality against the free market baseline; the moat shaded.",
    "training_data": "The data the company collects, and the data its model learns from.",
    "flywheel_health": "Flywheel health: each rate against 52 weeks earlier.",
    "audit": "The defensibility audit: each item's input against its threshold.",
    "comparison": "The runs on shared axes.",
    "phase_diagram": "Mean outcome per cell of the sweep.",
    "lines": "Mean outcome against the first swept parameter.",
    "scatter": "Mean outcome of every design point.",
    "sensitivity": "Sensitivity indices.",
}


@dataclass
class Embedded:
    """A figure as the template embeds it."""

    stem: str
    title: str
    caption: str
    src: str
    """``data:image/svg+xml;base64,...``: the figure inside the HTML file."""


@dataclass
class Section:
    """One folder's part of the handout."""

    kind: str
    """``run``, ``comparison`` or ``sweep``."""
    title: str
    path: str
    questions: list[tuple[str, str]] = field(default_factory=list)
    """``(run label, its scenario's description)``."""
    numbers_header: list[str] = field(default_factory=list)
    numbers: list[list[str]] = field(default_factory=list)
    """Rows of the key-numbers table: the name, then one cell per run."""
    figures: list[Embedded] = field(default_factory=list)
    audits: list[tuple[str, int | None, list[list[str]]]] = field(default_factory=list)
    """``(run label, score, rows of item, input, threshold, points)``."""
    notices: list[str] = field(default_factory=list)
    scenarios: list[tuple[str, str]] = field(default_factory=list)
    """``(run label, the scenario as run, as YAML)``."""
    text: str = ""
    """A sweep's report (its tables as text)."""


def svg_source(fig: Figure) -> str:
    """A figure as a ``data:`` URI of its SVG (self-contained: no file, no network)."""
    buffer = io.BytesIO()
    with mpl.rc_context(STYLE):
        fig.savefig(buffer, format="svg", dpi=DPI)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(stem: str, fig: Figure) -> Embedded:
    title = fig.get_suptitle() or stem.replace("_", " ")
    return Embedded(stem, title, CAPTIONS.get(stem, ""), svg_source(fig))


def _dt(scenario: Any) -> float:
    if scenario is None:
        return 1.0
    return float(scenario.get("dt", 1.0) if isinstance(scenario, Mapping) else scenario.dt)


def _number_rows(summaries: list[list[dict]], scenarios: list[Any]) -> list[list[str]]:
    """Key numbers (then each scenario's highlights) per run; several seeds: their mean."""
    names = list(KEY_NUMBERS)
    for scenario in scenarios:
        for name in highlights(scenario):
            dotted = name if "." in name or name.endswith("_step") else f"final.{name}"
            if dotted not in names and name not in names:
                names.append(dotted)
    rows = []
    for name in names:
        label = describe(name)[0] if name.endswith("_step") else axis_label(name)
        cells = [label]
        for runs, scenario in zip(summaries, scenarios, strict=True):
            values = [summary_number(summary, name) for summary in runs]
            numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            if not numbers:
                cells.append(format_number(name, None))
                continue
            mean = sum(numbers) / len(numbers)
            cell = format_number(name, mean, _dt(scenario))
            if len(runs) > 1:
                cell += f" (mean of {len(numbers)} of {len(runs)} seeds)"
            cells.append(cell)
        rows.append(cells)
    return rows


def _audit_rows(summary: Mapping[str, Any]) -> tuple[int | None, list[list[str]]]:
    audit = summary.get("defensibility") or {}
    rows = []
    for name, item in (audit.get("items") or {}).items():
        rows.append([
            AUDIT_ITEMS.get(name, name.replace("_", " ")),
            f"{float(item.get('input') or 0.0):.3f}",
            f"above {item['threshold']:g}",
            f"{item.get('points', 0)} / {item.get('max_points', '?')}",
        ])  # fmt: skip
    return audit.get("score"), rows


def _yaml(scenario: Any) -> str:
    if scenario is None:
        return "(no scenario.yaml in this folder)"
    data = scenario if isinstance(scenario, Mapping) else scenario.to_dict()
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _notices(scenarios: list[Any]) -> list[str]:
    notices: list[str] = []
    for scenario in scenarios:
        if scenario is None:
            continue
        report = scenario.get("report") if isinstance(scenario, Mapping) else scenario.report
        if report is None:
            continue
        found = report.get("notice") if isinstance(report, Mapping) else report.notice
        notices += [text for text in found or [] if text not in notices]
    return notices


def _description(scenario: Any) -> str:
    if scenario is None:
        return ""
    return str(
        scenario.get("description", "") if isinstance(scenario, Mapping) else scenario.description
    )


def run_section(folder: str | os.PathLike) -> Section:
    """The handout's section for a results folder of ``flywheel run``."""
    from .folder import read_results
    from .plots import run_figures

    results = read_results(folder)
    label = summary_label(results.summary)
    try:
        figures = run_figures(results.timeseries, results.summary, results.scenario)
    except InputError as exc:
        raise InputError(f"{results.path / 'scenario.yaml'}: {exc}") from None
    score, rows = _audit_rows(results.summary)
    return Section(
        kind="run",
        title=label,
        path=str(folder),
        questions=[(label, _description(results.scenario))],
        numbers_header=[label],
        numbers=_number_rows([[results.summary]], [results.scenario]),
        figures=[_figure(stem, fig) for stem, fig in figures.items()],
        audits=[(label, score, rows)],
        notices=_notices([results.scenario]),
        scenarios=[(label, _yaml(results.scenario))],
    )


def comparison_section(folder: str | os.PathLike) -> Section:
    """The handout's section for a folder written by ``flywheel compare``."""
    from .compare import comparison_from_folder

    comparison = comparison_from_folder(folder)
    runs = comparison.runs
    labels = [one.label for one in runs]
    audits = [(one.label, *_audit_rows(one.summaries[0])) for one in runs]
    if any(len(one.seeds) > 1 for one in runs):
        audits = [(f"{label} (seed {one.seeds[0]})", score, rows)
                  for (label, score, rows), one in zip(audits, runs, strict=True)]  # fmt: skip
    return Section(
        kind="comparison",
        title="Comparison: " + " vs ".join(labels),
        path=str(folder),
        questions=[(one.label, _description(one.scenario)) for one in runs],
        numbers_header=labels,
        numbers=_number_rows([one.summaries for one in runs], [one.scenario for one in runs]),
        figures=[_figure("comparison", comparison.figure)],
        audits=audits,
        notices=_notices([one.scenario for one in runs]),
        scenarios=[(one.label, _yaml(one.scenario)) for one in runs],
    )


def sweep_section(folder: str | os.PathLike, outcome: str | None = None) -> Section:
    """The handout's section for a sweep's results folder (``flywheel sweep``)."""
    import json

    from ..experiment.analysis import analyze

    result = analyze(folder, outcome=outcome, verbose=False, write=False)
    manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    experiment, scenario = manifest.get("experiment") or {}, manifest.get("scenario") or {}
    name = experiment.get("name") or scenario.get("name") or Path(folder).name
    question = experiment.get("description") or scenario.get("description") or ""
    return Section(
        kind="sweep",
        title=f"Sweep: {name}, outcome {describe(result['outcome'])[0]}",
        path=str(folder),
        questions=[(name, str(question))],
        figures=[_figure(stem, fig) for stem, fig in result["figures"].items()],
        notices=_notices([scenario]),
        scenarios=[(name, yaml.safe_dump(manifest.get("experiment") or manifest, sort_keys=False))],
        text=result["report"],
    )


def section(folder: str | os.PathLike) -> Section:
    """The section for any folder: a run's, a comparison's or a sweep's results."""
    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"{path}: folder not found (give a results folder of `flywheel run`, "
                         "`flywheel compare` or `flywheel sweep`).")  # fmt: skip
    if (path / "comparison.json").is_file():
        return comparison_section(path)
    if (path / "manifest.json").is_file() and (path / "runs.parquet").is_file():
        return sweep_section(path)
    if (path / "summary.json").is_file():
        return run_section(path)
    raise InputError(f"{path}: not a results folder: no summary.json (a run), comparison.json "
                     "(a comparison) or manifest.json and runs.parquet (a sweep).")  # fmt: skip


def render(sections: Sequence[Section], title: str | None = None) -> str:
    """The handout's HTML text (Jinja2, autoescaped) for the given sections."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    environment = Environment(
        loader=PackageLoader("simulator.reporting", "templates"),
        autoescape=True,  # names, descriptions and notes are user text
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html.j2")
    heading = title or (sections[0].title if len(sections) == 1 else "Flywheel handout")
    return template.render(
        title=heading, sections=sections, version=__version__, today=date.today().isoformat()
    )


def write_report(
    folders: Sequence[str | os.PathLike], out: str | os.PathLike, *, title: str | None = None
) -> Path:
    """Write one self-contained HTML handout for one or more results folders.

    Parameters
    ----------
    folders : sequence of paths
        Results folders of ``flywheel run`` (a run), ``flywheel compare`` (a comparison)
        or ``flywheel sweep`` (a sweep); one section each, in the order given.
    out : path
        The HTML file to write (its folder is created if needed).
    title : str, optional
        The handout's title (default: the section's title, or "Flywheel handout").

    Returns
    -------
    Path
        The file written. It needs no network and no other file: every figure is
        embedded as SVG.

    Raises
    ------
    InputError
        If a folder is missing or is not a results folder; nothing is written.
    """
    if not folders:
        raise InputError("report: give at least one results folder")
    sections = [section(folder) for folder in folders]  # all read before anything is written
    html = render(sections, title)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
