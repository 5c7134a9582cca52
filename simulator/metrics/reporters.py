"""Timeseries reporters: one column each, a function of the step's read-only record.

Reporters are module-level functions (Mesa's style), so they can be imported, tested
and reused; each takes a :class:`~simulator.engines.step.StepRecord`, never the live
model, so a reporter cannot change a run and both engines report the same numbers.
:func:`model_reporters` lists them for the model's ``DataCollector``.
"""

from __future__ import annotations

from functools import partial, wraps
from typing import Any

import numpy as np

from ..mechanisms.states import ACTIVE, CHURNED, POTENTIAL
from ..numerics import sum_in_order
from ..numerics import total as _total


def _once(compute):
    """A reporter that computes its value once per record: ``quality`` is also read by
    ``moat``, the active users' total by every group's share (a step's fixed cost). The
    value is kept in the record's ``__dict__``, as ``functools.cached_property`` keeps
    it, never in one of its fields."""
    key = f"_reported_{compute.__name__}"

    @wraps(compute)
    def reporter(record):
        held = record.__dict__
        if key in held:
            return held[key]
        value = held[key] = compute(record)
        return value

    return reporter


def step(record) -> int:
    return int(record.step)


def time(record) -> float:
    return record.time


def potential_users(record) -> int:
    return _total(record.counts[POTENTIAL])


@_once
def active_users(record) -> int:
    return _total(record.counts[ACTIVE])


def churned_users(record) -> int:
    return _total(record.counts[CHURNED])


def adoptions(record) -> int:
    return _total(record.tally.adoptions)


def organic_adoptions(record) -> int:
    return int(record.tally.organic_adoptions)


def spontaneous_adoptions(record) -> int:
    return int(record.tally.spontaneous_adoptions)


def churns(record) -> int:
    return _total(record.tally.churns)


def rejoins(record) -> int:
    return _total(record.tally.rejoins)


def interactions(record) -> int:
    return _total(record.tally.interactions)


def signals(record) -> int:
    return _total(record.pipeline.signals)


def wrong_signals(record) -> int:
    return _total(record.pipeline.wrong_signals)


def kept_signals(record) -> int:
    return _total(record.pipeline.kept)


def new_examples(record) -> int:
    return _total(record.pipeline.new_examples)


def _over_firms(record, values) -> float:
    """A per-firm total added up over firms, in firm order."""
    total = 0.0  # sum_in_order over the firms' values, without the list and array
    for firm in record.firms:
        total += float(values(firm))
    return total


@_once
def training_examples(record) -> float:
    """Training examples every firm holds, summed over firms and groups."""
    return _over_firms(record, lambda firm: sum_in_order(firm.examples))


def collected_examples(record) -> float:
    """Filtered signals the firms hold, whether or not they train on them."""
    return _over_firms(record, lambda firm: sum_in_order(firm.collected))


def noise_share(record) -> float:
    total = training_examples(record)
    wrong = _over_firms(record, lambda firm: sum_in_order(firm.wrong_examples))
    return wrong / total if total > 0 else 0.0


def model_version(record) -> int:
    """Models deployed so far (by every firm)."""
    return int(sum(firm.model_version for firm in record.firms))


@_once
def _firm_quality(record) -> np.ndarray:
    """Every firm's deployed quality, shape (firms, groups) (read-only: shared by the
    reporters of one record)."""
    return np.stack([firm.quality for firm in record.firms])


def _best_on_offer(record) -> np.ndarray:
    """Per group, the firm whose product on offer is best (firm 0 if none is on offer)."""
    quality = _firm_quality(record)
    offered = record.on_offer if record.on_offer is not None else np.ones(len(quality), bool)
    masked = np.where(offered[:, None], quality, -np.inf)
    return np.argmax(masked, axis=0)


