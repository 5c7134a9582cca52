"""Analysis of a sweep's results folder: replicate means, Sobol and Morris indices, plots.

A sweep (see the rest of :mod:`simulator.experiment`) writes a results folder with
``manifest.json`` (the design) and ``runs.parquet`` (one row per run: the design
point, the replicate, the swept parameters and the outcomes). This module only
*reads* that folder, in the spirit of SALib: what is varied (the design), running
and analysis are separate steps, and each works alone.

The analysis always averages the replicates of a design point first (the run-to-run
noise of the stochastic simulation), then analyses the point means:

- :func:`replicate_summary`: one row per design point, the mean of the outcome over
  its successful runs with a Student-t confidence interval, and the share of runs in
  which the flywheel took off;
- :func:`sobol_indices` and :func:`morris_indices`: global sensitivity indices of
  the point means (SALib), for Sobol and Morris designs;
- :func:`phase_diagram`, :func:`outcome_lines`, :func:`outcome_scatter` and
  :func:`sensitivity_bars`: slide-ready figures in the style of :mod:`simulator.reporting.plots`;
- :func:`analyze`: all of it for one folder (the ``flywheel analyze`` command).

Failed runs (``status != "ok"``) never enter a mean; they are counted per point.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patheffects import withStroke
from scipy import stats

from ..errors import InputError
from ..reporting.names import describe
from ..reporting.plots import (
    BLACK,
    BLUE,
    DPI,
    LINESTYLES,
    ORANGE,
    PALETTE,
    STYLE,
    legend_below,
    new_figure,
    styled,
)

#: Outcome column that holds the step the flywheel took off (null: it never did).
TAKEOFF = "takeoff_step"
#: Share of a point's successful runs that took off, added to summaries when runs
#: have a :data:`TAKEOFF` column.
TAKEOFF_SHARE = "takeoff_share"
#: Share of replicates at which :func:`phase_diagram` draws the takeoff line.
TAKEOFF_LEVEL = 0.5
#: Seed of SALib's bootstrap, so the confidence intervals of the indices are reproducible.
BOOTSTRAP_SEED = 20240917
#: Design kinds written by the sweep; Sobol and Morris designs also get indices.
KINDS = ("grid", "lhs", "sobol", "morris")
#: Rows of the point tables printed by :func:`analyze` (the CSV has them all).
PRINT_ROWS = 20

#: White outline that keeps the black takeoff line readable on dark cells.
_HALO = withStroke(linewidth=7.0, foreground="white")

#: Units of the metrics and scenario keys, by the last part of the dotted name
#: (``final.share[minority]`` -> ``share``); see docs/outputs.md and
#: docs/scenarios.md. Names not listed are shown without a unit.
UNITS = {
    "moat": "quality − baseline, −1 to 1",
    "quality": "quality, 0–1",
    "baseline_quality": "quality, 0–1",
    "quality_gap": "quality difference, 0–1",
    "share": "share, 0–1",
    "noise_share": "share, 0–1",
    "active_users": "users",
    "potential_users": "users",
    "churned_users": "users",
    "adoptions": "users per step",
    "churns": "users per step",
    "training_examples": "examples",
    "new_examples": "examples per step",
    "takeoff_step": "step",
    "half_adoption_step": "step",
    TAKEOFF_SHARE: "share of replicates, 0–1",
    "data_growth_rate": "ratio",
    "model_improvement_rate": "ratio",
    "user_growth_rate": "ratio",
    "data_per_user": "examples per active user",
    "feedback_rate": "share, 0–1",
    "runtime_s": "s",
    # scenario keys
    "size": "users",
    "initial_adopters": "users",
    "retrain_every": "steps",
    "latency": "steps",
    "data_half_life": "steps",
    "lock_in_time": "steps",
    "time_constant": "steps",
    "steps": "steps",
    "scale": "examples",
    "rate": "share, 0–1",
    "label_noise": "share, 0–1",
    "filter_recall": "share, 0–1",
    "filter_false_accept": "share, 0–1",
    "transfer": "share, 0–1",
    "lock_in": "share, 0–1",
    "satisfaction_rate": "share, 0–1",
    "threshold": "share, 0–1",
    "homophily": "0–1",
    "rewire": "probability",
    "mean_degree": "neighbours",
    "activity": "interactions per user per week",
    "innovation": "per week",
    "imitation": "per week",
    "base_rate": "per week",
    "rejoin_rate": "per week",
    "start": "quality, 0–1",
    "ceiling": "quality, 0–1",
}


def label(name: str) -> str:
    """An axis label: a readable name with its unit, e.g. "steps between retrains (steps)".

    Parameters
    ----------
    name : str
        An outcome (``final.moat``) or a scenario key (``reinvestment.retrain_every``).

    Returns
    -------
    str
        The readable name and unit of :func:`simulator.reporting.names.describe`
        (``"moat at the end (quality − market baseline)"``); for a name it does not
        know, the last part of the dotted name with its unit from :data:`UNITS`.
    """
    title, unit = describe(str(name))
    if not unit:
        unit = UNITS.get(re.sub(r"\[.*\]$", "", str(name).split(".")[-1]), "")
    return f"{title} ({unit})" if unit else title


def name_of(name: str) -> str:
    """The readable name alone (titles): ``final.moat`` -> ``"moat at the end"``."""
    return describe(str(name))[0]


# ---------------------------------------------------------------------------- tables


def _require(runs: pd.DataFrame, columns: Sequence[str], what: str = "the runs table") -> None:
    """Raise InputError naming the columns of ``columns`` that ``runs`` lacks."""
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        have = ", ".join(map(str, runs.columns))
        raise InputError(f"{what} has no column {', '.join(missing)} (columns: {have}).")


def _numeric(values: pd.Series, name: str) -> pd.Series:
    """The column as floats (nullable integers -> NaN for null), or InputError."""
    try:
        return pd.to_numeric(values).astype(float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"outcome {name!r} is not numeric ({values.dtype}): {exc}") from exc


def _describe(runs: pd.DataFrame, keys: list[str], outcome: str, confidence: float) -> pd.DataFrame:
    """Mean, std and Student-t interval of ``outcome`` over the ok runs of each ``keys`` group."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be a float in (0, 1). Got {confidence!r} instead.")
    _require(runs, [*keys, outcome, "status"])
    ok = runs["status"].eq("ok")
    frame = runs[keys].copy()
    frame["_value"] = _numeric(runs[outcome], outcome).where(ok)
    frame["_ok"] = ok.astype(int)
    frame["_failed"] = (~ok).astype(int)
    if TAKEOFF in runs:
        frame["_took_off"] = (_numeric(runs[TAKEOFF], TAKEOFF).notna() & ok).astype(int)
    grouped = frame.groupby(keys, sort=True, dropna=False)
    out = pd.DataFrame(
        {
            "n": grouped["_value"].count(),
            "failed": grouped["_failed"].sum(),
            "mean": grouped["_value"].mean(),
            "std": grouped["_value"].std(ddof=1),
        }
    )
    n = out["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        quantile = stats.t.ppf((1 + confidence) / 2, np.where(n > 1, n - 1, np.nan))
        half_width = quantile * out["std"].to_numpy(dtype=float) / np.sqrt(n)
    out["ci_low"] = out["mean"] - half_width
    out["ci_high"] = out["mean"] + half_width
    if TAKEOFF in runs:
        ok_runs = grouped["_ok"].sum()
        out[TAKEOFF_SHARE] = grouped["_took_off"].sum() / ok_runs.where(ok_runs > 0)
    out.attrs = {"outcome": outcome, "confidence": confidence}
    return out


def replicate_summary(
    runs: pd.DataFrame, parameters: list[str], outcome: str, confidence: float = 0.95
) -> pd.DataFrame:
    """Average the replicates of each design point: mean, spread and confidence interval.

    Parameters
    ----------
    runs : pandas.DataFrame
        The runs table (``runs.parquet``): ``point``, ``status``, the swept parameters
        and the outcomes, one row per run.
    parameters : list of str
        The swept parameters (dotted keys) to carry into the table.
    outcome : str
        The outcome column to summarise, e.g. ``"final.moat"``.
    confidence : float
        Level of the confidence interval of the mean, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        One row per design point, sorted by ``point``: ``point``, the parameter values,
        ``n`` (runs averaged: ok runs where the outcome is defined), ``failed`` (runs
        that failed, excluded), ``mean``, ``std`` (sample standard deviation, ddof 1),
        ``ci_low`` and ``ci_high`` (Student-t interval of the mean with ``n − 1``
        degrees of freedom; NaN when ``n < 2``) and, when the runs have a
        ``takeoff_step`` column, ``takeoff_share``: the share of ok runs that took off.
        A point without a usable run has ``n = 0`` and NaN statistics.
        ``attrs`` holds the ``outcome`` and the ``confidence``.

    Notes
    -----
    For an outcome that can be null, such as ``takeoff_step`` (null: never took off),
    the mean is over the runs where it is defined, i.e. conditional on a takeoff;
    ``takeoff_share`` says how often that was.
    """
    _require(runs, ["point", *parameters])
    out = _describe(runs, ["point"], outcome, confidence)
    values = runs.groupby("point", sort=True)[list(parameters)].first()
    out = values.join(out).reset_index()
    out.attrs = {"outcome": outcome, "confidence": confidence}
    return out


def marginal_summary(
    runs: pd.DataFrame, parameters: list[str], outcome: str, confidence: float = 0.95
) -> pd.DataFrame:
    """Like :func:`replicate_summary`, but pooling all runs that share ``parameters``' values.

    With a grid over more parameters than a plot can show, this averages over the
    others: each row pools every ok run with those values of ``parameters``, so the
    interval reflects both the replicate noise and the spread over the other
    parameters. With exactly the swept parameters it equals the per-point summary
    (without the ``point`` column).

    Parameters
    ----------
    runs, parameters, outcome, confidence
        As in :func:`replicate_summary`; ``parameters`` are the grouping columns.

    Returns
    -------
    pandas.DataFrame
        One row per combination of values, with the columns of :func:`replicate_summary`
        except ``point``.
    """
    out = _describe(runs, list(parameters), outcome, confidence).reset_index()
    out.attrs = {"outcome": outcome, "confidence": confidence}
    return out


# ---------------------------------------------------------------------------- indices


def _point_means(
    summary: pd.DataFrame, outcome: str, method: str, n_points: int | None
) -> np.ndarray:
    """The replicate means in sampler order (Y for SALib), refusing gaps and NaN."""
    points = summary["point"].to_numpy()
    expected = int(n_points) if n_points is not None else int(points.max()) + 1
    missing = sorted(set(range(expected)) - set(points.tolist()))
    if missing or len(points) != expected:
        raise InputError(
            f"{method} analysis needs every design point; {len(missing)} of {expected} are "
            f"absent from the runs (points {_few(missing)}). Run them before analysing."
        )
    means = summary.sort_values("point")["mean"].to_numpy(dtype=float)
    empty = summary.loc[summary["n"].eq(0)]
    if len(empty):
        every_failed = empty["failed"].gt(0).all()
        why = "every run failed" if every_failed else f"{outcome!r} is undefined in every run"
        if outcome == TAKEOFF and not every_failed:
            why += " (the flywheel never took off)"
        raise InputError(
            f"{method} analysis needs a mean at every design point; {len(empty)} of "
            f"{expected} have none because {why}: points {_few(empty['point'].tolist())}. "
            "Re-run the failed points or analyse another outcome."
        )
    if np.ptp(means) == 0:
        raise InputError(
            f"{method} analysis of {outcome!r}: the outcome is {means[0]:g} at every design "
            "point, so there is no variance to attribute to the parameters."
        )
    return means


def _few(items: Sequence[Any], limit: int = 8) -> str:
    """The first ``limit`` items as text, with the number left out."""
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", … ({len(items) - limit} more)" if len(items) > limit else "")


