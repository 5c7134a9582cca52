"""Analysis of a sweep's results folder, tested on fake folders built from known functions.

The folders are written here (manifest + runs.parquet), so these tests do not depend on
the sweep code: only on the contract between the two.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from SALib.test_functions import Ishigami
from scipy import stats

from simulator.errors import InputError  # noqa: E402
from simulator.experiment import analysis  # noqa: E402

RETRAIN, FEEDBACK, MOAT = "reinvestment.retrain_every", "data.feedback_rate", "final.moat"


def write_folder(
    folder: Path,
    runs: pd.DataFrame,
    design: dict,
    outcomes: list[str],
    replicates: int,
) -> Path:
    """Write a results folder as the sweep does: manifest.json and runs.parquet."""
    folder.mkdir(parents=True, exist_ok=True)
    runs = runs.sort_values("run_id").reset_index(drop=True)
    manifest = {
        "experiment": {"name": "fake"},
        "scenario": {"name": "baseline"},
        "hash": "0" * 16,
        "package_version": "0.1.0",
        "design": {"problem": None, "samples": None, "second_order": False} | design,
        "replicates": replicates,
        "outcomes": outcomes,
        "runs": dict(zip(runs["run_id"].astype(str), runs["status"], strict=True)),
        "timings": {},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    runs.to_parquet(folder / "runs.parquet", index=False)
    return folder


def runs_table(X: np.ndarray, names: list[str], outputs: np.ndarray) -> pd.DataFrame:  # noqa: N803
    """Runs of a design X (points × parameters) with outputs (replicates × points)."""
    replicates, points = outputs.shape
    point = np.tile(np.arange(points), replicates)
    table = pd.DataFrame(
        {
            "run_id": np.arange(points * replicates),
            "point": point,
            "replicate": np.repeat(np.arange(replicates), points),
            "seed": np.arange(points * replicates) + 1000,
            "status": "ok",
            "error": None,
        }
    )
    for i, name in enumerate(names):
        table[name] = X[point, i]
    table["y"] = outputs.ravel()
    return table


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Analytic first-order and total indices of the Ishigami function.

    Ishigami, T. and Homma, T. (1990), An importance quantification technique in
    uncertainty analysis for computer models; Saltelli, A. et al. (2008), Global
    Sensitivity Analysis: The Primer, p. 179. With a = 7, b = 0.1:
    S1 ≈ (0.314, 0.442, 0), ST ≈ (0.558, 0.442, 0.244).
    """
    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = 8 * b**2 * np.pi**8 / 225
    total = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / total, np.array([v1 + v13, v2, v13]) / total


ISHIGAMI = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}


def check_ishigami(indices: pd.DataFrame) -> None:
    """Estimates within their reported 95% interval of the analytic values.

    The intervals are SALib's bootstrap half-widths; at N = 2^12 they are about
    0.02-0.04, so the check is tight enough to catch a mis-ordered or mis-averaged Y
    (which gives errors of order 0.1-1).
    """
    s1, st = ishigami_indices()
    assert list(indices["parameter"]) == ["x1", "x2", "x3"]
    assert np.allclose(s1, [0.314, 0.442, 0.0], atol=5e-4)
    assert np.allclose(st, [0.558, 0.442, 0.244], atol=5e-4)
    assert (indices[["S1_conf", "ST_conf"]].to_numpy() < 0.05).all()
    assert (np.abs(indices["S1"] - s1) <= indices["S1_conf"]).all()
    assert (np.abs(indices["ST"] - st) <= indices["ST_conf"]).all()


@pytest.mark.parametrize("second_order", [False, True])
def test_sobol_indices_of_ishigami_match_the_analytic_values(second_order: bool) -> None:
    n = 2**12
    X = sobol_sample.sample(ISHIGAMI, n, calc_second_order=second_order, seed=7)  # noqa: N806
    assert len(X) == n * (2 * 3 + 2 if second_order else 3 + 2)
    runs = runs_table(X, ISHIGAMI["names"], Ishigami.evaluate(X)[None, :])
    indices = analysis.sobol_indices(
        runs.sample(frac=1, random_state=1), ISHIGAMI, "y", second_order
    )
    assert list(indices.columns) == ["parameter", "S1", "S1_conf", "ST", "ST_conf"]
    check_ishigami(indices)


