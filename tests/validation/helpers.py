"""Running the validation scenarios, replicate by replicate, and drawing the comparisons.

Every run goes through the simulator's own entry points (``simulation.run`` or
``FlywheelModel``) on a scenario file of ``scenarios/validation/``; nothing here
re-implements a mechanism. Replicates are independent runs with seeds 0, 1, 2, ...

The full-size cases run their replicates in a pool of processes (one per core) unless
the tests are already spread over cores by pytest-xdist; the results do not depend on
how they are run.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from simulator.model import FlywheelModel
from simulator.reporting.plots import DPI, STYLE
from simulator.scenario import load_scenario
from simulator.simulation import run

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios" / "validation"
PLOTS = ROOT / "docs" / "validation"

# -- running -----------------------------------------------------------------------------


def workers() -> int:
    """Processes for replicates: one per available core, 1 inside a pytest-xdist worker."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def replicate(
    function: Callable[..., Any], calls: Iterable[tuple], parallel: bool = False
) -> list[Any]:
    """``[function(*args) for args in calls]``; with ``parallel``, in a process pool when
    there are cores to spare (worth it for the full-size cases only: each worker starts
    a fresh interpreter)."""
    calls = list(calls)
    n = min(workers(), len(calls)) if parallel else 1
    if n <= 1:
        return [function(*args) for args in calls]
    # spawn: a fresh interpreter per worker (fork of a process with BLAS threads is unsafe)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n, mp_context=context) as pool:
        return list(pool.map(function, *zip(*calls, strict=True), chunksize=4))


def diffusion_run(case: str, overrides: dict[str, Any], seed: int) -> dict[str, np.ndarray]:
    """One run of ``scenarios/validation/<case>.yaml``: the adoption columns of its timeseries."""
    result = run(SCENARIOS / f"{case}.yaml", seed=seed, overrides=overrides)
    ts = result.timeseries
    columns = ("time", "potential_users", "active_users", "adoptions", "organic_adoptions")
    out = {column: ts[column].to_numpy() for column in columns}
    out["size"] = np.array(result.scenario.population.size)
    return out


def cascade_run(case: str, overrides: dict[str, Any], seed: int) -> tuple[float, int, bool]:
    """One threshold cascade: step the model until a step has no adoption (or ``steps``).

    With no spontaneous adoption (innovation 0), no churn and no rejoining, a synchronous
    step without adoptions leaves the state unchanged, so the cascade is over: the
    remaining steps of the scenario could not change anything. Returns the final share
    of users who adopted, the steps taken and whether the cascade finished.
    """
    scenario = load_scenario(SCENARIOS / f"{case}.yaml", overrides=overrides)
    model = FlywheelModel(scenario, seed=seed)
    taken = 0
    while taken < scenario.steps:
        model.step()
        taken += 1
        if model.record.tally.adoptions.sum() == 0:
            break
    finished = int(model.record.tally.adoptions.sum()) == 0
    size = scenario.population.size
    adopted = (size - int(model.counts[0].sum())) / size
    return adopted, taken, finished


# -- statistics of replicates ---------------------------------------------------------------


def mean_and_se(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean over replicates and its standard error (sample sd / sqrt(R))."""
    values = np.asarray(values, dtype=float)
    count = values.shape[axis]
    return values.mean(axis=axis), values.std(axis=axis, ddof=1) / np.sqrt(count)


def crossing_time(times: np.ndarray, share: np.ndarray, level: float) -> float:
    """First time the (non-decreasing) share reaches ``level``, linearly interpolated."""
    index = int(np.argmax(share >= level))
    if share[index] < level:
        return float("nan")
    if index == 0:
        return float(times[0])
    t0, t1, f0, f1 = times[index - 1], times[index], share[index - 1], share[index]
    return float(t0 + (level - f0) * (t1 - t0) / (f1 - f0))


def peak_time(times: np.ndarray, rate: np.ndarray, half_width: float) -> float:
    """Peak of a smooth, locally symmetric rate curve: vertex of a least-squares parabola.

    The parabola is fitted on a window of +- ``half_width`` re-centred on its own vertex
    (three passes, starting from the maximum of a running mean), so a curve symmetric
    about its peak, like Bass's, gives an unbiased vertex.
    """
    step = float(np.median(np.diff(times)))
    width = max(1, round(half_width / step))
    smooth = np.convolve(rate, np.ones(width) / width, mode="same")
    centre = float(times[int(np.argmax(smooth))])
    for _ in range(3):
        window = np.abs(times - centre) <= half_width
        if np.count_nonzero(window) < 5:
            return float("nan")  # no peak inside the curve
        a, b, _c = np.polyfit(times[window] - centre, rate[window], 2)
        centre += -b / (2 * a)
    return centre


def jackknife_se(estimate: Callable[[np.ndarray], float], rows: np.ndarray) -> float:
    """Jackknife standard error of ``estimate(mean over replicates)`` (rows = replicates)."""
    count = len(rows)
    total = rows.sum(axis=0)
    leave_one_out = np.array([estimate((total - row) / (count - 1)) for row in rows])
    return float(np.sqrt((count - 1) / count * np.sum((leave_one_out - leave_one_out.mean()) ** 2)))


# -- plots ------------------------------------------------------------------------------------


def comparison_figure(title: str, shape: tuple[int, int], figsize: tuple[float, float]):
    """A figure in the simulator's slide style (``simulator.plots``), with a grid of axes.

    Build it inside ``mpl.rc_context(STYLE)``; no pyplot state is used.
    """
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(title)
    axes = fig.subplots(*shape, squeeze=False).ravel()
    for ax in axes:
        ax.tick_params(labelsize=13, length=5, width=1.2)
    return fig, axes


def save_plot(fig: Figure, case: str) -> Path:
    """Write ``docs/validation/<case>.png`` (committed with the docs)."""
    PLOTS.mkdir(parents=True, exist_ok=True)
    path = PLOTS / f"{case}.png"
    with mpl.rc_context(STYLE):
        fig.savefig(path, dpi=DPI)
    return path