def _names(problem: dict) -> list[str]:
    try:
        names = [str(name) for name in problem["names"]]
    except (KeyError, TypeError) as exc:
        raise InputError(f"the design's problem has no list of names: {problem!r}") from exc
    if len(names) != int(problem.get("num_vars", len(names))):
        raise InputError(f"the design's problem has {len(names)} names but num_vars ≠ that.")
    return names


def sobol_indices(
    runs: pd.DataFrame,
    problem: dict,
    outcome: str,
    second_order: bool,
    *,
    confidence: float = 0.95,
    n_points: int | None = None,
) -> pd.DataFrame:
    """First-order and total Sobol indices of the replicate-mean outcome.

    The replicates of each design point are averaged first, so the indices apportion
    the variance of the *expected* outcome over the parameters; the replicate noise
    only enters through the finite number of replicates.

    Parameters
    ----------
    runs : pandas.DataFrame
        The runs table; ``point`` must index the rows of
        ``SALib.sample.sobol.sample(problem, N, calc_second_order=second_order)``.
    problem : dict
        The SALib problem (``num_vars``, ``names``, ``bounds``) the design was drawn from.
    outcome : str
        The outcome column.
    second_order : bool
        Whether the design was drawn with ``calc_second_order=True`` (``N (2D + 2)``
        points) or not (``N (D + 2)`` points).
    confidence : float
        Level of the bootstrap confidence intervals.
    n_points : int, optional
        Number of design points of the sweep (from the manifest), to detect points
        missing at the end of the runs table.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``parameter``, ``S1``, ``S1_conf``, ``ST``, ``ST_conf``
        (the ``_conf`` columns are half-widths of the bootstrap interval). S1 is the
        share of the variance explained by the parameter alone, ST including all its
        interactions.

    Raises
    ------
    InputError
        If a design point is missing or has no successful run, if the number of points
        does not fit the design, or if the outcome does not vary.

    References
    ----------
    Sobol', I. M. (2001). Global sensitivity indices for nonlinear mathematical models
    and their Monte Carlo estimates. Mathematics and Computers in Simulation 55, 271–280.
    Saltelli, A. et al. (2010). Variance based sensitivity analysis of model output.
    Computer Physics Communications 181, 259–270.
    """
    from SALib.analyze import sobol  # imported here: grids need no SALib

    names = _names(problem)
    summary = replicate_summary(runs, names, outcome, confidence)
    means = _point_means(summary, outcome, "Sobol", n_points)
    per_sample = 2 * len(names) + 2 if second_order else len(names) + 2
    if means.size % per_sample:
        order = "with" if second_order else "without"
        raise InputError(
            f"Sobol analysis: {means.size} design points is not a multiple of {per_sample} "
            f"(N × (2D + 2) {order} second order, D = {len(names)}); is second_order right?"
        )
    result = sobol.analyze(
        problem,
        means,
        calc_second_order=second_order,
        conf_level=confidence,
        seed=BOOTSTRAP_SEED,
    )
    columns = ["S1", "S1_conf", "ST", "ST_conf"]
    return _indices_table("sobol", names, result, columns, outcome, confidence)