def test_analyze_a_sobol_folder_averages_noisy_replicates_first(tmp_path: Path, capsys) -> None:
    n = 2**12
    X = sobol_sample.sample(ISHIGAMI, n, calc_second_order=False, seed=7)  # noqa: N806
    noise = np.random.default_rng(3).normal(0.0, 0.5, size=(2, len(X)))  # 1% of the variance
    runs = runs_table(X, ISHIGAMI["names"], Ishigami.evaluate(X) + noise)
    parameters = {name: {"min": -np.pi, "max": np.pi} for name in ISHIGAMI["names"]}
    design = {"kind": "sobol", "parameters": parameters, "problem": ISHIGAMI}
    design |= {"n_points": len(X), "samples": n, "second_order": False}
    folder = write_folder(tmp_path / "sobol", runs, design, ["y"], replicates=2)

    result = analysis.analyze(folder)

    check_ishigami(result["indices"])
    assert (result["summary"]["n"] == 2).all() and len(result["summary"]) == len(X)
    means = result["summary"]["mean"].to_numpy()
    assert np.allclose(means, (Ishigami.evaluate(X) + noise.mean(axis=0)))
    out = folder / "analysis"
    assert {p.name for p in result["plots"]} == {"scatter.png", "sensitivity.png"}
    assert all(p.parent == out and p.stat().st_size > 0 for p in result["plots"])
    written = pd.read_csv(out / "indices.csv")
    assert list(written["parameter"]) == ["x1", "x2", "x3"]
    assert len(pd.read_csv(out / "summary.csv")) == len(X)
    printed = capsys.readouterr().out
    assert "Sobol indices" in printed and "failed runs excluded: 0" in printed


def test_sobol_refuses_a_point_without_successful_runs(tmp_path: Path) -> None:
    X = sobol_sample.sample(ISHIGAMI, 4, calc_second_order=False, seed=1)  # noqa: N806
    good = runs_table(X, ISHIGAMI["names"], np.vstack([Ishigami.evaluate(X)] * 2))
    runs, broken = good.copy(), good["point"].eq(5)
    runs.loc[broken, "status"], runs.loc[broken, "error"] = "failed", "boom"
    runs.loc[broken, "y"] = np.nan
    design = {"kind": "sobol", "parameters": {}, "problem": ISHIGAMI, "n_points": len(X)}
    design["parameters"] = {name: {"min": -np.pi, "max": np.pi} for name in ISHIGAMI["names"]}
    folder = write_folder(tmp_path / "broken", runs, design, ["y"], replicates=2)
    with pytest.raises(InputError, match=r"1 of 20 have none because every run failed: points 5\."):
        analysis.analyze(folder, verbose=False)
    assert not (folder / "analysis").exists()  # nothing written on invalid input
    with pytest.raises(InputError, match="absent from the runs"):
        analysis.sobol_indices(good[good["point"] != 3], ISHIGAMI, "y", False)
    with pytest.raises(InputError, match="not a multiple of 8"):
        analysis.sobol_indices(good, ISHIGAMI, "y", True)  # drawn without second order
    with pytest.raises(InputError, match="no variance"):
        analysis.sobol_indices(good.assign(y=1.0), ISHIGAMI, "y", False)


LINEAR = {
    "num_vars": 3,
    "names": ["a", "b", "c"],
    "bounds": [[0.0, 1.0], [10.0, 20.0], [-5.0, 5.0]],
}
COEFFICIENTS = np.array([2.0, -3.0, 0.5])


def test_morris_on_a_linear_function_gives_coefficient_times_range(tmp_path: Path) -> None:
    X = morris_sample.sample(LINEAR, 20, num_levels=4, seed=3)  # noqa: N806
    y = X @ COEFFICIENTS
    shift = np.random.default_rng(0).normal(0.0, 5.0, size=len(X))  # antithetic: mean exact
    runs = runs_table(X, LINEAR["names"], np.vstack([y + shift, y - shift]))
    parameters = {
        name: {"min": lo, "max": hi} for name, (lo, hi) in zip("abc", LINEAR["bounds"], strict=True)
    }
    design = {"kind": "morris", "parameters": parameters, "problem": LINEAR}
    design |= {"n_points": len(X), "samples": 20, "levels": 4}
    folder = write_folder(tmp_path / "morris", runs, design, ["y"], replicates=2)

    result = analysis.analyze(folder, verbose=False)

    indices = result["indices"]
    assert list(indices.columns) == ["parameter", "mu", "mu_star", "sigma", "mu_star_conf"]
    ranges = np.diff(LINEAR["bounds"]).ravel()
    assert np.allclose(indices["mu"], COEFFICIENTS * ranges)
    assert np.allclose(indices["mu_star"], np.abs(COEFFICIENTS) * ranges)
    assert np.allclose(indices["sigma"], 0.0, atol=1e-9)
    assert {p.name for p in result["plots"]} == {"scatter.png", "sensitivity.png"}
    fig = analysis.sensitivity_bars(indices, "y")
    ax = fig.axes[0]
    assert "Morris" in fig.get_suptitle() and "per full range" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "c", "b"]  # largest on top


