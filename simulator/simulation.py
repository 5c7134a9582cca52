"""Run a scenario and package the outcome: ``run()`` and ``Result``."""

from __future__ import annotations

import math
import os
import time as clock
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import metrics
from ._version import __version__
from .firm.abtest import deployment_summary
from .model import FlywheelModel
from .regulation import regulation_summary
from .scenario import Scenario, load_scenario


@dataclass
class Result:
    """The outcome of one run."""

    scenario: Scenario
    """The resolved scenario (overrides applied; seed/steps/engine as run)."""
    timeseries: pd.DataFrame
    """One row per step (step 0 = initial state); columns documented in docs/outputs.md."""
    summary: dict[str, Any]
    """Final metrics, flywheel health, defensibility, takeoff, runtime."""
    model: FlywheelModel
    """The Mesa model after the run."""

    def write(self, out_dir: str | os.PathLike, *, plots: bool = True) -> list:
        """Write the results folder (as ``flywheel run`` does) and return the paths written:
        ``timeseries.csv``, ``timeseries.parquet``, ``summary.json``, ``scenario.yaml`` and,
        unless ``plots=False``, ``plots/*.png|svg``."""
        from .reporting.folder import write_results

        return write_results(self, out_dir, plots=plots)


def run(
    scenario: Scenario | str | os.PathLike,
    *,
    seed: int | None = None,
    steps: int | None = None,
    engine: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Result:
    """Run a scenario and return its :class:`Result`.

    Parameters
    ----------
    scenario : Scenario or path
        A loaded scenario or a scenario file.
    seed, steps, engine : optional
        Replace the scenario's ``seed``, ``steps`` or ``engine``.
    overrides : mapping of dotted keys to values, optional
        Applied and validated like the file (``{"population.size": 2000}``).
    progress : callable(step, steps), optional
        Called after every step (e.g. to advance a progress bar).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides=overrides)
    elif overrides:
        scenario = scenario.with_overrides(overrides)
    top_level = {
        key: value
        for key, value in {"seed": seed, "steps": steps, "engine": engine}.items()
        if value is not None
    }
    if top_level:
        scenario = scenario.with_overrides(top_level)
    model = FlywheelModel(scenario)
    started = clock.perf_counter()
    for done in range(1, scenario.steps + 1):
        model.step()
        if progress is not None:
            progress(done, scenario.steps)
    runtime = clock.perf_counter() - started

    raw = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    timeseries = metrics.add_health_columns(raw, scenario.dt)
    summary = build_summary(model, timeseries, model.engine, runtime, overrides)
    return Result(scenario=scenario, timeseries=timeseries, summary=summary, model=model)


def build_summary(
    model,
    timeseries: pd.DataFrame,
    engine: str,
    runtime: float,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``summary.json`` fields (docs/outputs.md), as plain JSON types.

    ``overrides`` are the dotted keys given to :func:`run` (``--set`` on the command
    line); they label the run in figures, comparisons and reports.
    """
    scenario = model.initial_params
    size = scenario.population.size
    final = {column: _plain(values.iat[-1]) for column, values in timeseries.items()}
    return strict_json(
        {
            "scenario": scenario.name,
            "seed": model.seed,
            "engine": engine,
            "steps": scenario.steps,
            "population": size,
            "overrides": {str(key): _jsonable(value) for key, value in (overrides or {}).items()},
            "final": final,
            "flywheel_health": metrics.flywheel_health(timeseries),
            "defensibility": metrics.defensibility(model.record, model.user_arrays(), model.params),
            "takeoff_step": metrics.takeoff_step(timeseries, scenario.dt),
            "word_of_mouth_step": metrics.word_of_mouth_step(timeseries),
            "half_adoption_step": metrics.half_adoption_step(timeseries, size),
            "peak_active_users": int(timeseries["active_users"].max()),
            **(
                {"market": market}
                if (market := metrics.market_summary(timeseries, scenario))
                else {}
            ),
            **(
                {"economics": economics}
                if (economics := metrics.economics_summary(timeseries, scenario))
                else {}
            ),
            **(
                {"regulation": regulation}
                if (regulation := regulation_summary(scenario, timeseries))
                else {}
            ),
            **(
                {"deployment": deployment} if (deployment := deployment_summary(timeseries)) else {}
            ),
            "runtime_s": runtime,
            "agent_steps_per_s": size * scenario.steps / runtime if runtime > 0 else None,
            "package_version": __version__,
        }
    )


def _plain(value: Any) -> Any:
    """A NumPy scalar as a JSON-ready Python value."""
    return value.item() if hasattr(value, "item") else value


def _jsonable(value: Any) -> Any:
    """An override value as plain JSON data (NumPy scalars unwrapped, tuples as lists)."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    value = _plain(value)
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, infinity) replaced by None, recursively.

    JSON has no NaN or infinity; ``summary.json`` writes an undefined number as null.
    """
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
