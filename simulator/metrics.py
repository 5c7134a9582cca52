"""Metrics: the timeseries reporters, flywheel health, the defensibility audit, takeoff.

Reporters are module-level functions of the model (Mesa's style), so they can be
imported, tested and reused. They read only model-level state that both engines
keep (``counts``, ``tally``, ``pipeline``, ``company``, ``reference_quality``).
Everything after the run (health, takeoff, audit) is computed from the
timeseries and per-user arrays, identically for both engines.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from . import rules

POTENTIAL, ACTIVE, CHURNED = 0, 1, 2


# -- reporters (one timeseries column each) -----------------------------------------


def step(model) -> int:
    return int(model.steps)


def time(model) -> float:
    return model.steps * model.initial_params.dt


def potential_users(model) -> int:
    return int(model.counts[POTENTIAL].sum())


def active_users(model) -> int:
    return int(model.counts[ACTIVE].sum())


def churned_users(model) -> int:
    return int(model.counts[CHURNED].sum())


def adoptions(model) -> int:
    return int(model.tally.adoptions.sum())


def organic_adoptions(model) -> int:
    return int(model.tally.organic_adoptions)


def spontaneous_adoptions(model) -> int:
    return int(model.tally.spontaneous_adoptions)


def churns(model) -> int:
    return int(model.tally.churns.sum())


def rejoins(model) -> int:
    return int(model.tally.rejoins.sum())


def interactions(model) -> int:
    return int(model.tally.interactions.sum())


def signals(model) -> int:
    return int(model.pipeline.signals.sum())


def wrong_signals(model) -> int:
    return int(model.pipeline.wrong_signals.sum())


def kept_signals(model) -> int:
    return int(model.pipeline.kept.sum())


def new_examples(model) -> int:
    return int(model.pipeline.new_examples.sum())


def training_examples(model) -> float:
    return rules.sum_in_order(model.company.examples)


def collected_examples(model) -> float:
    """Filtered signals the company holds, whether or not it trains on them."""
    return rules.sum_in_order(model.company.collected)


def noise_share(model) -> float:
    total = rules.sum_in_order(model.company.examples)
    return rules.sum_in_order(model.company.wrong_examples) / total if total > 0 else 0.0


def model_version(model) -> int:
    return int(model.company.model_version)


def quality(model) -> float:
    """Mean deployed quality over groups, weighted by active users (by group size if none)."""
    weights = model.counts[ACTIVE].astype(float)
    if weights.sum() == 0:
        weights = model.counts.sum(axis=0).astype(float)
    return rules.sum_in_order(model.company.quality * weights) / rules.sum_in_order(weights)


def baseline_quality(model) -> float:
    return float(model.reference_quality)


def moat(model) -> float:
    """Quality advantage over what users can get elsewhere: ``Q - Q_ref``."""
    return quality(model) - baseline_quality(model)


def quality_gap(model) -> float:
    """Best group's quality minus worst group's (0 with one group)."""
    q = model.company.quality
    return float(q.max() - q.min())


def group_active_users(model, group: int) -> int:
    return int(model.counts[ACTIVE, group])


def group_quality(model, group: int) -> float:
    return float(model.company.quality[group])


def group_share(model, group: int) -> float:
    """The group's share of active users (0 when nobody is active)."""
    total = int(model.counts[ACTIVE].sum())
    return int(model.counts[ACTIVE, group]) / total if total else 0.0


def group_training_examples(model, group: int) -> float:
    return float(model.company.examples[group])


CORE_REPORTERS = {
    name: globals()[name]
    for name in [
        "step", "time", "potential_users", "active_users", "churned_users",
        "adoptions", "organic_adoptions", "spontaneous_adoptions", "churns", "rejoins",
        "interactions", "signals", "wrong_signals", "kept_signals", "new_examples",
        "training_examples", "collected_examples", "noise_share", "model_version",
        "quality", "baseline_quality", "moat", "quality_gap",
    ]
}  # fmt: skip

GROUP_REPORTERS = {
    "active_users": group_active_users,
    "quality": group_quality,
    "share": group_share,
    "training_examples": group_training_examples,
}