def _weighted_mean(values: list[float], weights: list[float]) -> float:
    """``sum_in_order(values * weights) / sum_in_order(weights)``, in plain floats: each
    product and each sum in the same order, so the same bits."""
    numerator = denominator = 0.0
    for value, weight in zip(values, weights, strict=True):
        numerator += value * weight
    for weight in weights:
        denominator += weight
    return numerator / denominator


@_once
def quality(record) -> float:
    """Mean deployed quality experienced by active users, over firms and groups (with no
    active user, the best product on offer per group, weighted by group size)."""
    counts = record.firm_counts.ravel().tolist()
    if any(counts):
        # Left to right over firms then groups, in plain floats: the same values as the
        # arrays in the branch below (a step's fixed cost).
        qualities = [q for firm in record.firms for q in firm.quality.tolist()]
        return _weighted_mean(qualities, [float(count) for count in counts])
    weights = record.firm_counts.astype(float)
    if weights.sum() == 0:
        weights = np.zeros_like(weights)
        groups = np.arange(weights.shape[1])
        weights[_best_on_offer(record), groups] = record.counts.sum(axis=0)
    values = _firm_quality(record) * weights
    return sum_in_order(values.ravel()) / sum_in_order(weights.ravel())


def baseline_quality(record) -> float:
    return float(record.reference_quality)


def moat(record) -> float:
    """Quality advantage over what users can get elsewhere: ``Q - Q_ref``."""
    return quality(record) - baseline_quality(record)


@_once
def _group_qualities(record) -> list[float]:
    """Quality each group experiences: its active users' products' quality (the best on
    offer if none is active); with one firm, that firm's quality.

    In plain floats with the operations and order of the array formula
    (:func:`_group_qualities_arrays`: NumPy adds the firms' rows one after another), so
    the same bits; NaN qualities and eight or more firms take the array formula.
    """
    if len(record.firms) == 1:
        return record.firm.quality.tolist()
    quality, offered, nan = _quality_table(record)
    if len(quality) >= 8 or nan:
        return _group_qualities_arrays(record).tolist()
    counts = record.firm_counts.tolist()
    values = []
    for g in range(len(quality[0])):
        total = sum(row[g] for row in counts)  # users: exact in any order
        if total > 0:
            weighted = quality[0][g] * float(counts[0][g])
            for j in range(1, len(quality)):
                weighted = weighted + quality[j][g] * float(counts[j][g])
            values.append(weighted / float(total))
            continue
        best, best_value = 0, quality[0][g] if offered[0] else -np.inf  # argmax: first
        for j in range(1, len(quality)):
            value = quality[j][g] if offered[j] else -np.inf
            if value > best_value:
                best, best_value = j, value
        values.append(quality[best][g])
    return values


def _group_qualities_arrays(record) -> np.ndarray:
    """:func:`_group_qualities` of several firms as the array formula writes it."""
    quality = _firm_quality(record)
    counts = record.firm_counts.astype(float)
    total = counts.sum(axis=0)
    best = quality[_best_on_offer(record), np.arange(quality.shape[1])]
    return np.divide((quality * counts).sum(axis=0), total, out=best.copy(), where=total > 0)


def quality_gap(record) -> float:
    """Best group's quality minus worst group's (0 with one group)."""
    values = _group_qualities(record)
    if values and all(value == value for value in values):  # no NaN: max and min are exact
        return float(max(values) - min(values))  # (NumPy's reductions cost ~2 us here)
    q = np.asarray(values, dtype=float)
    return float(q.max() - q.min())


def group_active_users(record, group: int) -> int:
    return int(record.counts[ACTIVE, group])


def group_quality(record, group: int) -> float:
    return float(_group_qualities(record)[group])


def group_share(record, group: int) -> float:
    """The group's share of active users (0 when nobody is active)."""
    total = active_users(record)
    return int(record.counts[ACTIVE, group]) / total if total else 0.0


def group_training_examples(record, group: int) -> float:
    return _over_firms(record, lambda firm: float(firm.examples[group]))


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
    return _total(record.firm.synthetic)


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


