"""Flywheel health, takeoff and half adoption: computed from a run's timeseries.

The health metrics are the product brief's, each against one year earlier (52 weeks
of steps, or the start during the first year).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def steps_per_year(dt: float) -> int:
    """Steps in one year (52 weeks of rate units), at least 1."""
    return max(1, round(52 / dt))


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    denominator = denominator.astype(float)
    return (numerator / denominator.where(denominator != 0)).astype(float)


def add_health_columns(timeseries: pd.DataFrame, dt: float) -> pd.DataFrame:
    """Add the brief's flywheel-health metrics as columns, each against one year earlier.

    Before the first year, "a year ago" is the start (step 0). A rate whose
    denominator is 0 (no data or no users yet) is left empty (NaN).
    """
    out = timeseries.copy()
    lag = steps_per_year(dt)
    earlier = np.maximum(out.index.to_numpy() - lag, 0)

    def year_ago(column: str) -> pd.Series:
        return pd.Series(out[column].to_numpy()[earlier], index=out.index)

    data_then = year_ago("training_examples")
    quality_then = year_ago("quality")
    out["data_growth_rate"] = _ratio(out["training_examples"] - data_then, data_then)
    out["model_improvement_rate"] = _ratio(out["quality"] - quality_then, quality_then)
    out["user_growth_rate"] = _ratio(out["active_users"], year_ago("active_users"))
    out["data_per_user"] = _ratio(out["training_examples"], out["active_users"])
    out["feedback_rate"] = _ratio(out["signals"], out["interactions"])
    return out


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


def takeoff_step(timeseries: pd.DataFrame) -> int | None:
    """First step from which word of mouth has brought more users than spontaneous adoption.

    DESIGN.md's wording is "the first step where organic adoptions exceed
    spontaneous ones". Compared week by week, that fires on the first lucky week
    (three word-of-mouth adoptions against two spontaneous ones), so we compare
    the running totals since the start: the flywheel has taken off once the users
    it brought in by word of mouth outnumber those who came on their own.
    """
    organic = timeseries["organic_adoptions"].cumsum()
    spontaneous = timeseries["spontaneous_adoptions"].cumsum()
    hits = timeseries.index[(organic > spontaneous) & (timeseries["step"] > 0)]
    return int(timeseries.loc[hits[0], "step"]) if len(hits) else None


def half_adoption_step(timeseries: pd.DataFrame, population: int) -> int | None:
    """First step where at least half of the population has adopted (is no longer potential)."""
    hits = timeseries.index[timeseries["potential_users"] <= population / 2]
    return int(timeseries.loc[hits[0], "step"]) if len(hits) else None
