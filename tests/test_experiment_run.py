"""Running sweeps: identical tables on every executor, reproducible runs, failures, resume."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from simulator.cli import app
from simulator.experiment import load_experiment, rerun, rerun_command, run_experiment

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
OUTCOMES = ["final.moat", "takeoff_step", "half_adoption_step", "final.share[minority]",
            "defensibility.score"]  # fmt: skip
runner = CliRunner()


def write_sweep(tmp_path, name="sweep.yaml", **changes):
    block = {
        "scenario": BASELINE,
        "seed": 2026,
        "replicates": 2,
        "overrides": {"population.size": 300, "steps": 20},
        "parameters": {
            "reinvestment.retrain_every": {"values": [1, 4]},
            "network.mean_degree": {"first": 2, "step": 2, "last": 6},
        },
        "outcomes": {
            "summary": OUTCOMES,
            "timeseries": {"every": 5, "columns": ["moat", "active_users"]},
        },
    } | changes
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"sweep": block}, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The reference: a 12-run sweep run serially in this process."""
    folder = tmp_path_factory.mktemp("serial")
    path = write_sweep(folder)
    result = run_experiment(path, folder / "out", csv=True)
    return path, result


def tables(folder):
    return {name: (folder / name).read_bytes() for name in ("runs.parquet", "timeseries.parquet")}


def test_runs_table_is_tidy_and_complete(serial):
    path, result = serial
    runs = result.runs()
    assert list(runs.columns) == [
        "run_id", "point", "replicate", "seed", "status", "error",
        "reinvestment.retrain_every", "network.mean_degree", *OUTCOMES,
    ]  # fmt: skip
    assert runs["run_id"].tolist() == list(range(12))
    assert (runs["status"] == "ok").all() and runs["error"].isna().all()
    assert runs["seed"].nunique() == 12
    experiment = load_experiment(path)
    assert runs["seed"].tolist() == [run.seed for run in experiment.runs]
    assert runs["point"].tolist() == [run.point for run in experiment.runs]
    assert runs["final.moat"].notna().all()
    timeseries = result.timeseries()
    assert list(timeseries.columns) == ["run_id", "point", "replicate", "seed", "step", "moat",
                                        "active_users"]  # fmt: skip
    assert sorted(timeseries["step"].unique()) == [0, 5, 10, 15, 20]
    assert len(timeseries) == 12 * 5
    pd.testing.assert_frame_equal(
        pd.read_csv(result.path / "runs.csv"), runs, check_dtype=False
    )  # the CSV copy holds the same table
    assert (result.path / "timeseries.csv").exists()


def test_manifest(serial):
    path, result = serial
    manifest = json.loads((result.path / "manifest.json").read_text())
    experiment = load_experiment(path)
    assert manifest["hash"] == experiment.hash and manifest["status"] == "complete"
    assert manifest["experiment"]["replicates"] == 2 == manifest["replicates"]
    assert manifest["scenario"]["population"]["size"] == 300
    assert manifest["design"]["kind"] == "grid" and manifest["design"]["problem"] is None
    assert manifest["design"]["n_points"] == 6
    assert manifest["design"]["parameters"]["network.mean_degree"] == {"values": [2, 4, 6]}
    assert manifest["outcomes"] == OUTCOMES
    assert set(manifest["runs"].values()) == {"ok"} and len(manifest["runs"]) == 12
    assert manifest["package_version"]
    session = manifest["timings"]["sessions"][0]
    assert session["executor"] == "serial" and session["runs_executed"] == 12
    assert len(manifest["timings"]["run_s"]) == 12


