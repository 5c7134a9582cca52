"""Running a sweep: hand its runs to an executor, store each as it finishes, resume.

``run_experiment`` is the whole sweep; :func:`execute_run` is what a worker does for
one run (simulate, write its files, report a few numbers back). A run that raises is
recorded with its error and the sweep goes on; running the same sweep into the same
folder again skips every finished run and retries the failed ones.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulator.scenario import Scenario, load_scenario

from .design import RunSpec
from .executors import ExecutorInfo, open_executor
from .loader import Experiment, expand, load_experiment, summary_value
from .store import ResultsFolder, _set_text, now

__all__ = ["RunContext", "SweepResult", "execute_run", "rerun", "rerun_command", "run_experiment"]

Progress = Callable[[int, int, int], None]
"""``progress(done, failed, total)``: called as runs finish (done includes failed)."""


@dataclass(frozen=True)
class RunContext:
    """What every run of a sweep shares; sent to the worker with each run."""

    folder: str
    scenario: Scenario
    outcomes: tuple[str, ...]
    timeseries_every: int = 1
    timeseries_columns: tuple[str, ...] = ()
    variants: dict | None = None
    """The sweep's variant dimensions (level -> overrides), expanded per run."""


def execute_run(run: RunSpec, context: RunContext) -> dict[str, Any]:
    """Simulate one run and write its files into the results folder (in the worker).

    Returns
    -------
    dict
        ``run_id``, ``status`` (``ok`` or ``failed``), ``error`` and ``elapsed_s``: only
        these travel back to the process that runs the sweep.
    """
    from simulator.simulation import run as simulate

    folder = ResultsFolder(context.folder)
    started = time.perf_counter()
    row: dict[str, Any] = {**_ids(run), "status": "ok", "error": None, **run.values}
    try:
        overrides = expand(run.values, context.variants or {})
        scenario = context.scenario.with_overrides(overrides) if overrides else context.scenario
        result = simulate(scenario, seed=run.seed)
        outcomes = {name: _plain(summary_value(result.summary, name)) for name in context.outcomes}
        timeseries = _timeseries_table(result.timeseries, run, context)
    except Exception as exc:  # noqa: BLE001 - one failed run must not stop the sweep
        row |= {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        elapsed = time.perf_counter() - started
        folder.save_failure(row, elapsed, traceback.format_exc())
    else:
        elapsed = time.perf_counter() - started
        folder.save_run(row | outcomes, elapsed, timeseries)
    return {
        "run_id": run.run_id,
        "status": row["status"],
        "error": row["error"],
        "elapsed_s": elapsed,
    }


def _ids(run: RunSpec) -> dict[str, int]:
    return {"run_id": run.run_id, "point": run.point, "replicate": run.replicate, "seed": run.seed}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _timeseries_table(frame: pd.DataFrame, run: RunSpec, context: RunContext) -> pa.Table | None:
    if not context.timeseries_columns:
        return None
    kept = frame.loc[frame["step"] % context.timeseries_every == 0]
    kept = kept[["step", *context.timeseries_columns]]
    table = pa.Table.from_pandas(kept, preserve_index=False).replace_schema_metadata(None)
    for position, (name, value) in enumerate(_ids(run).items()):
        table = table.add_column(position, name, pa.array([value] * table.num_rows, pa.int64()))
    return table


@dataclass
class SweepResult:
    """A finished (or partly finished) sweep's results folder."""

    path: Path
    manifest: dict[str, Any]
    executed: int = 0
    """Runs executed by this call (the others were already done)."""
    wall_s: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    """``ok``, ``failed`` and ``pending`` runs."""

    @property
    def ok(self) -> bool:
        return self.manifest.get("status") == "complete"

    def runs(self) -> pd.DataFrame:
        """``runs.parquet``: one row per run, sorted by ``run_id``."""
        return pd.read_parquet(self.path / "runs.parquet")

    def timeseries(self) -> pd.DataFrame:
        """``timeseries.parquet`` (only if the sweep keeps timeseries)."""
        return pd.read_parquet(self.path / "timeseries.parquet")


def run_experiment(
    experiment: Experiment | str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    workers: int | None = None,
    dask: str | None = None,
    executor: Executor | None = None,
    csv: bool = False,
    progress: bool | Progress = False,
) -> SweepResult:
    """Run every run of a sweep, or the ones not yet done in ``out``, and merge the tables.

    Parameters
    ----------
    experiment : Experiment or path
        From :func:`load_experiment`, or a sweep file.
    out : path, optional
        The results folder; default ``results/sweeps/<name>/``. If it holds this sweep's
        earlier results, finished runs are skipped (resume). If it holds another sweep's,
        :class:`~simulator.InputError` is raised.
    workers : int, optional
        Local worker processes (loky); None runs serially in this process.
    dask : str, optional
        ``"local"`` for a local Dask cluster (``workers`` processes), or a scheduler address.
    executor : concurrent.futures.Executor, optional
        Any executor of your own (e.g. ``client.get_executor()``); replaces workers/dask.
    csv : bool
        Also write ``runs.csv`` (and ``timeseries.csv``).
    progress : bool or callable(done, failed, total)
        True: a rich progress bar on stderr when it is a terminal.

    Returns
    -------
    SweepResult
        ``.runs()`` is the tidy table; ``.counts`` says how many runs failed.
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    folder = ResultsFolder(out if out is not None else Path("results") / "sweeps" / experiment.name)
    started, session_start = time.perf_counter(), now()
    if executor is not None:
        count = getattr(executor, "_max_workers", None) or os.cpu_count() or 1
        opened = nullcontext(
            ExecutorInfo(executor, count, "custom", f"with {type(executor).__name__}")
        )
    else:
        opened = open_executor(workers, dask)
    with opened as info:
        session = {
            "started_at": session_start,
            "executor": info.kind,
            "workers": info.workers,
            "description": info.description,
        }
        manifest = folder.open(experiment, session)
        done = folder.finished()
        todo = [run for run in experiment.runs if run.run_id not in done]
        context = RunContext(
            folder=str(folder.path),
            scenario=experiment.scenario,
            outcomes=tuple(experiment.outcomes),
            **_timeseries_fields(experiment),
            variants=experiment.spec.variants,
        )
        callback = progress if callable(progress) else None
        with _progress_bar(experiment.n_runs, experiment.name, enabled=progress is True) as bar:
            report = _combine(callback, bar)
            try:
                _execute(info, todo, context, len(done), experiment.n_runs, report, folder)
            except BaseException:
                manifest["runs"] = folder.statuses(experiment)
                manifest["status"] = "interrupted"
                folder.write_manifest(manifest)
                raise
    merged = folder.merge(experiment, csv=csv)
    wall = time.perf_counter() - started
    manifest["timings"]["sessions"][-1] |= {
        "finished_at": now(),
        "wall_s": wall,
        "runs_executed": len(todo),
    }
    manifest = folder.finish(manifest, merged, csv)
    return SweepResult(
        folder.path, manifest, executed=len(todo), wall_s=wall, counts=manifest["counts"]
    )


def _timeseries_fields(experiment: Experiment) -> dict[str, Any]:
    timeseries = experiment.spec.outcomes.timeseries
    if timeseries is None:
        return {}
    return {"timeseries_every": timeseries.every, "timeseries_columns": tuple(timeseries.columns)}


def _execute(
    info: ExecutorInfo,
    todo: list[RunSpec],
    context: RunContext,
    already: int,
    total: int,
    report: Progress,
    folder: ResultsFolder,
) -> None:
    """Submit runs with a bounded number in flight (so an interrupt cancels quickly and a
    huge sweep never holds all its futures), handling each as it completes."""
    window = 1 if info.kind == "serial" else 2 * info.workers + 2
    pending: dict[Future, RunSpec] = {}
    queue = iter(todo)
    done, failed = already, 0
    report(done, failed, total)
    try:
        while True:
            while len(pending) < window and (run := next(queue, None)) is not None:
                pending[info.executor.submit(execute_run, run, context)] = run
            if not pending:
                return
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in finished:
                run = pending.pop(future)
                status = _outcome(future, run, folder)
                done += 1
                failed += status == "failed"
                report(done, failed, total)
    except BaseException:
        for future in pending:
            future.cancel()
        raise


def _outcome(future: Future, run: RunSpec, folder: ResultsFolder) -> str:
    """A run's status; if its worker died, record the failure from here."""
    try:
        return future.result()["status"]
    except Exception as exc:  # noqa: BLE001 - the worker crashed or was lost
        error = f"{type(exc).__name__}: {exc} (the worker running it failed)"
        row = {**_ids(run), "status": "failed", "error": error, **run.values}
        folder.save_failure(row, 0.0, repr(exc))
        return "failed"


def _combine(*callbacks: Progress | None) -> Progress:
    active = [callback for callback in callbacks if callback is not None]

    def report(done: int, failed: int, total: int) -> None:
        for callback in active:
            callback(done, failed, total)

    return report


@contextmanager
def _progress_bar(total: int, label: str, enabled: bool) -> Iterator[Progress | None]:
    """A rich bar on stderr (runs done, failed, ETA), only when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs, {task.fields[failed]} failed"),
        TimeElapsedColumn(),
        "ETA",
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total, failed=0)
        yield lambda done, failed, _total: bar.update(task, completed=done, failed=failed)


# -- repeating one run ----------------------------------------------------------------


def _run_row(results: str | os.PathLike, run_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    folder = ResultsFolder(results)
    manifest = folder.read_manifest()
    if manifest is None:
        raise FileNotFoundError(f"{folder.path}: no manifest.json; not a sweep's results folder")
    rows = pq.read_table(
        folder.path / "runs.parquet", filters=[("run_id", "=", run_id)]
    ).to_pylist()
    if not rows:
        raise KeyError(f"run {run_id} is not in {folder.path / 'runs.parquet'}")
    return manifest, rows[0]


def rerun_command(results: str | os.PathLike, run_id: int) -> str:
    """The ``flywheel run`` command line that repeats run ``run_id`` of a results folder.

    Its output goes to ``<results>/reruns/<run_id>/``, so it never overwrites a
    scenario's own results folder.
    """
    manifest, row = _run_row(results, run_id)
    overrides = _row_overrides(manifest, row)
    sets = " ".join(f"--set {name}={_set_text(value)}" for name, value in overrides.items())
    folder = ResultsFolder(results).path
    out = folder / "reruns" / str(run_id)
    return f"flywheel run {folder / 'scenario.yaml'} --seed {row['seed']} {sets} --out {out}"


def rerun(results: str | os.PathLike, run_id: int):
    """Repeat run ``run_id`` of a results folder in this process; returns its Result."""
    from simulator.simulation import run as simulate

    manifest, row = _run_row(results, run_id)
    scenario = load_scenario(manifest["scenario"], overrides=_row_overrides(manifest, row))
    return simulate(scenario, seed=row["seed"])


def _row_overrides(manifest: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored run's overrides: its parameter values, variant levels expanded."""
    values = {name: row[name] for name in manifest["columns"]["parameters"]}
    variants = (manifest.get("experiment") or {}).get("variants") or {}
    return expand(values, variants)
