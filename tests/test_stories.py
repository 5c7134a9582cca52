"""Figures that tell each scenario's story: key metrics, the audit, data collected vs used,
the training set of an estimator, subtitles that name overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from simulator import load_scenario, run
from simulator.cli import app
from simulator.errors import InputError
from simulator.reporting import plots, stories
from simulator.reporting.names import describe, overrides_slug, run_label

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml"))
SMALL = {"population.size": 400, "steps": 40}


def small_run(name: str, **overrides):
    return run(ROOT / "scenarios" / f"{name}.yaml", overrides=SMALL | overrides, engine="array")


def texts(fig) -> list[str]:
    """Every text of a figure: titles, labels, annotations, legends, tick labels."""
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


@pytest.fixture(scope="module")
def hoarding():
    return small_run("data_hoarding")


@pytest.fixture(scope="module")
def collapse():
    return small_run("model_collapse", steps=60)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_every_scenario_s_default_plots_show_its_key_metrics(path):
    entries = [firm.enters_at for firm in load_scenario(path).firms]  # must enter in the run
    steps = max([SMALL["steps"], *(entry + 20 for entry in entries)])
    result = run(path, overrides=SMALL | {"steps": steps}, engine="array")
    figures = plots.run_figures(result.timeseries, result.summary, result.scenario)
    assert list(figures)[0] == "key_metrics" and "audit" in figures
    fig = figures["key_metrics"]
    shown = " ".join(texts(fig))
    for name in result.scenario.report.highlight:
        assert describe(name)[0] in shown, name
    panels = [ax for ax in fig.axes if ax.axison]
    columns = [n for n in result.scenario.report.highlight if n in result.timeseries]
    assert len(panels) == len(columns)
    for ax, column in zip(panels, columns, strict=True):
        drawn = ax.lines[0].get_ydata()
        assert np.allclose(drawn, result.timeseries[column], equal_nan=True)


def test_a_group_s_share_is_drawn_against_its_population_share():
    result = small_run("bias_amplification")
    fig = stories.key_metrics_figure(result.timeseries, result.summary, result.scenario)
    ax = fig.axes[0]
    assert "minority's share of active users" in ax.get_title()
    levels = [line.get_ydata()[0] for line in ax.lines[1:]]
    assert levels == [pytest.approx(0.2)]
    assert "share of the population (0.20)" in texts(fig)


def test_collapse_figures_show_the_spread_and_what_the_model_trains_on(collapse):
    ts, summary, scenario = collapse.timeseries, collapse.summary, collapse.scenario
    key = stories.key_metrics_figure(ts, summary, scenario)
    spread = key.axes[0]
    assert spread.get_title().startswith("model's spread")
    assert [line.get_ydata()[0] for line in spread.lines[1:]] == [pytest.approx(1.0)]
    data = plots.data_figure(ts, summary)
    assert data.get_suptitle() == "Training data: what the model learns from"
    assert data.axes[0].get_ylim()[1] < 40  # 20 points, not the 10,000s collected
    box = " ".join(texts(data))
    assert "0 users' points and 20 synthetic ones" in box
    assert f"feedback collected from users: {ts['training_examples'].iloc[-1]:,.0f}" in box


def test_hoarding_figure_shows_data_collected_and_none_used(hoarding):
    ts = hoarding.timeseries
    assert ts["training_examples"].max() == 0 and ts["collected_examples"].iloc[-1] > 1000
    fig = plots.data_figure(ts, hoarding.summary)
    ax = fig.axes[0]
    assert ax.get_ylim()[1] >= ts["collected_examples"].max()
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert len(ticks) == len(set(ticks)) >= 3  # not 0, 0, 0, 1, 1, 1
    box = " ".join(texts(fig))
    assert f"collected {ts['collected_examples'].iloc[-1]:,.0f} examples" in box
    assert "used for training 0 (0%)" in box
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"collected (filtered feedback)", "used for training"} <= set(legend)


def test_audit_figure_shows_every_item_against_its_threshold(hoarding):
    audit = hoarding.summary["defensibility"]
    fig = stories.audit_figure(hoarding.timeseries, hoarding.summary)
    assert fig.get_suptitle() == f"Defensibility audit: {audit['score']} / 10"
    ax = fig.axes[0]
    bars = [patch for patch in ax.patches if patch.get_height() == pytest.approx(0.6)]
    assert len(bars) == 5
    inputs = [item["input"] for item in audit["items"].values()][::-1]
    assert [bar.get_width() for bar in bars] == pytest.approx(inputs)
    thresholds = [line.get_xdata()[0] for line in ax.lines if len(line.get_xdata()) == 2]
    assert thresholds == pytest.approx([i["threshold"] for i in audit["items"].values()][::-1])
    shown = texts(fig)
    assert "3 / 3 points" in shown and "0 / 1 point" in shown and "exclusive data" in shown


def test_subtitles_name_the_overrides():
    result = small_run("baseline", **{"market.baseline.ceiling": 0.9})
    result.summary["overrides"] = {"market.baseline.ceiling": 0.9}
    for fig in plots.run_figures(result.timeseries, result.summary, result.scenario).values():
        assert "with market.baseline.ceiling=0.9" in fig.subfigs[0].get_suptitle()


def test_a_highlight_the_results_lack_is_refused_before_anything_is_written(hoarding, tmp_path):
    scenario = hoarding.scenario.model_copy(update={"report": hoarding.scenario.report})
    ts = hoarding.timeseries.drop(columns="collected_examples")
    with pytest.raises(InputError, match=r"report.highlight.0: .*'collected_examples'"):
        plots.save_all(ts, hoarding.summary, tmp_path / "plots", scenario=scenario)
    assert not (tmp_path / "plots").exists()


def test_labels_and_folder_names_of_runs_with_overrides():
    overrides = {"market.baseline.ceiling": 0.9, "market.baseline.time_constant": 26}
    assert run_label("baseline") == "baseline"
    assert run_label("baseline", overrides) == (
        "baseline (market.baseline.ceiling=0.9, market.baseline.time_constant=26)"
    )
    assert (
        overrides_slug({"network.path": "a/b c.csv", "x": None}) == "network.path=a_b_c.csv,x=null"
    )
    long = {f"population.groups.{i}.label_noise": 0.1 for i in range(9)}
    other = long | {"population.groups.8.label_noise": 0.2}
    assert len(overrides_slug(long)) == 80 and overrides_slug(long) != overrides_slug(other)


def test_a_run_with_set_gets_its_own_folder_and_label(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    base = ["run", str(ROOT / "scenarios/baseline.yaml"), "--set", "population.size=300"]
    result = runner.invoke(app, [*base, "--set", "steps=12"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "results" / "baseline--population.size=300,steps=12"
    assert folder.is_dir() and not (tmp_path / "results" / "baseline").exists()
    summary = (folder / "summary.json").read_text()
    assert '"overrides": {\n    "population.size": 300,\n    "steps": 12\n  }' in summary
    seeded = runner.invoke(app, [*base, "--steps", "12", "--seed", "3", "--no-plots"])
    assert seeded.exit_code == 0, seeded.output
    assert (tmp_path / "results" / "baseline--population.size=300,seed=3,steps=12").is_dir()


def test_the_scenario_is_read_back_from_a_results_folder(tmp_path):
    result = small_run("bias_amplification")
    result.write(tmp_path, plots=False)
    written = plots.plot_results_dir(tmp_path)
    assert tmp_path / "plots" / "key_metrics.png" in written
    assert load_scenario(tmp_path / "scenario.yaml").report == result.scenario.report


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("moat", [(0.0, "no moat (0)")]),
        ("quality_gap", [(0.0, "no gap (0)")]),
        ("quality[minority]", [("baseline_quality", "market baseline")]),
        ("share[minority]", [(0.2, "share of the population (0.20)")]),
        ("share[nobody]", []),
        ("active_users", []),
    ],
)
def test_references_of_key_metrics(column, expected):
    assert stories.references(column, load_scenario(ROOT / "scenarios/baseline.yaml")) == expected
