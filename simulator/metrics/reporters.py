"""Timeseries reporters: one column each, a function of the step's read-only record.

Reporters are module-level functions (Mesa's style), so they can be imported, tested
and reused; each takes a :class:`~simulator.engines.step.StepRecord`, never the live
model, so a reporter cannot change a run and both engines report the same numbers.
:func:`model_reporters` lists them for the model's ``DataCollector``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..mechanisms.states import ACTIVE, CHURNED, POTENTIAL
from ..numerics import sum_in_order


def step(record) -> int:
    return int(record.step)


def time(record) -> float:
    return record.time


def potential_users(record) -> int:
    return int(record.counts[POTENTIAL].sum())


def active_users(record) -> int:
    return int(record.counts[ACTIVE].sum())


def churned_users(record) -> int:
    return int(record.counts[CHURNED].sum())


def adoptions(record) -> int:
    return int(record.tally.adoptions.sum())


def organic_adoptions(record) -> int:
    return int(record.tally.organic_adoptions)


def spontaneous_adoptions(record) -> int:
    return int(record.tally.spontaneous_adoptions)


def churns(record) -> int:
    return int(record.tally.churns.sum())


def rejoins(record) -> int:
    return int(record.tally.rejoins.sum())


def interactions(record) -> int:
    return int(record.tally.interactions.sum())


def signals(record) -> int:
    return int(record.pipeline.signals.sum())


def wrong_signals(record) -> int:
    return int(record.pipeline.wrong_signals.sum())


def kept_signals(record) -> int:
    return int(record.pipeline.kept.sum())


def new_examples(record) -> int:
    return int(record.pipeline.new_examples.sum())


def training_examples(record) -> float:
    return sum_in_order(record.firm.examples)


def collected_examples(record) -> float:
    """Filtered signals the firm holds, whether or not it trains on them."""
    return sum_in_order(record.firm.collected)


def noise_share(record) -> float:
    total = sum_in_order(record.firm.examples)
    return sum_in_order(record.firm.wrong_examples) / total if total > 0 else 0.0


def model_version(record) -> int:
    return int(record.firm.model_version)


def quality(record) -> float:
    """Mean deployed quality over groups, weighted by active users (by group size if none)."""
    weights = record.counts[ACTIVE].astype(float)
    if weights.sum() == 0:
        weights = record.counts.sum(axis=0).astype(float)
    return sum_in_order(record.firm.quality * weights) / sum_in_order(weights)


def baseline_quality(record) -> float:
    return float(record.reference_quality)


def moat(record) -> float:
    """Quality advantage over what users can get elsewhere: ``Q - Q_ref``."""
    return quality(record) - baseline_quality(record)


def quality_gap(record) -> float:
    """Best group's quality minus worst group's (0 with one group)."""
    q = record.firm.quality
    return float(q.max() - q.min())


def group_active_users(record, group: int) -> int:
    return int(record.counts[ACTIVE, group])


def group_quality(record, group: int) -> float:
    return float(record.firm.quality[group])


def group_share(record, group: int) -> float:
    """The group's share of active users (0 when nobody is active)."""
    total = int(record.counts[ACTIVE].sum())
    return int(record.counts[ACTIVE, group]) / total if total else 0.0


def group_training_examples(record, group: int) -> float:
    return float(record.firm.examples[group])


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


def synthetic_examples(record) -> int:
    """Synthetic points (sampled from earlier models) in the current training set."""
    return int(record.firm.synthetic.sum())


def training_set(record) -> int:
    """Points in the current training set, real and synthetic (estimator learners)."""
    return int(record.firm.training_set)


def model_mean(record) -> float:
    """The deployed estimator's location (median, mean or Gaussian mean); the logistic
    classifier's weight ``w``."""
    return float(record.firm.params[0])


def model_spread(record) -> float:
    """The deployed estimator's scale (mean absolute residual for the median, else the
    standard deviation; 0 for the logistic classifier)."""
    return float(record.firm.params[1])


def group_risk(record, group: int) -> float:
    """The deployed estimator's expected loss on the group's true distribution."""
    return float(record.firm.risk[group])


ESTIMATOR_REPORTERS = {
    name: globals()[name]
    for name in ["synthetic_examples", "training_set", "model_mean", "model_spread"]
}


def model_reporters(group_names: list[str], estimator: bool = False) -> dict[str, Any]:
    """Reporters of the step record: the core columns, then ``<metric>[<group>]`` per group.

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