# -- a market of firms: one column per firm (scenarios with ``firms:``) ------------------------


@_once
def _firm_active_totals(record) -> list[int]:
    """Active users per firm, as Python ints (shared by the per-firm columns)."""
    return [sum(row) for row in record.firm_counts.tolist()]


def firm_active_users(record, firm: int) -> int:
    return _firm_active_totals(record)[firm]


def firm_market_share(record, firm: int) -> float:
    """The firm's share of the firms' active users (0 when nobody uses any product)."""
    totals = _firm_active_totals(record)
    total = sum(totals)
    return totals[firm] / total if total else 0.0


def _weights(record, firm: int) -> list[float]:
    """The firm's active users per group as floats (the group sizes if it has none)."""
    weights = [float(count) for count in record.firm_counts[firm].tolist()]
    if sum(weights) == 0:  # counts: exact in any order
        weights = [float(count) for count in record.counts.sum(axis=0).tolist()]
    return weights


def firm_quality(record, firm: int) -> float:
    """The firm's deployed quality, weighted by its active users' groups (by group size if
    it has none)."""
    return _weighted_mean(record.firms[firm].quality.tolist(), _weights(record, firm))


@_once
def _quality_table(record) -> tuple[list[list[float]], list[bool], bool]:
    """Every firm's quality per group and whether it is on offer, as Python values, and
    whether any quality is NaN (then the array formulas: NaN propagates through NumPy's
    ``max``, not Python's)."""
    quality = _firm_quality(record).tolist()
    offered = [True] * len(quality) if record.on_offer is None else record.on_offer.tolist()
    return quality, offered, any(value != value for row in quality for value in row)


def firm_moat(record, firm: int) -> float:
    """The firm's quality lead over the best alternative its users could pick, per group:
    ``Q_fg - max(Q_ref, best rival on offer for g)``, weighted like :func:`firm_quality`."""
    quality, offered, nan = _quality_table(record)
    if nan:
        return _firm_moat_arrays(record, firm)
    reference = float(record.reference_quality)
    lead = []
    for g, own in enumerate(quality[firm]):  # max is exact in any order
        rivals = [row[g] for j, row in enumerate(quality) if j != firm and offered[j]]
        best = max(rivals) if rivals else -np.inf
        alternative = best if best > reference else reference
        lead.append(own - alternative)
    return _weighted_mean(lead, _weights(record, firm))


def _firm_moat_arrays(record, firm: int) -> float:
    """:func:`firm_moat` with NumPy's arrays (NaN propagates through ``max``)."""
    quality = _firm_quality(record)
    offered = record.on_offer if record.on_offer is not None else np.ones(len(quality), bool)
    rivals = np.where(offered[:, None], quality, -np.inf)
    rivals[firm] = -np.inf
    alternative = np.maximum(rivals.max(axis=0), record.reference_quality)
    weights = record.firm_counts[firm].astype(float)
    if weights.sum() == 0:
        weights = record.counts.sum(axis=0).astype(float)
    lead = (quality[firm] - alternative) * weights
    return sum_in_order(lead) / sum_in_order(weights)


def firm_training_examples(record, firm: int) -> float:
    return sum_in_order(record.firms[firm].examples)


def firm_model_version(record, firm: int) -> int:
    return int(record.firms[firm].model_version)


def firm_group_active_users(record, firm: int, group: int) -> int:
    return int(record.firm_counts[firm, group])


def firm_group_quality(record, firm: int, group: int) -> float:
    return float(record.firms[firm].quality[group])


def firm_group_risk(record, firm: int, group: int) -> float:
    return float(record.firms[firm].risk[group])


def hhi(record) -> float:
    """Herfindahl-Hirschman index of the firms' shares of active users, in [1/firms, 1]
    (0 when nobody uses any product)."""
    totals = _firm_active_totals(record)
    total = float(sum(totals))
    if total == 0:
        return 0.0
    index = 0.0  # sum_in_order of the squared shares, in plain floats
    for count in totals:
        share = count / total
        index += share * share
    return index


