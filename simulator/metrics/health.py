"""Flywheel health, takeoff, word of mouth and half adoption, from a run's timeseries.

The five health metrics compare each step with one year earlier (52 weeks of steps, or
the start during the first year).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def steps_per_year(dt: float) -> int:
    """Steps in one year (52 weeks of rate units), at least 1."""
    return max(1, round(52 / dt))


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` as floats, NaN where the denominator is 0."""
    denominator = denominator.astype(float)
    return (numerator / np.where(denominator != 0, denominator, np.nan)).astype(float)


def add_health_columns(timeseries: pd.DataFrame, dt: float) -> pd.DataFrame:
    """Add the five flywheel-health metrics as columns, each against one year earlier.

    Before the first year, "a year ago" is the start (step 0). A rate whose
    denominator is 0 (no data or no users yet) is left empty (NaN). Computed on the
    columns' arrays (the same elementwise arithmetic as on the Series, without pandas'
    per-operation cost: a sweep computes this for every run).
    """
    lag = steps_per_year(dt)
    earlier = np.maximum(timeseries.index.to_numpy() - lag, 0)  # row i is step i
    column = {name: timeseries[name].to_numpy() for name in _HEALTH_INPUTS}
    data, quality, users = column["training_examples"], column["quality"], column["active_users"]
    data_then, quality_then = data[earlier], quality[earlier]
    return timeseries.assign(
        data_growth_rate=_ratio(data - data_then, data_then),
        model_improvement_rate=_ratio(quality - quality_then, quality_then),
        user_growth_rate=_ratio(users, users[earlier]),
        data_per_user=_ratio(data, users),
        feedback_rate=_ratio(column["signals"], column["interactions"]),
    )


_HEALTH_INPUTS = ("training_examples", "quality", "active_users", "signals", "interactions")


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def flywheel_health(timeseries: pd.DataFrame) -> dict[str, float | None]:
    """The health metrics at the last step; ``feedback_rate`` over the whole run."""
    last = timeseries.iloc[-1]
    total_interactions = timeseries["interactions"].sum()
    return {
        "data_growth_rate": _finite_or_none(last["data_growth_rate"]),
        "model_improvement_rate": _finite_or_none(last["model_improvement_rate"]),
        "user_growth_rate": _finite_or_none(last["user_growth_rate"]),
        "data_per_user": _finite_or_none(last["data_per_user"]),
        "feedback_rate": (
            float(timeseries["signals"].sum() / total_interactions) if total_interactions else None
        ),
    }


#: Weeks in the window over which the loop must turn once (a quarter).
TAKEOFF_WINDOW_WEEKS = 13
#: The smallest quality gain over the cold-start model that counts: 1 % of its quality.
TAKEOFF_MIN_GAIN = 0.01


def window_steps(dt: float, weeks: float = TAKEOFF_WINDOW_WEEKS) -> int:
    """Steps in a window of ``weeks`` weeks (a quarter by default), at least 1."""
    return max(1, round(weeks / dt))


def real_training_data(timeseries: pd.DataFrame) -> pd.Series:
    """The users' data the learner trains on, per step (examples or points).

    The curve learner trains on ``training_examples``. An estimator learner trains on
    ``training_set`` points, of which ``synthetic_examples`` were sampled from its own
    earlier models: only the rest came from users. (An estimator's ``training_examples``
    counts what the pipeline collected, used or not, so it is not what the model saw.)
    """
    if "training_set" in timeseries and "synthetic_examples" in timeseries:
        return (timeseries["training_set"] - timeseries["synthetic_examples"]).astype(float)
    return timeseries["training_examples"].astype(float)


def takeoff_step(timeseries: pd.DataFrame, dt: float = 1.0) -> int | None:
    """First step from which data-driven quality gains and user growth reinforce each other.

    Step ``t`` (>= 1) is the takeoff when, with ``W`` the steps of a quarter
    (:func:`window_steps`, 13 at ``dt = 1``) and ``Q``, ``U``, ``D`` the deployed
    ``quality``, ``active_users`` and :func:`real_training_data`:

    1. a retrained model is live (``model_version > 0``) and quality is materially above
       the cold-start model's: ``Q(s) > Q(0)`` and ``Q(s) >= (1 + TAKEOFF_MIN_GAIN) Q(0)``
       at every step ``s`` from ``t`` to ``t + W`` (the gain is kept for a quarter);
    2. active users grow over that quarter: ``U(t + W) > U(t)``;
    3. so does the users' data the model trains on: ``D(t + W) > D(t)``.

    The whole quarter must lie inside the run, so a run shorter than ``W`` steps has no
    takeoff. A hoarder (the model never changes) never takes off, nor does a company
    whose model learns only from its own synthetic output, nor one whose model improves
    while its users shrink. Returns None when no step qualifies.
    """
    window = window_steps(dt)
    quality = timeseries["quality"].to_numpy(dtype=float)
    users = timeseries["active_users"].to_numpy(dtype=float)
    versions = timeseries["model_version"].to_numpy()
    data = real_training_data(timeseries).to_numpy(dtype=float)
    cold = quality[0]
    better = (quality > cold) & (quality >= cold * (1 + TAKEOFF_MIN_GAIN)) & (versions > 0)
    for t in range(1, len(timeseries) - window):
        end = t + window
        if better[t : end + 1].all() and users[end] > users[t] and data[end] > data[t]:
            return int(timeseries["step"].iloc[t])
    return None


def word_of_mouth_step(timeseries: pd.DataFrame) -> int | None:
    """First step from which word of mouth has brought more users than spontaneous adoption.

    Compared week by week, that fires on the first lucky week (three word-of-mouth
    adoptions against two spontaneous ones), so the running totals since the start are
    compared: from this step on, the users brought in by word of mouth outnumber those
    who came on their own. It measures the social half of the loop only (it fires for
    a company whose model never improves), so it is not the takeoff (:func:`takeoff_step`).
    """
    organic = timeseries["organic_adoptions"].cumsum()
    spontaneous = timeseries["spontaneous_adoptions"].cumsum()
    hits = timeseries.index[(organic > spontaneous) & (timeseries["step"] > 0)]
    return int(timeseries.loc[hits[0], "step"]) if len(hits) else None


def half_adoption_step(timeseries: pd.DataFrame, population: int) -> int | None:
    """First step where at least half of the population has adopted (is no longer potential)."""
    hits = timeseries.index[timeseries["potential_users"] <= population / 2]
    return int(timeseries.loc[hits[0], "step"]) if len(hits) else None