def test_any_run_is_reproduced_by_flywheel_run(serial, tmp_path):
    _, result = serial
    runs, timeseries = result.runs(), result.timeseries()
    for run_id in (0, 7):
        command = rerun_command(result.path, run_id).split()
        assert command[:2] == ["flywheel", "run"]
        out = tmp_path / str(run_id)
        cli = runner.invoke(app, [*command[1:], "--out", str(out), "--no-plots"])
        assert cli.exit_code == 0, cli.output
        summary = json.loads((out / "summary.json").read_text())
        row = runs.loc[run_id]
        assert summary["seed"] == row["seed"]
        assert summary["final"]["moat"] == row["final.moat"]
        assert summary["final"]["share[minority]"] == row["final.share[minority]"]
        assert summary["defensibility"]["score"] == row["defensibility.score"]
        alone = pd.read_parquet(out / "timeseries.parquet")
        alone = alone.loc[alone["step"] % 5 == 0, ["step", "moat", "active_users"]]
        swept = timeseries.loc[timeseries["run_id"] == run_id, ["step", "moat", "active_users"]]
        pd.testing.assert_frame_equal(alone.reset_index(drop=True), swept.reset_index(drop=True))
    again = rerun(result.path, 3)
    assert again.summary["final"]["moat"] == runs.loc[3, "final.moat"]


def test_identical_tables_with_two_local_processes(serial, tmp_path):
    path, reference = serial
    result = run_experiment(path, tmp_path / "out", workers=2)
    assert result.manifest["timings"]["sessions"][0]["executor"] == "processes"
    pd.testing.assert_frame_equal(result.runs(), reference.runs())
    assert tables(result.path) == tables(reference.path)


def test_identical_tables_on_a_dask_local_cluster(serial, tmp_path):
    path, reference = serial
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        result = run_experiment(path, tmp_path / "out", dask="local", workers=2)
    assert result.manifest["timings"]["sessions"][0]["executor"] == "dask-local"
    pd.testing.assert_frame_equal(result.runs(), reference.runs())
    assert tables(result.path) == tables(reference.path)


def test_identical_tables_on_an_existing_dask_cluster_by_address(serial, tmp_path):
    import distributed

    path, reference = serial
    with (
        warnings.catch_warnings(),
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
    ):
        warnings.simplefilter("ignore", ResourceWarning)
        out = tmp_path / "out"
        cli = runner.invoke(app, ["sweep", str(path), "--address", cluster.scheduler_address,
                                  "--out", str(out)])  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert tables(out) == tables(reference.path)


def test_progress_callback_counts_runs(tmp_path):
    path = write_sweep(tmp_path, replicates=1, parameters={"learning.transfer": {"values": [0, 1]}})
    calls = []
    run_experiment(path, tmp_path / "out", progress=lambda *args: calls.append(args))
    assert calls == [(0, 0, 2), (1, 0, 2), (2, 0, 2)]


def test_a_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    # 10^11 users cannot fit in memory: the model refuses at run time, in the worker
    path = write_sweep(
        tmp_path,
        overrides={"steps": 20},
        parameters={"population.size": {"values": [300, 100_000_000_000, 400]}},
        outcomes={"summary": ["final.moat"], "timeseries": {"every": 10, "columns": ["moat"]}},
        replicates=1,
    )
    out = tmp_path / "out"
    cli = runner.invoke(app, ["sweep", str(path), "--out", str(out)])
    assert cli.exit_code == 1
    assert "1 run(s) failed" in cli.output
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs["status"].tolist() == ["ok", "failed", "ok"]
    assert runs.loc[1, "error"].startswith("InputError: population.size")
    assert pd.isna(runs.loc[1, "final.moat"]) and runs["final.moat"].notna().sum() == 2
    assert runs.loc[1, "population.size"] == 100_000_000_000
    record = json.loads((out / "runs" / "000001.error.json").read_text())
    assert "Traceback" in record["traceback"] and record["seed"] == runs.loc[1, "seed"]
    assert sorted(pd.read_parquet(out / "timeseries.parquet")["run_id"].unique()) == [0, 2]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"] == {"0": "ok", "1": "failed", "2": "ok"}
    assert manifest["status"] == "incomplete"
    # resuming retries only the failed run
    again = runner.invoke(app, ["sweep", str(path), "--out", str(out)])
    assert again.exit_code == 1 and "2 already done" in again.output