def switches(record) -> int:
    """Active users who switched to another firm's product this step."""
    return int(record.tally.switches)


# -- cold-start tactics (data sources) and economics ----------------------------------------


def source_examples(record, source: str) -> float:
    """Training examples from ``source`` held, over firms and groups."""
    return _over_firms(record, lambda firm: sum_in_order(firm.sources[source][0]))


def source_age(record, source: str) -> float:
    """Mean age (steps) of the training examples from ``source`` held (empty if none)."""
    held = source_examples(record, source)
    if held <= 0:
        return float("nan")
    weighted = _over_firms(
        record,
        lambda firm: sum_in_order(np.nan_to_num(firm.sources[source][2]) * firm.sources[source][0]),
    )
    return weighted / held


def revenue(record) -> float:
    return _over_firms(record, lambda firm: firm.revenue)


def costs(record) -> float:
    return _over_firms(record, lambda firm: firm.cost)


def profit(record) -> float:
    return revenue(record) - costs(record)


def cumulative_profit(record) -> float:
    return _over_firms(record, lambda firm: firm.cumulative_profit)


def free_users(record) -> int:
    return int(sum(firm.free_users for firm in record.firms))


def firm_cumulative_profit(record, firm: int) -> float:
    return float(record.firms[firm].cumulative_profit)


def firm_profit(record, firm: int) -> float:
    return float(record.firms[firm].revenue - record.firms[firm].cost)


FIRM_REPORTERS = {
    "active_users": firm_active_users,
    "market_share": firm_market_share,
    "quality": firm_quality,
    "moat": firm_moat,
    "training_examples": firm_training_examples,
    "model_version": firm_model_version,
}


def preference_pairs(record) -> float:
    """Preference learner: training pairs held (aged), summed over the firms that have them."""
    return sum_in_order([sum_in_order(firm.pairs) for firm in record.firms
                         if firm.pairs is not None])  # fmt: skip


def test_count(record, part: str) -> int:
    """A/B tests: a count over firms (tests decided, promoted, shipped worse, rejected
    better; ``testing``: firms with a test running)."""
    return int(sum(int(getattr(firm, part)) for firm in record.firms))


def signal_count(record, name: str, wrong: bool = False, firm: int | None = None) -> int:
    """``data.signals``: the signals called ``name`` emitted this step (or the wrongly
    labelled ones), over firms (or of firm ``firm``) and groups; a firm without
    ``data.signals`` has one, ``thumbs``."""
    total = 0
    pipelines = record.firm_pipelines or (record.pipeline,)
    for p in pipelines if firm is None else pipelines[firm : firm + 1]:
        if p.by_signal is None:
            own = p.wrong_signals if wrong else p.signals
            total += int(own.sum()) if name == "thumbs" else 0
            continue
        counts = p.wrong_by_signal if wrong else p.by_signal
        total += int(counts[name].sum()) if name in counts else 0
    return total


def collected_signals(scenario) -> list[str] | None:
    """The signal names of the per-signal columns: every firm's ``data.signals``, in order
    (None when no firm sets ``data.signals``: no per-signal columns)."""
    from ..scenario.signals import signal_names

    per_firm = [scenario.firm_sections(j)["data"].signals for j in range(len(scenario.firm_names))]
    if not any(per_firm):
        return None
    names: list[str] = []
    for signals in per_firm:
        names += [name for name in signal_names(signals) if name not in names]
    return names


def canary_share(record) -> float:
    """Canary: the share of the users served a candidate being rolled out (the largest
    over firms; 0 with no rollout in force)."""
    return max(firm.canary_pct for firm in record.firms) / 100


