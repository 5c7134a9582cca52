"""The ``flywheel`` command: outputs, exit codes, and bad input handled at the boundary."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from simulator import load_scenario
from simulator.cli import app

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--set", "population.size=300", "--set", "steps=12"]
runner = CliRunner()


def flywheel(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_run_writes_every_output(tmp_path):
    out = tmp_path / "run"
    result = flywheel("run", ROOT / "scenarios/baseline.yaml", *SMALL, "--out", out)
    assert result.exit_code == 0, result.output
    for name in ["timeseries.csv", "timeseries.parquet", "summary.json", "scenario.yaml"]:
        assert (out / name).stat().st_size > 0
    for plot in ["users", "quality", "training_data", "flywheel_health"]:
        assert (out / "plots" / f"{plot}.png").stat().st_size > 10_000
    csv = pd.read_csv(out / "timeseries.csv")
    parquet = pd.read_parquet(out / "timeseries.parquet")
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)
    assert len(csv) == 13
    summary = json.loads((out / "summary.json").read_text())
    for field in ["scenario", "seed", "engine", "steps", "population", "final",
                  "flywheel_health", "defensibility", "takeoff_step", "runtime_s",
                  "agent_steps_per_s", "package_version"]:  # fmt: skip
        assert field in summary
    assert summary["population"] == 300 and summary["steps"] == 12
    # the resolved scenario reproduces the run
    again = tmp_path / "again"
    assert flywheel("run", out / "scenario.yaml", "--out", again, "--no-plots").exit_code == 0
    assert (again / "timeseries.csv").read_bytes() == (out / "timeseries.csv").read_bytes()


def test_same_seed_gives_byte_identical_csv_and_seed_option_changes_it(tmp_path):
    args = ["run", ROOT / "scenarios/baseline.yaml", *SMALL, "--no-plots"]
    for name, seed in [("a", 3), ("b", 3), ("c", 4)]:
        assert flywheel(*args, "--seed", seed, "--out", tmp_path / name).exit_code == 0
    a, b, c = (tmp_path / n / "timeseries.csv" for n in "abc")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


@pytest.mark.parametrize("scenario", sorted((ROOT / "scenarios").glob("*.yaml")), ids=str)
def test_every_scenario_runs_at_reduced_size(scenario, tmp_path):
    # A firm must enter before the last step: run such markets just past their last entry.
    entries = [firm.enters_at for firm in load_scenario(scenario).firms]
    steps = ["--set", f"steps={max([12, *(e + 12 for e in entries)])}"]
    result = flywheel("run", scenario, *SMALL[:2], *steps, "--no-plots", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "summary.json").exists()


BAD_INPUTS = {
    "missing file": (["run", "no/such/file.yaml"], "file not found"),
    "malformed yaml": (["run", ROOT / "tests/data/bad/syntax_error.yaml"], "line"),
    "wrong type": (["run", ROOT / "tests/data/bad/wrong_type.yaml"], "population.size"),
    "out of range": (["run", ROOT / "tests/data/bad/out_of_range.yaml"], "data.filter_recall"),
    "unknown key": (["run", ROOT / "tests/data/bad/unknown_key.yaml"], "did you mean"),
    "unsafe tag": (["run", ROOT / "tests/data/bad/unsafe_tag.yaml"], "line"),
    "bad --set value": (
        ["run", ROOT / "scenarios/baseline.yaml", "--set", "adoption.innovation=-1"],
        "adoption.innovation",
    ),
    "unknown --set key": (
        ["run", ROOT / "scenarios/baseline.yaml", "--set", "adoption.imitaton=0.1"],
        "did you mean 'adoption.imitation'",
    ),
    "--set without =": (["run", ROOT / "scenarios/baseline.yaml", "--set", "steps"], "KEY=VALUE"),
    "bad engine": (["run", ROOT / "scenarios/baseline.yaml", "--engine", "gpu"], "engine"),
    "bad seed": (["run", ROOT / "scenarios/baseline.yaml", "--seed", "-3"], "seed"),
    "malformed network file": (
        [
            "run",
            ROOT / "scenarios/baseline.yaml",
            "--set",
            "network.kind=file",
            "--set",
            f"network.path={ROOT / 'tests/data/networks/one_token.txt'}",
        ],
        "one_token.txt",
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_exits_2_without_traceback_and_writes_nothing(case, tmp_path):
    args, expected = BAD_INPUTS[case]
    out = tmp_path / "out"
    result = flywheel(*args, "--out", out)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_validate_lists_every_problem_and_exits_2():
    result = flywheel("validate", ROOT / "tests/data/bad/three_problems.yaml")
    assert result.exit_code == 2
    assert "3 problem(s)" in result.output
    ok = flywheel("validate", *sorted((ROOT / "scenarios").glob("*.yaml")))
    assert ok.exit_code == 0, ok.output


def test_plot_redraws_a_results_folder(tmp_path):
    assert flywheel("run", ROOT / "scenarios/baseline.yaml", *SMALL, "--no-plots",
                    "--out", tmp_path).exit_code == 0  # fmt: skip
    assert not (tmp_path / "plots").exists()
    result = flywheel("plot", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plots" / "quality.png").exists()
    assert flywheel("plot", tmp_path / "nothing_here").exit_code == 2


def test_python_dash_m_entry_point_and_exit_code_2_in_a_real_process(tmp_path):
    """A real subprocess: no traceback reaches the terminal on bad input."""
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "run", str(ROOT / "tests/data/bad/unknown_key.yaml"),
         "--out", str(tmp_path / "x")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "unknown_key.yaml" in done.stderr
    assert not (tmp_path / "x").exists()


def test_a_population_the_machine_cannot_hold_is_refused_with_the_memory_needed(tmp_path):
    out = tmp_path / "huge"
    result = flywheel("run", ROOT / "scenarios/baseline.yaml", "--set",
                      "population.size=4000000000", "--engine", "array", "--out", out)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "GiB" in result.output and "population.size" in result.output
    assert not out.exists()


def test_a_scenario_highlighting_a_metric_its_runs_lack_is_refused(tmp_path):
    out = tmp_path / "out"
    result = flywheel("run", ROOT / "tests/data/bad/unknown_highlight.yaml", "--out", out)
    assert result.exit_code == 2, result.output
    assert "unknown_highlight.yaml, line 10: report.highlight.1" in result.output
    assert "share[minority]" in result.output and "Traceback" not in result.output
    assert not out.exists()