def test_morris_refuses_a_step_that_changes_no_parameter() -> None:
    X = morris_sample.sample(LINEAR, 4, num_levels=4, seed=3)  # noqa: N806
    X[1] = X[0]  # e.g. integer rounding merged two levels
    runs = runs_table(X, LINEAR["names"], (X @ COEFFICIENTS)[None, :])
    with pytest.raises(InputError, match=r"change no parameter \(from points 0 "):
        analysis.morris_indices(runs, LINEAR, "y", X)


def test_replicate_summary_matches_hand_computed_values() -> None:
    runs = pd.DataFrame(
        {
            "run_id": range(8),
            "point": [0, 0, 0, 1, 1, 1, 2, 2],
            "status": ["ok", "ok", "ok", "ok", "ok", "failed", "failed", "failed"],
            "p": [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0],
            "y": [1.0, 2.0, 3.0, 4.0, 6.0, 100.0, np.nan, np.nan],
            "takeoff_step": pd.array([5, None, 7, 3, 4, None, None, None], dtype="Int64"),
        }
    )
    summary = analysis.replicate_summary(runs, ["p"], "y", confidence=0.9)

    assert list(summary["point"]) == [0, 1, 2] and list(summary["p"]) == [1.0, 2.0, 3.0]
    assert list(summary["n"]) == [3, 2, 0] and list(summary["failed"]) == [0, 1, 2]
    half0 = stats.t.ppf(0.95, 2) * 1.0 / np.sqrt(3)  # mean 2, sd 1
    half1 = stats.t.ppf(0.95, 1) * np.sqrt(2) / np.sqrt(2)  # mean 5, sd √2
    assert summary["mean"].iloc[:2].tolist() == [2.0, 5.0]  # the failed 100 is excluded
    assert np.allclose(summary["std"].iloc[:2], [1.0, np.sqrt(2)])
    assert np.allclose(summary["ci_low"].iloc[:2], [2 - half0, 5 - half1])
    assert np.allclose(summary["ci_high"].iloc[:2], [2 + half0, 5 + half1])
    assert summary.iloc[2][["mean", "std", "ci_low", "ci_high"]].isna().all()
    assert np.allclose(summary["takeoff_share"].iloc[:2], [2 / 3, 1.0])
    assert np.isnan(summary["takeoff_share"].iloc[2])

    takeoff = analysis.replicate_summary(runs, ["p"], "takeoff_step")
    assert list(takeoff["n"]) == [2, 2, 0] and takeoff["mean"].iloc[:2].tolist() == [6.0, 3.5]
    one = analysis.replicate_summary(runs[runs["run_id"] != 1], ["p"], "takeoff_step")
    assert one["n"].iloc[0] == 2 and np.isfinite(one["ci_low"].iloc[0])
    single = analysis.replicate_summary(runs[runs["run_id"].isin([0, 3])], ["p"], "y")
    assert single[["std", "ci_low", "ci_high"]].isna().all().all()  # one run: no interval


def grid_runs(replicates: int = 3) -> pd.DataFrame:
    """A 4 × 3 grid over retrain_every × feedback_rate with a noisy moat that opens up."""
    rng = np.random.default_rng(11)
    rows = []
    grid = [(r, f) for r in (1, 2, 4, 8) for f in (0.1, 0.2, 0.3)]
    for replicate in range(replicates):
        for point, (retrain, feedback) in enumerate(grid):
            moat = 0.8 * feedback - 0.02 * retrain + rng.normal(0, 0.01)
            rows.append(
                {
                    "point": point,
                    "replicate": replicate,
                    "status": "ok",
                    "error": None,
                    RETRAIN: retrain,
                    FEEDBACK: feedback,
                    MOAT: moat,
                    "takeoff_step": 20 + retrain if moat > 0 else None,
                }
            )
    runs = pd.DataFrame(rows)
    runs.insert(0, "run_id", range(len(runs)))
    runs.insert(3, "seed", runs["run_id"] + 100)
    runs["takeoff_step"] = runs["takeoff_step"].astype("Int64")
    return runs


