"""Plots: files written, figures titled and labelled with units, edge cases do not crash."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib as mpl
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from simulator.errors import InputError
from simulator.reporting import plots

STEMS = ["users", "quality", "training_data", "flywheel_health"]
HEALTH = ["data_growth_rate", "model_improvement_rate", "user_growth_rate", "data_per_user"]
HEALTH += ["feedback_rate"]


def synthetic_run(steps: int = 30, dt: float = 1.0) -> tuple[pd.DataFrame, dict]:
    """A small S-curve run with two groups, health columns and a moat that opens late."""
    step = np.arange(steps + 1)
    active = 1000 / (1 + np.exp(-(step - steps / 2) / 3))
    churned = np.cumsum(active) * 0.01
    new = active * 0.3
    data = np.cumsum(new)
    quality = 0.5 + 0.3 * data / data[-1] - 0.02 * (step < steps / 3)
    ts = pd.DataFrame(
        {
            "step": step,
            "time": step * dt,
            "potential_users": 1000 - active - churned,
            "active_users": active,
            "churned_users": churned,
            "interactions": active * 3,
            "signals": active,
            "new_examples": new,
            "training_examples": data,
            "noise_share": np.full(step.size, 0.05),
            "quality": quality,
            "baseline_quality": 0.5 + 0.002 * step,
            "active_users[a]": active * 0.7,
            "active_users[b]": active * 0.3,
            "quality[a]": quality + 0.01,
            "quality[b]": quality - 0.02,
            "training_examples[a]": data * 0.7,
            "training_examples[b]": data * 0.3,
        }
    )
    ts["data_growth_rate"] = np.where(step > 5, data / data[0] - 1, np.nan)
    ts["model_improvement_rate"] = quality / quality[0] - 1
    ts["user_growth_rate"] = active / active[0]
    ts["data_per_user"] = data / active
    ts["feedback_rate"] = ts["signals"] / ts["interactions"]
    summary = {"scenario": "synthetic", "seed": 7, "engine": "agent", "population": 1000}
    summary |= {"takeoff_step": 8, "half_adoption_step": 15}
    return ts, summary


@pytest.fixture
def run() -> tuple[pd.DataFrame, dict]:
    return synthetic_run()


def all_figures(ts: pd.DataFrame, summary: dict) -> list[Figure]:
    return [build(ts, summary) for build in plots.FIGURES.values()]


def test_save_all_writes_non_blank_pngs_and_svgs(run, tmp_path):
    paths = plots.save_all(*run, tmp_path / "new" / "plots")
    assert sorted(p.name for p in paths) == sorted(
        f"{s}.{f}" for s in STEMS for f in ("png", "svg")
    )
    for path in paths:
        assert path.is_file() and path.stat().st_size > 5_000
    for path in (p for p in paths if p.suffix == ".png"):
        image = mpimg.imread(path)
        height, width = image.shape[:2]
        assert width >= 1400 and height >= 850  # ~10 x 6 in at 150 dpi
        assert (image[..., :3] < 0.99).any(axis=-1).mean() > 0.02  # not a white page


def test_save_all_formats(run, tmp_path):
    paths = plots.save_all(*run, tmp_path, formats=("png",))
    assert [p.suffix for p in paths] == [".png"] * 4


def test_figures_are_titled_and_labelled_with_units(run):
    units = {"weeks", "users", "examples held (stock)", "quality (0–1)"}
    for fig in all_figures(*run):
        assert isinstance(fig, Figure)
        assert fig.get_suptitle()
        assert "synthetic" in fig.subfigs[0].get_suptitle()
        assert "seed 7" in fig.subfigs[0].get_suptitle()
        visible = [ax for ax in fig.axes if ax.axison]
        left = [ax for ax in visible if ax.yaxis.get_label_position() == "left"]
        assert all(ax.get_xlabel() == "weeks" for ax in left)  # the twin axis shares x
        assert all(ax.get_ylabel() for ax in visible)
    labels = {ax.get_ylabel() for fig in all_figures(*run) for ax in fig.axes}
    assert units - {"weeks"} <= labels


def test_health_panels_have_titles_and_units(run):
    fig = plots.health_figure(*run)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 4 and all(titles)
    ylabels = [ax.get_ylabel() for ax in fig.axes]
    assert ylabels[0].startswith("%") and ylabels[2].startswith("×")
    notes = " ".join(text.get_text() for text in fig.texts)
    assert "52 weeks earlier" in notes and "Feedback rate over the run: 33.3%" in notes


def test_health_reads_at_projector_size_and_explains_year_one():
    """A year-on-year rate against a nearly empty start is left off the scale, not drawn
    to 1,000,000 %; year one is shaded and says what it compares with."""
    ts, summary = synthetic_run(steps=156)
    step = ts["step"].to_numpy()
    growth = np.where(step < 52, np.nan, np.where(step < 60, 1e4, 0.3 + 0.1 * np.cos(step)))
    ts = ts.assign(data_growth_rate=growth)
    fig = plots.health_figure(ts, summary)
    data = fig.axes[0]
    assert data.get_ylim()[1] < 200  # % : the settled values (about 30 %), not 1,000,000 %
    texts = [t.get_text() for t in data.texts]
    assert "off the scale until week 59" in texts
    assert any(t.startswith("year one:") for t in texts)
    assert data.get_title() == f"Data growth: {growth[-1] * 100:,.1f} %"
    assert any(t.startswith("year one:") for t in (x.get_text() for x in fig.axes[2].texts))


def test_takeoff_and_half_adoption_are_annotated_with_weeks():
    ts, summary = synthetic_run(dt=2.0)
    texts = [t.get_text() for t in plots.users_figure(ts, summary).axes[0].texts]
    assert "takeoff: week 16" in texts and "half adopted: week 30" in texts


def test_no_takeoff_does_not_crash(run, tmp_path):
    ts, summary = run
    summary = summary | {"takeoff_step": None, "half_adoption_step": None}
    assert not plots.users_figure(ts, summary).axes[0].texts
    assert len(plots.save_all(ts, summary, tmp_path, formats=("png",))) == 4


def test_all_nan_health_columns_do_not_crash(run, tmp_path):
    ts, summary = run
    ts = ts.assign(**{column: np.nan for column in HEALTH})
    fig = plots.health_figure(ts, summary)
    for ax in fig.axes:
        assert "not defined yet" in [t.get_text() for t in ax.texts]
    assert len(plots.save_all(ts.drop(columns=HEALTH[:2]), summary, tmp_path, ("png",))) == 4


def test_moat_and_behind_the_market_are_shaded(run):
    legend = plots.quality_figure(*run).axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert {"moat", "behind the market", "market baseline", "quality: a"} <= set(labels)


def test_single_group_and_minimal_summary(tmp_path):
    ts, _ = synthetic_run()
    ts = ts.drop(columns=[c for c in ts.columns if c.endswith("[b]")])
    assert len(plots.save_all(ts, {}, tmp_path, formats=("png",))) == 4


def test_no_global_pyplot_state_or_rc_leak(run):
    from matplotlib import pyplot  # imported first, so a figure made through it would show

    figures_before = pyplot.get_fignums()
    rc_before = dict(mpl.rcParams)
    all_figures(*run)
    assert dict(mpl.rcParams) == rc_before
    assert pyplot.get_fignums() == figures_before


def test_compare_figure(run):
    ts, _ = run
    fig = plots.compare_figure({"A": ts, "B": ts.assign(active_users=ts.active_users / 2)},
                               "active_users", "users", "A vs B")  # fmt: skip
    ax = fig.axes[0]
    assert fig.get_suptitle() == "A vs B" and ax.get_xlabel() == "weeks"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["A", "B"]
    with pytest.raises(ValueError, match="nope"):
        plots.compare_figure({"A": ts}, "nope", "x", "t")


def write_results(folder: Path, ts: pd.DataFrame, summary: dict, csv: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if csv:
        ts.to_csv(folder / "timeseries.csv", index=False)
    else:
        ts.to_parquet(folder / "timeseries.parquet", index=False)
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


@pytest.mark.parametrize("csv", [False, True])
def test_plot_results_dir(run, tmp_path, csv):
    write_results(tmp_path, *run, csv=csv)
    paths = plots.plot_results_dir(tmp_path)
    assert {p.parent for p in paths} == {tmp_path / "plots"} and all(p.is_file() for p in paths)


def test_plot_results_dir_missing_folder(tmp_path):
    with pytest.raises(InputError, match="not found"):
        plots.plot_results_dir(tmp_path / "nowhere")


@pytest.mark.parametrize("missing", ["timeseries.parquet", "summary.json"])
def test_plot_results_dir_missing_file_is_named(run, tmp_path, missing):
    write_results(tmp_path, *run)
    (tmp_path / missing).unlink()
    with pytest.raises(InputError, match=missing.replace(".", r"\.")):
        plots.plot_results_dir(tmp_path)
    assert not (tmp_path / "plots").exists()


def test_plot_results_dir_bad_files(run, tmp_path):
    write_results(tmp_path, *run)
    (tmp_path / "summary.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read"):
        plots.plot_results_dir(tmp_path)
    write_results(tmp_path, run[0].drop(columns=["quality"]), run[1])
    with pytest.raises(InputError, match="quality"):
        plots.plot_results_dir(tmp_path)


def test_a_run_with_economics_plots_cumulative_profit_next_to_the_moat():
    from simulator import run
    from simulator.reporting.plots import run_figures

    tiny = {"population.size": 200, "steps": 30, "economics.price": 1.0,
            "economics.cost_per_retrain": 40}  # fmt: skip
    result = run("scenarios/baseline.yaml", seed=3, engine="array", overrides=tiny)
    figures = run_figures(result.timeseries, result.summary, result.scenario)
    fig = figures["economics"]
    money, moat = fig.axes[:2]
    assert fig.get_suptitle() == "Cumulative profit next to the moat"
    assert list(money.lines[0].get_ydata()) == list(result.timeseries["cumulative_profit"])
    expected = result.timeseries["quality"] - result.timeseries["baseline_quality"]
    assert list(moat.lines[0].get_ydata()) == list(expected)
    assert "currency" in money.get_ylabel() and "moat" in moat.get_ylabel()
    plain = run("scenarios/baseline.yaml", seed=3, engine="array",
                overrides={"population.size": 200, "steps": 30})  # fmt: skip
    assert "economics" not in run_figures(plain.timeseries, plain.summary, plain.scenario)