def synthetic_examples(model) -> int:
    """Synthetic points (sampled from earlier models) in the current training set."""
    return int(model.company.synthetic.sum())


def training_set(model) -> int:
    """Points in the current training set, real and synthetic (estimator learners)."""
    return int(sum(len(points) for points in model.company.training))


def model_mean(model) -> float:
    """The deployed estimator's location (median, mean or Gaussian mean); the logistic
    classifier's weight ``w``."""
    return float(model.company.params[0])


def model_spread(model) -> float:
    """The deployed estimator's scale (mean absolute residual for the median, else the
    standard deviation; 0 for the logistic classifier)."""
    return float(model.company.params[1])


def group_risk(model, group: int) -> float:
    """The deployed estimator's expected loss on the group's true distribution."""
    return float(model.company.risk[group])


ESTIMATOR_REPORTERS = {
    name: globals()[name]
    for name in ["synthetic_examples", "training_set", "model_mean", "model_spread"]
}


def model_reporters(group_names: list[str], estimator: bool = False) -> dict[str, Any]:
    """DataCollector reporters: the core columns, then ``<metric>[<group>]`` per group.

    Runs with an estimator learner add ``ESTIMATOR_REPORTERS`` and ``risk[<group>]``
    (curve runs keep exactly the columns they always had).
    """
    reporters: dict[str, Any] = dict(CORE_REPORTERS)
    group_reporters = dict(GROUP_REPORTERS)
    if estimator:
        reporters.update(ESTIMATOR_REPORTERS)
        group_reporters["risk"] = group_risk
    for metric, reporter in group_reporters.items():
        for index, name in enumerate(group_names):
            reporters[f"{metric}[{name}]"] = partial(reporter, group=index)
    return reporters


# -- after the run -----------------------------------------------------------------


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


# The brief's defensibility audit: (points, threshold) per item.
AUDIT = {
    "data_exclusivity": (3, 0.5),
    "user_lock_in": (2, 0.5),
    "network_density": (2, 0.7),
    "data_quality": (2, 0.95),
    "regulatory_barrier": (1, 0.5),
}


def audit_inputs(model) -> dict[str, float]:
    """The continuous inputs of the defensibility audit, measured at the end of the run.

    - ``data_exclusivity``: share of the data the company holds that only it has
      (all of it comes from its own users in this model, so 1 once it holds any;
      a hoarder holds exclusive data too: the audit scores it, the moat does not).
    - ``user_lock_in``: mean realised switching cost of active users,
      ``l (1 - exp(-tenure / T_l))`` (the share by which their churn is reduced).
    - ``network_density``: share of active users with at least one active neighbour.
    - ``data_quality``: share of correctly labelled training examples.
    - ``regulatory_barrier``: 1 if the scenario's ``market.regulatory_barrier`` is set.
    """
    users = model.user_arrays()
    active = users["state"] == ACTIVE
    churn = model.params.churn
    lock = 1.0 - rules.lock_in_factor(users["tenure"][active], churn.lock_in, churn.lock_in_time)
    has_data = rules.sum_in_order(model.company.examples) > 0
    holds_data = rules.sum_in_order(model.company.collected) > 0
    return {
        "data_exclusivity": 1.0 if holds_data else 0.0,
        "user_lock_in": float(lock.mean()) if active.any() else 0.0,
        "network_density": float((users["active_neighbours"][active] > 0).mean())
        if active.any()
        else 0.0,
        "data_quality": 1.0 - noise_share(model) if has_data else 0.0,
        "regulatory_barrier": 1.0 if model.params.market.regulatory_barrier else 0.0,
    }


def defensibility(model) -> dict[str, Any]:
    """Score the brief's audit out of 10 from :func:`audit_inputs`."""
    inputs = audit_inputs(model)
    items = {}
    for name, (points, threshold) in AUDIT.items():
        passed = inputs[name] > threshold
        items[name] = {
            "input": inputs[name],
            "threshold": threshold,
            "points": points if passed else 0,
            "max_points": points,
        }
    return {
        "score": sum(item["points"] for item in items.values()),
        "max_score": sum(points for points, _ in AUDIT.values()),
        "items": items,
    }
