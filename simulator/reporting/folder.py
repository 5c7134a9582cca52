"""A run's results folder: write it (timeseries, summary, resolved scenario, plots), read it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import InputError

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..simulation import Result

#: Columns without which a timeseries file is not a run's results.
REQUIRED_COLUMNS = ("quality", "baseline_quality", "training_examples")


def write_results(result: Result, out_dir: str | Path, *, plots: bool = True) -> list[Path]:
    """Write ``timeseries.csv``, ``timeseries.parquet``, ``summary.json``, ``scenario.yaml``
    and (unless ``plots=False``) ``plots/*.png|svg`` into ``out_dir``; return the paths."""
    if plots:  # figures first: a scenario highlighting a metric the run lacks writes nothing
        from .plots import run_figures

        figures = run_figures(result.timeseries, result.summary, result.scenario)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "timeseries.csv", out / "timeseries.parquet", out / "summary.json"]
    result.timeseries.to_csv(written[0], index=False)
    result.timeseries.to_parquet(written[1], index=False)
    written[2].write_text(
        json.dumps(result.summary, indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    scenario_path = out / "scenario.yaml"
    scenario_path.write_text(result.scenario.to_yaml(), encoding="utf-8")
    written.append(scenario_path)
    if plots:
        from .plots import save_figure

        (out / "plots").mkdir(exist_ok=True)
        for stem, fig in figures.items():
            written += [save_figure(fig, out / "plots" / f"{stem}.{fmt}") for fmt in ("png", "svg")]
    return written


@dataclass(frozen=True)
class RunFolder:
    """A results folder as read back: its timeseries, summary and scenario as run."""

    path: Path
    timeseries: pd.DataFrame
    summary: dict[str, Any]
    scenario: Scenario | None
    """The folder's ``scenario.yaml`` (None if the folder has none)."""


def is_results_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder with a run's ``summary.json``."""
    return (Path(path) / "summary.json").is_file()


def read_results(results_dir: str | Path) -> RunFolder:
    """Read a results folder written by ``flywheel run`` (or :meth:`Result.write`).

    Reads ``timeseries.parquet`` (or else ``timeseries.csv``), ``summary.json`` and, if
    present, ``scenario.yaml``.

    Raises
    ------
    InputError
        If the folder or one of its files is missing, unreadable or incomplete; the
        message names the file.
    """
    from ..scenario.loading import ScenarioError, collect

    folder = Path(results_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: results folder not found (make one with `flywheel run`).")
    parquet, csv = folder / "timeseries.parquet", folder / "timeseries.csv"
    summary_path = folder / "summary.json"
    source = parquet if parquet.is_file() else csv
    if not source.is_file():
        raise InputError(f"{parquet}: file not found (nor {csv.name}); not a run's results folder.")
    if not summary_path.is_file():
        raise InputError(f"{summary_path}: file not found; not a run's results folder.")
    try:
        ts = pd.read_parquet(source) if source == parquet else pd.read_csv(source)
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # unreadable Parquet or CSV, malformed JSON
        raise InputError(f"{folder}: cannot read the results: {exc}") from exc
    missing = sorted(set(REQUIRED_COLUMNS) - set(ts.columns))
    if missing or ts.empty or not isinstance(summary, dict):
        problem = f"columns {', '.join(missing)} missing" if missing else "no rows or bad summary"
        raise InputError(f"{source}: not a complete results file ({problem}).")
    scenario = None
    scenario_path = folder / "scenario.yaml"
    if scenario_path.is_file():
        scenario, problems = collect(scenario_path, None, check_files=False)
        if scenario is None:
            raise ScenarioError(problems)
    return RunFolder(folder, ts, summary, scenario)