def grid_design(runs: pd.DataFrame) -> dict:
    parameters = {RETRAIN: {"values": [1, 2, 4, 8]}, FEEDBACK: {"values": [0.1, 0.2, 0.3]}}
    return {"kind": "grid", "parameters": parameters, "n_points": int(runs["point"].nunique())}


def test_analyze_a_grid_writes_titled_plots_and_counts_failures(tmp_path: Path, capsys) -> None:
    runs = grid_runs()
    failed = runs.index[(runs["point"] == 4) & (runs["replicate"] == 1)]
    runs.loc[failed, ["status", "error", MOAT]] = ["failed", "boom", np.nan]
    folder = write_folder(tmp_path / "grid", runs, grid_design(runs), [MOAT, "takeoff_step"], 3)

    result = analysis.analyze(folder, out_dir=tmp_path / "out")

    assert result["outcome"] == MOAT and result["indices"] is None and result["failed"] == 1
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert len(summary) == 12 and summary["failed"].sum() == 1
    assert summary.loc[summary["point"] == 4, "n"].item() == 2
    expected = runs[(runs["point"] == 4) & (runs["status"] == "ok")][MOAT].mean()
    assert summary.loc[summary["point"] == 4, "mean"].item() == pytest.approx(expected)
    assert "failed runs excluded: 1" in capsys.readouterr().out
    assert [p.name for p in result["plots"]] == ["phase_diagram.png", "lines.png"]
    for path in result["plots"]:
        image = mpimg.imread(path)
        assert image.shape[0] > 500 and image.std() > 0.01  # not blank

    pooled = analysis.marginal_summary(runs, [RETRAIN, FEEDBACK], MOAT)
    fig = analysis.phase_diagram(pooled, RETRAIN, FEEDBACK, MOAT)
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and fig.get_suptitle() == "Phase diagram: moat at the end"
    assert ax.get_xlabel() == "steps between retrains (steps)"
    assert ax.get_ylabel() == "feedback rate (share of interactions, 0–1)"
    colorbar = fig.axes[1]
    assert colorbar.get_ylabel() == "mean moat at the end (quality − market baseline)"
    low, high = colorbar.get_ylim()  # a moat's scale is centred on 0, whatever the values
    assert low == pytest.approx(-high)
    assert any(isinstance(c, ContourSet) for c in ax.collections)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["takeoff in 50% of replicates"]

    no_takeoff = pooled.drop(columns="takeoff_share")
    fig = analysis.phase_diagram(no_takeoff, RETRAIN, FEEDBACK, MOAT)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["moat = 0"]

    fig = analysis.outcome_lines(pooled, FEEDBACK, MOAT, by=RETRAIN)
    ax = fig.axes[0]
    assert fig.get_suptitle() == "moat at the end vs feedback rate"
    assert ax.get_legend().get_title().get_text() == "steps between retrains (steps)"
    assert ax.get_xlabel() == "feedback rate (share of interactions, 0–1)"
    assert "moat at the end" in ax.get_ylabel()
    assert len(ax.lines) == 4 and len(ax.collections) == 4  # a line and a band per value
    assert "95% confidence interval" in ax.get_title()


def test_a_grid_over_three_parameters_averages_the_third_in_plots(tmp_path: Path) -> None:
    runs = pd.concat([grid_runs(2).assign(**{"data.filter_recall": v}) for v in (0.5, 0.9)])
    runs["point"] = runs["point"] + 12 * (runs["data.filter_recall"] == 0.9)
    runs["run_id"] = range(len(runs))
    design = grid_design(runs)
    design["parameters"]["data.filter_recall"] = {"values": [0.5, 0.9]}
    folder = write_folder(tmp_path / "grid3", runs, design, [MOAT], 2)
    result = analysis.analyze(folder, verbose=False)
    assert len(result["summary"]) == 24
    assert [p.name for p in result["plots"]] == ["phase_diagram.png", "lines.png"]
    with pytest.raises(ValueError, match="marginal_summary"):
        analysis.outcome_lines(result["summary"], RETRAIN, MOAT, by=FEEDBACK)