def model_reporters(
    group_names: list[str],
    estimator: bool = False,
    firms: list[str] | None = None,
    sources: bool = False,
    economics: bool = False,
    ab_test: bool = False,
    preference: bool = False,
    signals: list[str] | None = None,
    canary: bool = False,
) -> dict[str, Any]:
    """Reporters of the step record: the core columns, then ``<metric>[<group>]`` per group.

    Runs with an estimator learner add ``ESTIMATOR_REPORTERS`` and ``risk[<group>]``
    (curve runs keep exactly the columns they always had). A market of ``firms`` adds
    ``hhi``, ``switches``, ``<metric>[<firm>]`` per firm, and ``active_users[<firm>/<group>]``
    and ``quality[<firm>/<group>]`` per firm and group (and ``risk[<firm>/<group>]`` with
    estimators). A firm with the preference learner adds ``preference_pairs``.
    ``signals`` (``data.signals`` set): ``signals[<signal>]`` and
    ``wrong_signals[<signal>]`` per signal name, and in a market ``signals[<firm>/<signal>]``.
    """
    reporters: dict[str, Any] = dict(CORE_REPORTERS)
    group_reporters = dict(GROUP_REPORTERS)
    if estimator:
        reporters.update(ESTIMATOR_REPORTERS)
        group_reporters["risk"] = group_risk
    for metric, reporter in group_reporters.items():
        for index, name in enumerate(group_names):
            reporters[f"{metric}[{name}]"] = partial(reporter, group=index)
    if sources:  # cold-start tactics in use: the training data by source
        from ..firm.sources import SOURCES

        for source in SOURCES:
            reporters[f"training_examples[{source}]"] = partial(source_examples, source=source)
        for source in SOURCES:
            reporters[f"data_age[{source}]"] = partial(source_age, source=source)
    if economics:
        for name in ("revenue", "costs", "profit", "cumulative_profit", "free_users"):
            reporters[name] = globals()[name]
    if ab_test:  # reinvestment.deployment.policy ab_test: the tests' decisions so far
        for name, part in (("ab_tests", "tests"), ("ab_promoted", "promoted"),
                           ("ab_shipped_worse", "shipped_worse"),
                           ("ab_rejected_better", "rejected_better"),
                           ("ab_testing", "testing")):  # fmt: skip
            reporters[name] = partial(test_count, part=part)
    if preference:
        reporters["preference_pairs"] = preference_pairs
    for name in signals or ():  # data.signals: the signals emitted, and the wrong ones
        reporters[f"signals[{name}]"] = partial(signal_count, name=name)
    for name in signals or ():
        reporters[f"wrong_signals[{name}]"] = partial(signal_count, name=name, wrong=True)
    if canary:  # reinvestment.deployment.policy canary: rollouts, rollbacks, share in force
        reporters["canary_rollouts"] = partial(test_count, part="rollouts")
        reporters["canary_rollbacks"] = partial(test_count, part="rollbacks")
        reporters["canary_share"] = canary_share
    if not firms:
        return reporters
    reporters["hhi"] = hhi
    reporters["switches"] = switches
    firm_reporters = dict(FIRM_REPORTERS)
    if economics:
        firm_reporters["profit"] = firm_profit
        firm_reporters["cumulative_profit"] = firm_cumulative_profit
    for metric, reporter in firm_reporters.items():
        for index, name in enumerate(firms):
            reporters[f"{metric}[{name}]"] = partial(reporter, firm=index)
    for f, firm in enumerate(firms):  # data.signals: each firm's signals
        for name in signals or ():
            reporters[f"signals[{firm}/{name}]"] = partial(signal_count, name=name, firm=f)
    for f, firm in enumerate(firms):
        for g, group in enumerate(group_names):
            reporters[f"active_users[{firm}/{group}]"] = partial(
                firm_group_active_users, firm=f, group=g
            )
            reporters[f"quality[{firm}/{group}]"] = partial(firm_group_quality, firm=f, group=g)
            if estimator:
                reporters[f"risk[{firm}/{group}]"] = partial(firm_group_risk, firm=f, group=g)
    return reporters
