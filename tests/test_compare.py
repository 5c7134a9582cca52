"""``flywheel compare`` and compare_runs: runs on shared axes, labelled, with a table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from simulator import run
from simulator.cli import app
from simulator.errors import InputError
from simulator.reporting.compare import compare_runs, comparison_from_folder

ROOT = Path(__file__).resolve().parents[1]
BASE, HOARD = ROOT / "scenarios/baseline.yaml", ROOT / "scenarios/data_hoarding.yaml"
SMALL = {"population.size": 300, "steps": 30}
runner = CliRunner()


def flywheel(*args):
    return runner.invoke(app, [str(a) for a in args])


def legend_labels(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_cli_compare_writes_one_figure_with_both_runs_and_a_table(tmp_path):
    out = tmp_path / "cmp"
    sets = ["--set", "population.size=300", "--set", "steps=30"]
    result = flywheel("compare", BASE, HOARD, *sets, "--engine", "array", "--out", out)
    assert result.exit_code == 0, result.output
    for name in ["comparison.png", "comparison.svg", "table.csv", "table.txt", "comparison.json"]:
        assert (out / name).stat().st_size > 0
    table = pd.read_csv(out / "table.csv")
    assert list(table["run"]) == ["baseline", "data_hoarding"]
    hoarder = table.set_index("run").loc["data_hoarding"]
    assert hoarder["final.training_examples"] == 0 and hoarder["final.collected_examples"] > 0
    assert "baseline" in result.output and "data_hoarding" in result.output
    svg = (out / "comparison.svg").read_text()
    assert "baseline: final moat" in svg and "data_hoarding: final moat" in svg
    manifest = json.loads((out / "comparison.json").read_text())
    assert [r["label"] for r in manifest["runs"]] == ["baseline", "data_hoarding"]


def test_runs_are_labelled_by_scenario_and_overrides():
    own = f"{BASE}@market.baseline.ceiling=0.9,market.baseline.time_constant=26"
    comparison = compare_runs([BASE, own], overrides=SMALL, engine="array")
    labels = [r.label for r in comparison.runs]
    assert labels == [
        "baseline",
        "baseline (market.baseline.ceiling=0.9, market.baseline.time_constant=26)",
    ]
    assert any(label.startswith(labels[1]) for label in legend_labels(comparison.figure))
    assert (
        "all runs with population.size=300, steps=30" in comparison.figure.subfigs[0].get_suptitle()
    )
    moat = comparison.table.set_index("run")["final.moat"]
    assert moat.iloc[1] < moat.iloc[0]  # the faster market erodes the moat


def test_seeds_give_replicate_intervals_and_paired_seeds():
    comparison = compare_runs([BASE, HOARD], overrides=SMALL, seeds=3, engine="array")
    for one in comparison.runs:
        assert one.seeds == [42, 43, 44]
    row = comparison.table.set_index("run").loc["baseline"]
    finals = [s["final"]["active_users"] for s in comparison.runs[0].summaries]
    assert row["final.active_users"] == pytest.approx(np.mean(finals))
    assert (
        row["final.active_users low"] < row["final.active_users"] < row["final.active_users high"]
    )
    assert row["final.active_users n"] == 3
    text = comparison.text_table()
    assert "[" in text and "never" in text  # intervals; the hoarder never takes off
    assert "3 seeds" in legend_labels(comparison.figure)[0] or "3 seeds" in str(
        comparison.figure.legends[0].get_title().get_text()
    )


def test_results_folders_and_results_are_compared_as_they_are(tmp_path):
    first = run(BASE, overrides=SMALL, engine="array")
    first.write(tmp_path / "a", plots=False)
    changed = run(BASE, overrides=SMALL | {"reinvestment.retrain_every": 1}, engine="array")
    changed.summary["overrides"] = {"reinvestment.retrain_every": 1}
    comparison = compare_runs([tmp_path / "a", changed])
    assert [r.label for r in comparison.runs] == [
        "baseline (population.size=300, steps=30)",  # run(..., overrides=) records them
        "baseline (reinvestment.retrain_every=1)",
    ]
    drawn = comparison.figure.axes[0].lines[0].get_ydata()
    assert np.array_equal(drawn, first.timeseries["active_users"])
    comparison.write(tmp_path / "cmp")
    again = comparison_from_folder(tmp_path / "cmp")
    pd.testing.assert_frame_equal(again.table, comparison.table)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["no/such.yaml"], "file not found"),
        ([str(BASE), "--seeds", "0"], "--seeds: must be an integer >= 1; got 0"),
        ([f"{BASE}@adoption.inovation=0.1"], "did you mean 'adoption.innovation'"),
        ([str(BASE), "--set", "steps"], "KEY=VALUE"),
        ([str(BASE), "--engine", "gpu"], "--engine"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, args, expected):
    out = tmp_path / "cmp"
    result = flywheel("compare", *args, "--out", out)
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_a_folder_that_is_not_a_results_folder_is_named(tmp_path):
    with pytest.raises(InputError, match=f"{tmp_path}: not a results folder"):
        compare_runs([tmp_path])