def test_bad_folders_and_unknown_outcomes_raise_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="results folder not found"):
        analysis.analyze(tmp_path / "nowhere")
    runs = grid_runs(1)
    folder = write_folder(tmp_path / "grid", runs, grid_design(runs), [MOAT], 1)
    with pytest.raises(InputError, match=r"unknown outcome 'final\.mote'.*final\.moat"):
        analysis.analyze(folder, outcome="final.mote")
    with pytest.raises(InputError, match="not in the runs table"):
        folder_b = write_folder(
            tmp_path / "b", runs.drop(columns=MOAT), grid_design(runs), [MOAT], 1
        )
        analysis.analyze(folder_b)
    (folder / "runs.parquet").unlink()
    with pytest.raises(InputError, match=r"runs\.parquet: file not found"):
        analysis.analyze(folder)
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    runs.to_parquet(folder / "runs.parquet")
    with pytest.raises(InputError, match="cannot read the manifest"):
        analysis.analyze(folder)
    assert not (folder / "analysis").exists()


def test_sensitivity_bars_show_s1_and_st_with_error_bars() -> None:
    indices = pd.DataFrame(
        {
            "parameter": [RETRAIN, FEEDBACK],
            "S1": [0.2, 0.6],
            "S1_conf": [0.05, 0.04],
            "ST": [0.3, 0.7],
            "ST_conf": [0.06, 0.05],
        }
    )
    fig = analysis.sensitivity_bars(indices, MOAT)
    ax = fig.axes[0]
    assert fig.get_suptitle() == "Sensitivity of moat at the end: Sobol indices"
    assert "share of the variance" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "steps between retrains",
        "feedback rate",
    ]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2 and all(c.errorbar is not None for c in bars)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["S1: the parameter alone", "ST: with interactions"]


def test_phase_diagram_colours_do_not_stretch_a_narrow_range():
    """Moats of 0.114-0.136 are all "a moat of about +0.12", not darkest and brightest."""
    cells = pd.DataFrame(
        [(r, d, 0.114 + 0.002 * r + 0.001 * d) for r in (1, 2, 4) for d in (2, 6)],
        columns=[RETRAIN, "network.mean_degree", "mean"],
    )
    fig = analysis.phase_diagram(cells, RETRAIN, "network.mean_degree", MOAT)
    norm = fig.axes[0].collections[0].norm
    assert norm(0.0) == pytest.approx(0.5) and norm(0.136) > 0.9 and norm(0.114) > 0.9
    users = cells.assign(mean=cells["mean"] * 10_000)
    fig = analysis.phase_diagram(users, RETRAIN, "network.mean_degree", "final.active_users")
    norm = fig.axes[0].collections[0].norm
    assert norm.vmin == 0 and fig.axes[1].get_ylabel() == "mean active users at the end (users)"


def test_a_variant_sweep_draws_every_level_with_intervals_in_one_figure(tmp_path: Path) -> None:
    """Levels in the sweep file's order, one panel per numeric outcome; the takeoff panel's
    mean is over the runs that took off and says how many did."""
    levels = ["none", "bought", "open"]
    rng = np.random.default_rng(5)
    rows = []
    for point, level in enumerate(levels):
        for replicate in range(4):
            took = not (level == "none" and replicate < 2)
            rows.append({"run_id": len(rows), "point": point, "replicate": replicate,
                         "seed": len(rows), "status": "ok", "error": None, "tactic": level,
                         MOAT: 0.1 * point + rng.normal(0, 0.01),
                         "takeoff_step": 20 - 5 * point if took else None})  # fmt: skip
    runs = pd.DataFrame(rows)
    design = {"kind": "grid", "parameters": {"tactic": {"values": levels}}, "n_points": 3}
    folder = write_folder(tmp_path / "v", runs, design, ["takeoff_step", MOAT], 4)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["experiment"]["variants"] = {"tactic": {name: {} for name in levels}}
    (folder / "manifest.json").write_text(json.dumps(manifest))

    result = analysis.analyze(folder, out_dir=tmp_path / "out", verbose=False)

    assert [p.name for p in result["plots"]] == ["levels.png"]
    fig = result["figures"]["levels"]
    takeoff, moat = fig.axes[:2]
    top_to_bottom = sorted(takeoff.get_yticklabels(), key=lambda t: -t.get_position()[1])
    assert [t.get_text() for t in top_to_bottom] == levels
    notes = sorted(takeoff.texts, key=lambda t: -t.xy[1])
    assert [t.get_text() for t in notes] == ["2/4 took off", "4/4 took off", "4/4 took off"]
    means = takeoff.lines[0].get_xdata()  # the points, top to bottom
    assert list(means) == [20, 15, 10]
    moat_means = moat.lines[0].get_xdata()
    expected = runs.groupby("tactic")[MOAT].mean()
    assert np.allclose(moat_means, [expected[level] for level in levels])
    assert "confidence interval" in fig.subfigs[0].get_suptitle()