def test_resume_skips_finished_runs_and_refuses_another_sweep(serial, tmp_path):
    path, reference = serial
    out = tmp_path / "out"
    run_experiment(path, out)
    for run_id in (2, 5, 11):  # as if the sweep had been stopped before these
        (out / "runs" / f"{run_id:06d}.parquet").unlink()
    (out / "runs" / ".000005.parquet.tmp-999").write_bytes(b"half a file")
    (out / "runs.parquet").unlink()
    result = run_experiment(path, out)
    assert result.executed == 3
    assert tables(out) == tables(reference.path)
    assert not list(out.glob("runs/.*"))
    other = write_sweep(tmp_path, name="other.yaml", seed=1)
    cli = runner.invoke(app, ["sweep", str(other), "--out", str(out)])
    assert cli.exit_code == 2 and "different sweep" in cli.output


def _count_runs(out):
    folder = out / "runs"
    return len(list(folder.glob("[0-9]*.parquet"))) if folder.is_dir() else 0


def test_sigkill_mid_sweep_then_resume_gives_the_uninterrupted_tables(tmp_path):
    path = write_sweep(
        tmp_path,
        overrides={"population.size": 2000, "steps": 30},
        parameters={"learning.transfer": {"first": 0.0, "step": 0.05, "last": 1.0}},
        replicates=2,
    )
    reference = run_experiment(path, tmp_path / "reference")
    n_runs = len(reference.runs())
    out = tmp_path / "out"
    command = [sys.executable, "-m", "simulator", "sweep", str(path), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _count_runs(out) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = _count_runs(out)
    assert 3 <= done < n_runs, "the sweep should have been killed part-way"
    assert not (out / "runs.parquet").exists()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert f"{done} already done" in finished.stdout
    assert tables(out) == tables(reference.path)


def test_local_processes_need_no_main_guard(tmp_path):
    """As from a notebook or the prompt: code in __main__, no `if __name__` guard."""
    path = write_sweep(tmp_path, replicates=1)
    script = (
        "from simulator.experiment import run_experiment\n"
        f"result = run_experiment({str(path)!r}, {str(tmp_path / 'out')!r}, workers=2)\n"
        "print(result.counts['ok'])\n"
    )
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6"


def test_analyze_command_writes_the_summary_and_figures(serial):
    _, result = serial
    cli = runner.invoke(app, ["analyze", str(result.path), "--outcome", "final.moat"])
    assert cli.exit_code == 0, cli.output
    analysis = result.path / "analysis"
    summary = pd.read_csv(analysis / "summary.csv")
    points = result.runs()["point"].nunique()
    assert len(summary) == points  # one row per design point
    for figure in ("phase_diagram.png", "lines.png"):
        assert (analysis / figure).stat().st_size > 10_000, figure


def test_parquet_runs_table_types(serial):
    _, result = serial
    schema = pq.read_schema(result.path / "runs.parquet")
    assert str(schema.field("run_id").type) == "int64"
    assert str(schema.field("seed").type) == "int64"
    assert str(schema.field("final.moat").type) == "double"
    assert str(schema.field("status").type) == "string"


@pytest.mark.parametrize(
    "scenario",
    ["implicit_feedback", "rlhf", "canary", "federated_dp", "privacy_violation"],
)
def test_the_feedback_deployment_and_privacy_mechanisms_give_identical_tables_on_any_executor(
    scenario, tmp_path
):
    """Typed signals, the preference learner's pairs, canary rollouts, federated learning
    and the regulatory verbs (week 52) draw from streams of their own, derived from each run's seed:
    serial and two worker processes give byte-identical tables."""
    path = write_sweep(
        tmp_path, scenario=str(ROOT / "scenarios" / f"{scenario}.yaml"),
        overrides={"population.size": 300, "steps": 64},  # past the events of week 52
        parameters={"reinvestment.retrain_every": {"values": [1, 4]}},
        outcomes={"summary": ["final.moat"],
                  "timeseries": {"every": 5, "columns": ["moat", "active_users"]}},
    )  # fmt: skip
    serial = run_experiment(path, tmp_path / "serial")
    parallel = run_experiment(path, tmp_path / "parallel", workers=2)
    assert parallel.manifest["timings"]["sessions"][0]["executor"] == "processes"
    pd.testing.assert_frame_equal(parallel.runs(), serial.runs())
    assert tables(parallel.path) == tables(serial.path)