def _indices_table(
    method: str, names, result, columns: list[str], outcome: str, confidence: float
) -> pd.DataFrame:
    """One row per parameter with SALib's ``columns`` of ``result``; attrs name the analysis."""
    table = pd.DataFrame(
        {"parameter": list(names)} | {c: np.asarray(result[c], float) for c in columns}
    )
    table.attrs = {"method": method, "outcome": outcome, "confidence": confidence}
    return table


def _design_matrix(runs: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The parameter values that ran, one row per design point in sampler order."""
    _require(runs, ["point", *names])
    return runs.groupby("point", sort=True)[names].first().to_numpy(dtype=float)


def morris_indices(
    runs: pd.DataFrame,
    problem: dict,
    outcome: str,
    design_X: np.ndarray,  # noqa: N803 (SALib's name for the sample matrix)
    *,
    num_levels: int = 4,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Morris elementary-effect statistics of the replicate-mean outcome.

    Parameters
    ----------
    runs : pandas.DataFrame
        The runs table; ``point`` indexes the rows of ``design_X``.
    problem : dict
        The SALib problem (``num_vars``, ``names``, ``bounds``, optional ``groups``).
    outcome : str
        The outcome column.
    design_X : numpy.ndarray
        The sample matrix, one row per design point in sampler order (``D + 1`` rows
        per trajectory). Prefer the values that ran (rounded integers included), as
        :func:`analyze` does, over a regenerated sample.
    num_levels : int
        The ``num_levels`` the design was drawn with; it fixes the step ``Δ`` of the
        elementary effects.
    confidence : float
        Level of the bootstrap interval of ``mu_star``.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``parameter``, ``mu`` (mean elementary effect, signed),
        ``mu_star`` (mean absolute effect: importance), ``sigma`` (standard deviation:
        interactions and non-linearity) and ``mu_star_conf`` (half-width of the
        bootstrap interval). Effects are in outcome units per full range of the
        parameter (SALib divides by ``Δ`` in the unit cube).

    Raises
    ------
    InputError
        If a point is missing or empty, the matrix does not fit the runs, or a step of
        a trajectory changes no parameter (e.g. integer rounding made two points equal).

    References
    ----------
    Morris, M. D. (1991). Factorial sampling plans for preliminary computational
    experiments. Technometrics 33, 161–174.
    Campolongo, F., Cariboni, J. and Saltelli, A. (2007). An effective screening design
    for sensitivity analysis of large models. Environmental Modelling & Software 22,
    1509–1518.
    """
    from SALib.analyze import morris

    names = _names(problem)
    summary = replicate_summary(runs, names, outcome, confidence)
    X = np.asarray(design_X, dtype=float)  # noqa: N806
    means = _point_means(summary, outcome, "Morris", len(X))
    groups = problem.get("groups")
    steps = len(set(groups)) if groups else len(names)
    if X.shape != (means.size, len(names)) or means.size % (steps + 1):
        raise InputError(
            f"Morris analysis: the sample matrix is {X.shape[0]} × {X.shape[1]} for "
            f"{means.size} points and {len(names)} parameters; trajectories need "
            f"{steps + 1} points each."
        )
    trajectories = X.reshape(-1, steps + 1, len(names))
    still = np.flatnonzero(~np.any(np.diff(trajectories, axis=1) != 0, axis=2).ravel())
    if still.size:
        first = [int(i // steps * (steps + 1) + i % steps) for i in still]
        raise InputError(
            f"Morris analysis: {still.size} steps of the trajectories change no parameter "
            f"(from points {_few(first)} to the next); integer rounding may have merged "
            "levels. Use a wider range for integer parameters."
        )
    result = morris.analyze(
        problem,
        X,
        means,
        conf_level=confidence,
        num_levels=num_levels,
        seed=BOOTSTRAP_SEED,
    )
    columns = ["mu", "mu_star", "sigma", "mu_star_conf"]
    return _indices_table("morris", result["names"], result, columns, outcome, confidence)


# ---------------------------------------------------------------------------- figures


def _title(text: str, width: int = 52) -> str:
    """A figure title broken over lines so long dotted names stay on the slide."""
    return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)


def _tick(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float | np.number) else str(value)


def _one_row_per(summary: pd.DataFrame, keys: list[str]) -> None:
    """Refuse a summary with several rows per combination of ``keys`` (others vary)."""
    _require(summary, [*keys, "mean"], "the summary")
    if summary.duplicated(keys).any():
        raise ValueError(
            f"the summary has several rows per value of {', '.join(keys)}: other parameters "
            "vary too. Pass marginal_summary(runs, [...], outcome) to average over them."
        )


@styled
def phase_diagram(
    summary: pd.DataFrame,
    x: str,
    y: str,
    outcome: str,
    takeoff: pd.DataFrame | None = None,
) -> Figure:
    """Heatmap of the replicate-mean outcome over two swept parameters, takeoff line drawn.

    Each cell is one combination of the two parameters' grid values (equal-sized cells,
    labelled with the values, so uneven grids read well). The black line separates
    where the flywheel takes off from where it does not:

    - with ``takeoff`` (or a ``summary`` that has a ``takeoff_share`` column): the
      line where half of the replicates took off (``takeoff_share = 0.5``), linearly
      interpolated between cell centres;
    - otherwise, when the outcome is a moat: the line where the mean moat crosses 0.

    Grey cells have no value: no successful run, or an outcome that is never defined
    there (``takeoff_step`` where no replicate took off). A signed outcome (a moat)
    gets a diverging scale centred on 0, others the colour-blind-safe ``cividis``.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per ``(x, y)`` with a ``mean`` column (:func:`replicate_summary` or
        :func:`marginal_summary`).
    x, y : str
        The parameters on the horizontal and vertical axes.
    outcome : str
        The outcome summarised in ``summary`` (for the title and colour bar).
    takeoff : pandas.DataFrame, optional
        A table over the same ``(x, y)`` with a ``takeoff_share`` column.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _one_row_per(summary, [x, y])
    grid = summary.pivot(index=y, columns=x, values="mean").sort_index().sort_index(axis=1)
    xs, ys, values = grid.columns.to_numpy(), grid.index.to_numpy(), grid.to_numpy(dtype=float)
    fig, (ax,) = new_figure(_title(f"Phase diagram: {name_of(outcome)}"), None, figsize=(10.0, 7.5))
    finite = values[np.isfinite(values)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    signed = low < 0 < high or re.sub(r"\[.*\]$", "", outcome.split(".")[-1]) == "moat"
    if signed:  # a moat: diverging colours, white at 0, the same reach either side
        reach = max(abs(low), abs(high), 1e-12)
        cmap, norm = "PuOr_r", TwoSlopeNorm(0.0, -reach, reach)
    elif low >= 0:  # a size (users, steps, shares): from 0, so small differences look small
        cmap, norm = "cividis", Normalize(0.0, max(high, 1e-12))
    else:
        cmap, norm = "cividis", Normalize(low, 0.0)
    edges_x, edges_y = np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5
    mesh = ax.pcolormesh(edges_x, edges_y, np.ma.masked_invalid(values), cmap=cmap, norm=norm)
    ax.figure.colorbar(mesh, ax=ax, label=f"mean {label(outcome)}", pad=0.02)
    if values.size <= 80:  # write the value in each cell, in a colour that reads on it
        for (row, column), value in np.ndenumerate(values):
            if np.isfinite(value):
                red, green, blue, _ = mesh.cmap(mesh.norm(value))
                ink = "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"
                ax.text(column, row, f"{value:.3g}", ha="center", va="center", color=ink)
            else:  # no ok run, or an outcome never defined (e.g. no takeoff at all)
                ax.text(column, row, "no value", ha="center", va="center", color="#444444")
    ax.set_xticks(range(len(xs)), [_tick(v) for v in xs])
    ax.set_yticks(range(len(ys)), [_tick(v) for v in ys])
    ax.set(xlabel=label(x), ylabel=label(y))
    ax.grid(False)
    ax.set_facecolor("#d9d9d9")  # grey, not white: white is 0 on the diverging scale
    if takeoff is None and TAKEOFF_SHARE in summary:
        takeoff = summary
    if takeoff is not None:
        _one_row_per(takeoff.rename(columns={TAKEOFF_SHARE: "mean"}), [x, y])
        share = takeoff.pivot(index=y, columns=x, values=TAKEOFF_SHARE)
        share = share.reindex(index=ys, columns=xs)
        line = (share.to_numpy(dtype=float), TAKEOFF_LEVEL)
        text = f"takeoff in {TAKEOFF_LEVEL:.0%} of replicates"
        note = "black line: the flywheel took off in half of the replicates"
    elif re.sub(r"\[.*\]$", "", outcome.split(".")[-1]) == "moat":
        line, text, note = (values, 0.0), "moat = 0", "black line: mean moat = 0"
    else:
        line, text, note = None, "", "no takeoff data: no takeoff line"
    drawn = False
    if line is not None and min(values.shape) >= 2:
        level_values, level = line
        finite = level_values[np.isfinite(level_values)]
        if finite.size and finite.min() < level < finite.max():
            centres = (np.arange(len(xs)), np.arange(len(ys)))
            contour = ax.contour(*centres, level_values, levels=[level], colors=BLACK)
            contour.set(linewidth=4.0, path_effects=[_HALO])
            drawn = True
        elif finite.size:
            above = finite.min() >= level
            if text.startswith("takeoff"):
                note = (
                    "no line: the flywheel took off in at least half the replicates of every cell"
                    if above
                    else "no line: in no cell did the flywheel take off in half the replicates"
                )
            else:
                note = f"no line: every cell is {'above' if above else 'below'} {text}"
    ax.set_title(f"mean over replicates per cell\n{note}", fontsize=13, color="#444444")
    if drawn:
        handle = Line2D([], [], color=BLACK, linewidth=4.0, path_effects=[_HALO])
        legend_below(ax, [(handle, text)], ncol=1)
    return fig


@styled
def outcome_lines(summary: pd.DataFrame, x: str, outcome: str, by: str | None = None) -> Figure:
    """The replicate-mean outcome against one parameter, one line per value of another.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per ``(x, by)`` with ``mean``, ``ci_low`` and ``ci_high`` columns
        (:func:`replicate_summary` or :func:`marginal_summary`); its
        ``attrs["confidence"]`` names the band's level (default 0.95).
    x : str
        The parameter on the horizontal axis.
    outcome : str
        The outcome summarised in ``summary`` (title and y label).
    by : str, optional
        A parameter with one line (colour and line style) per value.

    Returns
    -------
    matplotlib.figure.Figure
        Lines with markers at the design values; shaded bands are the confidence
        intervals of the replicate means (absent where a point has one replicate).
    """
    keys = [x] if by is None else [x, by]
    _one_row_per(summary, keys)
    confidence = summary.attrs.get("confidence", 0.95)
    fig, (ax,) = new_figure(_title(f"{name_of(outcome)} vs {name_of(x)}"), None)
    groups = [(None, summary)] if by is None else list(summary.groupby(by, sort=True))
    for i, (value, rows) in enumerate(groups):
        rows = rows.sort_values(x)
        color, style = PALETTE[i % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)]
        name = name_of(outcome) if by is None else _tick(value)
        ax.fill_between(rows[x], rows["ci_low"], rows["ci_high"], color=color, alpha=0.2, lw=0)
        ax.plot(rows[x], rows["mean"], color=color, ls=style, marker="o", ms=7, label=name)
    ax.set(xlabel=label(x), ylabel=f"mean {label(outcome)}")
    ax.set_title(
        f"mean over replicates; band: {confidence:.0%} confidence interval (Student t)",
        fontsize=14,
        color="#444444",
    )
    if by is not None:  # the legend's title names the parameter, entries its values
        legend_below(ax, ncol=min(len(groups), 6))
        ax.get_legend().set_title(label(by), prop={"size": 14})
    return fig


def _levels_order(runs: pd.DataFrame, variant: str, manifest: dict) -> list:
    """A variant's levels in the order the sweep file lists them (else sorted)."""
    listed = ((manifest.get("experiment") or {}).get("variants") or {}).get(variant) or {}
    present = set(runs[variant].dropna().astype(str))
    order = [level for level in listed if level in present]
    return order + sorted(present - set(order))


@styled
def levels_figure(
    runs: pd.DataFrame,
    variant: str,
    outcomes: Sequence[str],
    *,
    order: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> Figure:
    """Each level of a variant (e.g. each cold-start tactic) side by side, one panel per
    outcome: the mean over replicates with its Student-t confidence interval.

    Parameters
    ----------
    runs : pandas.DataFrame
        The runs table, with a ``variant`` column of level names and the outcomes.
    variant : str
        The variant dimension (``tactic``).
    outcomes : sequence of str
        Numeric outcomes, one panel each (at most four are drawn).
    order : sequence of str, optional
        The levels top to bottom; default sorted.
    confidence : float
        Level of the intervals.

    Returns
    -------
    matplotlib.figure.Figure
        Horizontal points with interval whiskers. For ``takeoff_step`` the mean is over
        the runs that took off, and each row says how many did ("7/8 took off").
    """
    outcomes = list(outcomes)[:4]
    levels = (
        list(order) if order is not None else sorted(runs[variant].dropna().astype(str).unique())
    )
    names = ", ".join(name_of(o) for o in outcomes)
    fig, axes = new_figure(
        _title(f"{names} by {name_of(variant)}", 70), None, (1, len(outcomes)),
        figsize=(6.2 * len(outcomes) + 1.5, 1.0 * len(levels) + 3.2),
    )  # fmt: skip
    keyed = runs.assign(**{variant: runs[variant].astype(str)})
    y = np.arange(len(levels))[::-1]
    for ax, outcome in zip(axes, outcomes, strict=False):
        table = _describe(keyed, [variant], outcome, confidence).reindex(levels)
        mean, low, high = (table[c].to_numpy(dtype=float) for c in ("mean", "ci_low", "ci_high"))
        error = np.vstack([mean - np.where(np.isnan(low), mean, low),
                           np.where(np.isnan(high), mean, high) - mean])  # fmt: skip
        ax.errorbar(mean, y, xerr=error, fmt="o", ms=9, color=BLUE, ecolor=BLACK, elinewidth=2,
                    capsize=6)  # fmt: skip
        ax.set_yticks(y, [_tick(level) for level in levels])
        ax.set_ylim(-0.6, len(levels) - 0.25)  # every level's row, drawn or not
        ax.set_xlabel(f"mean {label(outcome)}")
        ax.set_title(name_of(outcome), fontsize=16)
        ax.grid(axis="x", alpha=0.3)
        if outcome == TAKEOFF and TAKEOFF_SHARE in table:
            counts = keyed[keyed["status"].eq("ok")].groupby(variant)[TAKEOFF]
            took = counts.apply(lambda v: int(pd.to_numeric(v, errors="coerce").notna().sum()))
            total = counts.size()
            for row, level, at in zip(y, levels, mean, strict=True):
                text = f"{took.get(level, 0)}/{total.get(level, 0)} took off"
                where = (at, row) if np.isfinite(at) else (0.02, row)
                coords = "data" if np.isfinite(at) else ("axes fraction", "data")
                ax.annotate(text, where, xycoords=coords, xytext=(0, 11), ha="center",
                            textcoords="offset points", fontsize=12, color="#444444")  # fmt: skip
        if outcome.endswith("moat"):
            ax.axvline(0, color=ORANGE, ls="--", lw=1.5)
    axes[0].set_ylabel(name_of(variant))
    fig.subfigs[0].suptitle(f"points: mean over replicates; bars: {confidence:.0%} confidence "
                            "interval (Student t)", fontsize=15, color="#444444")  # fmt: skip
    return fig


@styled
def outcome_scatter(summary: pd.DataFrame, parameters: list[str], outcome: str) -> Figure:
    """The replicate-mean outcome of every design point against each sampled parameter.

    For sampled designs (LHS, Sobol, Morris), where a line per value makes no sense:
    one panel per parameter, one dot per design point.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`replicate_summary` of the runs.
    parameters : list of str
        The parameters, one panel each (three panels per row).
    outcome : str
        The outcome summarised in ``summary``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(summary, [*parameters, "mean"], "the summary")
    columns = min(len(parameters), 3)
    rows = math.ceil(len(parameters) / columns)
    size = (4.6 * columns + 1.0, 4.2 * rows + 1.4)
    title = _title(f"{name_of(outcome)} over the sampled parameters", 20 * columns + 12)
    fig, axes = new_figure(title, None, (rows, columns), size)
    alpha = float(np.clip(30 / math.sqrt(max(len(summary), 1)), 0.1, 0.9))
    for i, (ax, parameter) in enumerate(zip(axes, parameters, strict=False)):
        ax.scatter(summary[parameter], summary["mean"], s=14, color=BLUE, alpha=alpha, lw=0)
        ax.set(xlabel=label(parameter))
        if i % columns == 0:
            ax.set_ylabel(f"mean {label(outcome)}")
    for ax in axes[len(parameters) :]:
        ax.axis("off")
    return fig


@styled
def sensitivity_bars(indices: pd.DataFrame, outcome: str) -> Figure:
    """Sensitivity indices as horizontal bars, most influential parameter on top.

    Parameters
    ----------
    indices : pandas.DataFrame
        :func:`sobol_indices` (bars of S1 and ST with their intervals) or
        :func:`morris_indices` (bars of mu* with its interval, and sigma).
    outcome : str
        The outcome the indices are about (title).

    Returns
    -------
    matplotlib.figure.Figure
    """
    sobol = "ST" in indices
    if sobol:
        bars = [
            ("S1", "S1_conf", "S1: the parameter alone"),
            ("ST", "ST_conf", "ST: with interactions"),
        ]
        xlabel, method = "share of the variance of the replicate means (0–1)", "Sobol indices"
    else:
        _require(indices, ["parameter", "mu_star", "sigma"], "the indices")
        bars = [("mu_star", "mu_star_conf", "μ*: importance"), ("sigma", None, "σ: interactions")]
        unit = UNITS.get(re.sub(r"\[.*\]$", "", outcome.split(".")[-1]), "outcome units")
        xlabel, method = f"elementary effect ({unit} per full range)", "Morris screening"
    table = indices.sort_values(bars[-1][0] if sobol else "mu_star", ascending=True)
    confidence = indices.attrs.get("confidence", 0.95)
    height = max(4.5, 1.0 + 0.9 * len(table)) + 1.6
    title = _title(f"Sensitivity of {name_of(outcome)}: {method}")
    fig, (ax,) = new_figure(title, None, figsize=(10.0, height))
    rows = np.arange(len(table))
    for i, (column, error, name) in enumerate(bars):
        err = table[error].to_numpy(float) if error else None
        ax.barh(
            rows + (i - 0.5) * 0.4,
            table[column].to_numpy(float),
            height=0.38,
            xerr=err,
            color=(BLUE, ORANGE)[i],
            hatch=(None, "//")[i],
            edgecolor="white",
            error_kw={"ecolor": BLACK, "elinewidth": 2.0, "capsize": 5, "capthick": 2.0},
            label=name,
        )
    ax.set_yticks(rows, [name_of(p) for p in table["parameter"].astype(str)])
    ax.set(xlabel=xlabel)
    ax.axvline(0, color=BLACK, linewidth=1.2)
    ax.grid(axis="y", visible=False)
    ax.set_title(f"error bars: {confidence:.0%} bootstrap interval", fontsize=14, color="#444444")
    legend_below(ax, ncol=2)
    return fig


# ---------------------------------------------------------------------------- the folder


def _read(folder: Path) -> tuple[dict, pd.DataFrame]:
    """The manifest and the runs table of a results folder, or InputError naming the file."""
    if not folder.is_dir():
        raise InputError(f"{folder}: results folder not found (make one with a sweep).")
    manifest_path, runs_path = folder / "manifest.json", folder / "runs.parquet"
    for path in (manifest_path, runs_path):
        if not path.is_file():
            raise InputError(f"{path}: file not found; {folder} is not a sweep's results folder.")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{manifest_path}: cannot read the manifest: {exc}") from exc
    try:
        runs = pd.read_parquet(runs_path)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise InputError(f"{runs_path}: cannot read the runs table: {exc}") from exc
    design = manifest.get("design") if isinstance(manifest, dict) else None
    if not isinstance(design, dict) or not isinstance(design.get("parameters"), dict):
        raise InputError(f"{manifest_path}: no 'design' with 'parameters' in the manifest.")
    if design.get("kind") not in KINDS:
        raise InputError(
            f"{manifest_path}: design.kind must be one of {', '.join(KINDS)}. "
            f"Got {design.get('kind')!r} instead."
        )
    if design["kind"] in ("sobol", "morris") and not isinstance(design.get("problem"), dict):
        raise InputError(f"{manifest_path}: a {design['kind']} design needs design.problem.")
    _require(runs, ["point", "status", *design["parameters"]], str(runs_path))
    return manifest, runs


def _pick_outcome(manifest: dict, runs: pd.DataFrame, outcome: str | None, folder: Path) -> str:
    outcomes = [str(o) for o in manifest.get("outcomes") or []]
    if outcome is None:
        if not outcomes:
            raise InputError(f"{folder / 'manifest.json'}: the manifest lists no outcomes.")
        outcome = outcomes[0]
    if outcome not in outcomes or outcome not in runs.columns:
        where = "manifest" if outcome not in outcomes else "runs table"
        raise InputError(
            f"{folder}: unknown outcome {outcome!r} (not in the {where}); "
            f"choose one of: {', '.join(outcomes) or 'none recorded'}."
        )
    return outcome


def _table(frame: pd.DataFrame, rows: int = PRINT_ROWS) -> str:
    text = frame.head(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}")
    more = len(frame) - rows
    return text + (f"\n… {more} more rows" if more > 0 else "")


def _report(
    manifest: dict, outcome: str, summary: pd.DataFrame, indices: pd.DataFrame | None
) -> str:
    design = manifest["design"]
    experiment, scenario = manifest.get("experiment") or {}, manifest.get("scenario") or {}
    name = experiment.get("name") or scenario.get("name") or "unnamed"
    ok, failed = int(summary["n"].sum()), int(summary["failed"].sum())
    lines = [
        f"Experiment {name}: {design['kind']} design, {len(summary)} points × "
        f"{manifest.get('replicates', '?')} replicates, outcome {outcome}",
        f"Runs averaged: {ok}; failed runs excluded: {failed}",
    ]
    empty = int(summary["n"].eq(0).sum())
    if empty:
        lines.append(f"Points without any usable run (NaN): {empty}")
    if TAKEOFF_SHARE in summary:
        lines.append(f"Runs that took off: {summary[TAKEOFF_SHARE].mean():.1%} (mean over points)")
    confidence = summary.attrs.get("confidence", 0.95)
    lines += ["", f"Replicate means per design point ({confidence:.0%} CI, Student t):"]
    lines.append(_table(summary))
    if indices is not None:
        method = indices.attrs.get("method", "sensitivity").capitalize()
        lines += ["", f"{method} indices of the replicate means:", _table(indices, len(indices))]
    return "\n".join(lines)


def _is_categorical(runs: pd.DataFrame, outcome: str) -> bool:
    values = runs.loc[runs["status"] == "ok", outcome].dropna()
    return len(values) > 0 and not pd.api.types.is_numeric_dtype(values.infer_objects())


def category_shares(runs: pd.DataFrame, parameters: list[str], outcome: str) -> pd.DataFrame:
    """Per design point, the share of successful runs with each value of a categorical
    ``outcome`` (``market.winner``: who wins), plus ``n`` and ``failed``."""
    ok = runs["status"] == "ok"
    values = runs[outcome].where(runs[outcome].notna(), "none").astype(str)
    rows = []
    for point, group in runs.groupby("point", sort=True):
        good = values[group.index[ok.loc[group.index]]]
        row = {"point": point, **{p: group[p].iloc[0] for p in parameters}}
        row |= {"n": len(good), "failed": int((~ok.loc[group.index]).sum())}
        for name in sorted(values[ok].unique()):
            row[f"share[{name}]"] = float((good == name).mean()) if len(good) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def _analyze_categorical(manifest, runs, outcome, parameters, folder, out_dir, verbose, write):
    from ..reporting.market import winners_figure

    summary = category_shares(runs, parameters, outcome)
    varying = [p for p in parameters if summary[p].nunique(dropna=False) > 1][:2]
    figures = {"winners": winners_figure(runs, outcome, varying)}
    name = (manifest.get("experiment") or {}).get("name") or "unnamed"
    report = "\n".join([
        f"Experiment {name}: {len(summary)} points, outcome {outcome} (categorical: the "
        "share of runs with each value)",
        _table(summary),
    ])  # fmt: skip
    if verbose:
        print(report)
    plots = _write(folder, out_dir, summary, None, figures) if write else []
    failed = int(summary["failed"].sum())
    return {"figures": figures, "summary": summary, "indices": None, "plots": plots,
            "failed": failed, "outcome": outcome, "report": report}  # fmt: skip


def _write(folder: Path, out_dir, summary: pd.DataFrame, indices, figures) -> list[Path]:
    """Write the analysis into ``out_dir`` (default ``folder/analysis``): summary.csv,
    indices.csv (if any) and one PNG per figure; return the figures' paths."""
    out = Path(out_dir) if out_dir is not None else folder / "analysis"
    out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out / "summary.csv", index=False)
    if indices is not None:
        indices.to_csv(out / "indices.csv", index=False)
    return [_save(fig, out / f"{stem}.png") for stem, fig in figures.items()]


def _save(fig: Figure, path: Path) -> Path:
    with mpl.rc_context(STYLE):
        fig.savefig(path, dpi=DPI)
    return path


def analyze(
    results_dir: str | Path,
    outcome: str | None = None,
    out_dir: str | Path | None = None,
    *,
    confidence: float = 0.95,
    verbose: bool = True,
    write: bool = True,
) -> dict[str, Any]:
    """Analyse a sweep's results folder (``flywheel analyze DIR [--outcome NAME]``).

    Reads ``manifest.json`` and ``runs.parquet``, averages the replicates of each design
    point, computes Sobol or Morris indices for those designs, prints a report and
    writes into ``out_dir``:

    - ``summary.csv``: :func:`replicate_summary` (one row per design point);
    - ``indices.csv``: :func:`sobol_indices` or :func:`morris_indices` (sampled
      designs with indices only);
    - PNG figures: ``phase_diagram.png`` (grids over two or more parameters: the first
      two that vary, averaged over any others), ``lines.png`` (grids: the outcome
      against the first varying parameter, one line per value of the second),
      ``scatter.png`` (sampled designs) and ``sensitivity.png`` (Sobol and Morris).

    Morris indices use the parameter values of ``runs.parquet`` in point order (what
    ran, rounding included) and the manifest's ``design.levels`` (default 4); Sobol
    indices use ``design.problem`` and ``design.second_order``.

    Nothing is written when the folder or the outcome is invalid.

    Parameters
    ----------
    results_dir : str or Path
        The sweep's results folder.
    outcome : str, optional
        The outcome column to analyse; default the manifest's first outcome.
    out_dir : str or Path, optional
        Where to write; default ``results_dir/analysis``.
    confidence : float
        Level of the replicate and bootstrap confidence intervals.
    verbose : bool
        Print the report (the tables) to standard output.
    write : bool
        Write the files (``False``: only compute, e.g. for ``flywheel report``).

    Returns
    -------
    dict
        ``figures`` (stem -> matplotlib Figure), ``summary`` (DataFrame), ``indices``
        (DataFrame or None), ``plots`` (list of Path; empty with ``write=False``),
        ``failed`` (number of failed runs excluded), ``outcome`` (str) and
        ``report`` (the printed text).

    Raises
    ------
    InputError
        If the folder, the manifest or the runs table is missing or malformed, the
        outcome is unknown, or Sobol/Morris indices cannot be computed (a design point
        without a successful run); the message names the file or the points.
    """
    folder = Path(results_dir)
    manifest, runs = _read(folder)
    outcome = _pick_outcome(manifest, runs, outcome, folder)
    design = manifest["design"]
    kind, parameters = design["kind"], list(design["parameters"])
    if _is_categorical(runs, outcome):  # e.g. market.winner: how often each value comes
        return _analyze_categorical(manifest, runs, outcome, parameters, folder, out_dir,
                                    verbose, write)  # fmt: skip
    summary = replicate_summary(runs, parameters, outcome, confidence)
    indices = None
    if kind == "sobol":
        indices = sobol_indices(
            runs,
            design["problem"],
            outcome,
            bool(design.get("second_order", False)),
            confidence=confidence,
            n_points=design.get("n_points"),
        )
    elif kind == "morris":
        names = _names(design["problem"])
        indices = morris_indices(
            runs,
            design["problem"],
            outcome,
            _design_matrix(runs, names),
            num_levels=int(design.get("levels") or design.get("num_levels") or 4),
            confidence=confidence,
        )
    figures: dict[str, Figure] = {}
    variants = list((manifest.get("experiment") or {}).get("variants") or {})
    if kind == "grid" and variants:  # named levels side by side, every numeric outcome
        numeric = [o for o in manifest.get("outcomes", [outcome]) if o in runs
                   and not _is_categorical(runs, o)]  # fmt: skip
        shown = [outcome, *[o for o in numeric if o != outcome]]
        order = _levels_order(runs, variants[0], manifest)
        figures["levels"] = levels_figure(runs, variants[0], shown, order=order,
                                          confidence=confidence)  # fmt: skip
    if kind == "grid":
        varying = [p for p in parameters if summary[p].nunique(dropna=False) > 1
                   and p not in variants]  # fmt: skip
        if varying:
            keys = varying[:2]
            pooled = marginal_summary(runs, keys, outcome, confidence)
            if len(keys) == 2:
                figures["phase_diagram"] = phase_diagram(pooled, keys[0], keys[1], outcome)
            by = keys[1] if len(keys) == 2 else None
            figures["lines"] = outcome_lines(pooled, keys[0], outcome, by)
    else:
        figures["scatter"] = outcome_scatter(summary, parameters, outcome)
    if indices is not None:
        figures["sensitivity"] = sensitivity_bars(indices, outcome)
    report = _report(manifest, outcome, summary, indices)
    if verbose:
        print(report)

    plots = _write(folder, out_dir, summary, indices, figures) if write else []
    return {
        "figures": figures,
        "summary": summary,
        "indices": indices,
        "plots": plots,
        "failed": int(summary["failed"].sum()),
        "outcome": outcome,
        "report": report,
    }
