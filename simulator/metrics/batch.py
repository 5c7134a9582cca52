"""The core and per-group columns of a run of one firm, computed for many steps at once.

The data collector keeps each step's read-only record (:class:`~..engines.step.StepRecord`)
and computes these columns when the table is read (or every :data:`FLUSH_EVERY` steps),
over the records' fields stacked into arrays, instead of calling a reporter per column
per step: some 25 us of a step's fixed cost at 10^4 users (measured), about a tenth of
the step.

Each column gives the values of its reporter in :mod:`.reporters` (the definitions),
bit for bit: sums over groups are added in the reporters' order (left to right, from
0.0), divisions and the maximum and minimum are the same IEEE operations on the same
values, and a record the array form does not cover (nobody active, a NaN quality,
counts that are not integers) is handed to the reporter itself.
``tests/test_batch_columns.py`` compares the two on runs of every kind of scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, partial

import numpy as np

from ..mechanisms.states import ACTIVE, CHURNED, POTENTIAL
from . import reporters

FLUSH_EVERY = 256
"""Records kept at most before their columns are computed (a few kB each)."""


class Batch:
    """Step records of a run of one firm, their fields stacked on first use (one row per
    record)."""

    def __init__(self, records: list) -> None:
        self.records = records
        self._memo: dict[str, object] = {}

    def memo(self, key: str, compute: Callable[[], object]):
        """``compute()``, once per batch (a value two columns read)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def _stack(self, field: Callable) -> np.ndarray:
        return np.array([field(record) for record in self.records])

    @cached_property
    def counts(self) -> np.ndarray:
        """Users per state and group, shape (records, 3, groups)."""
        return self._stack(lambda record: record.counts)

    @cached_property
    def active(self) -> np.ndarray:
        """Active users per group, shape (records, groups)."""
        return self.counts[:, ACTIVE]

    @cached_property
    def firm_active(self) -> np.ndarray:
        """The firm's active users per group (the quality's weights), (records, groups)."""
        return self._stack(lambda record: record.firm_counts[0])

    @cached_property
    def quality(self) -> np.ndarray:
        """The firm's deployed quality per group, shape (records, groups)."""
        return self.firm_values("quality")

    def firm_totals(self, name: str) -> np.ndarray:
        """:func:`reporters._over_firms` of ``sum_in_order`` of the firm's ``name`` array:
        ``0.0 + (0.0 + v_0 + v_1 + ...)``, in that order."""
        return self.memo(f"totals {name}", lambda: _totals(self.firm_values(name)))

    def firm_values(self, name: str) -> np.ndarray:
        """The firm's ``name`` array per group, as floats, shape (records, groups)."""
        return self.memo(
            f"values {name}",
            lambda: self._stack(lambda record: getattr(record.firms[0], name)).astype(
                float, copy=False
            ),
        )

    def each(self, reporter: Callable, rows: np.ndarray) -> list:
        """``reporter`` of the records at ``rows`` (those the array form does not cover)."""
        return [reporter(self.records[row]) for row in np.flatnonzero(rows).tolist()]


def _totals(values: np.ndarray) -> np.ndarray:
    total = np.zeros(len(values))
    for g in range(values.shape[1]):
        total = total + values[:, g]
    return 0.0 + total


def _integer_total(part: Callable[[object], np.ndarray], reporter: Callable) -> Callable:
    """A column that sums a per-group count array over groups (exact in any order)."""

    def column(batch: Batch) -> list:
        values = batch._stack(part)
        if values.dtype.kind not in "iu" or values.ndim != 2:  # the reporter's int(sum())
            return [reporter(record) for record in batch.records]
        return values.sum(axis=1).tolist()

    return column


def _state_total(state: int) -> Callable:
    def column(batch: Batch) -> list:
        counts = batch.counts
        if counts.dtype.kind not in "iu":
            return [int(record.counts[state].sum()) for record in batch.records]
        return counts[:, state].sum(axis=1).tolist()

    return column


def _field(name: str, kind: type) -> Callable:
    return lambda batch: [kind(getattr(record, name)) for record in batch.records]


def _tally(name: str) -> Callable:
    return _integer_total(lambda record: getattr(record.tally, name), getattr(reporters, name))


def _pipeline(name: str, reporter: Callable) -> Callable:
    return _integer_total(lambda record: getattr(record.pipeline, name), reporter)


def organic_adoptions(batch: Batch) -> list:
    return [int(record.tally.organic_adoptions) for record in batch.records]


def adoptions(batch: Batch) -> list:
    return batch.memo("adoptions", lambda: _tally("adoptions")(batch))


def spontaneous_adoptions(batch: Batch) -> list:
    pairs = zip(adoptions(batch), organic_adoptions(batch), strict=True)
    return [total - organic for total, organic in pairs]


def training_examples(batch: Batch) -> list:
    return batch.firm_totals("examples").tolist()


def collected_examples(batch: Batch) -> list:
    return batch.firm_totals("collected").tolist()


def noise_share(batch: Batch) -> list:
    total, wrong = batch.firm_totals("examples"), batch.firm_totals("wrong_examples")
    share = np.zeros(len(total))
    np.divide(wrong, total, out=share, where=total > 0)
    return share.tolist()


def model_version(batch: Batch) -> list:
    return [int(record.firms[0].model_version) for record in batch.records]


def _quality_values(batch: Batch) -> np.ndarray:
    return batch.memo("quality", lambda: _weighted_quality(batch))


def _weighted_quality(batch: Batch) -> np.ndarray:
    """:func:`reporters.quality`: the mean quality over groups weighted by active users,
    ``sum(q_g w_g) / sum(w_g)`` added left to right from 0.0; rows with nobody active
    (the reporter's other branch) by the reporter."""
    quality, weights = batch.quality, batch.firm_active.astype(float)
    numerator = np.zeros(len(quality))
    denominator = np.zeros(len(quality))
    for g in range(quality.shape[1]):
        numerator = numerator + quality[:, g] * weights[:, g]
    for g in range(quality.shape[1]):
        denominator = denominator + weights[:, g]
    nobody = denominator == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        values = numerator / denominator
    if nobody.any():
        values[nobody] = batch.each(reporters.quality, nobody)
    return values


def quality(batch: Batch) -> list:
    return _quality_values(batch).tolist()


def _reference(batch: Batch) -> np.ndarray:
    return np.array([float(record.reference_quality) for record in batch.records])


def baseline_quality(batch: Batch) -> list:
    return _reference(batch).tolist()


def moat(batch: Batch) -> list:
    return (_quality_values(batch) - _reference(batch)).tolist()


def quality_gap(batch: Batch) -> list:
    """Best group's quality minus worst's, as Python's ``max`` and ``min`` pick them (the
    first of equal values); rows with a NaN by the reporter (NumPy's reductions)."""
    values = batch.quality
    best, worst = values[:, 0], values[:, 0]
    for g in range(1, values.shape[1]):
        best = np.where(values[:, g] > best, values[:, g], best)
        worst = np.where(values[:, g] < worst, values[:, g], worst)
    gap = best - worst
    nan = np.isnan(values).any(axis=1)
    if nan.any():
        gap[nan] = batch.each(reporters.quality_gap, nan)
    return gap.tolist()


def group_active_users(batch: Batch, group: int) -> list:
    return batch.active[:, group].tolist()


def group_quality(batch: Batch, group: int) -> list:
    return batch.quality[:, group].tolist()


def group_share(batch: Batch, group: int) -> list:
    """The group's active users over all active users (0 when nobody is): integers below
    2^53, so their division as floats is the reporter's int / int."""
    active = batch.active
    total = active.sum(axis=1)
    share = np.zeros(len(total))
    np.divide(active[:, group].astype(float), total.astype(float), out=share, where=total > 0)
    return share.tolist()


def group_training_examples(batch: Batch, group: int) -> list:
    return (0.0 + batch.firm_values("examples")[:, group]).tolist()


CORE_COLUMNS: dict[str, Callable[[Batch], list]] = {
    "step": _field("step", int),
    "time": lambda batch: [record.time for record in batch.records],
    "potential_users": _state_total(POTENTIAL),
    "active_users": _state_total(ACTIVE),
    "churned_users": _state_total(CHURNED),
    "adoptions": adoptions,
    "organic_adoptions": organic_adoptions,
    "spontaneous_adoptions": spontaneous_adoptions,
    "churns": _tally("churns"),
    "rejoins": _tally("rejoins"),
    "interactions": _tally("interactions"),
    "signals": _pipeline("signals", reporters.signals),
    "wrong_signals": _pipeline("wrong_signals", reporters.wrong_signals),
    "kept_signals": _pipeline("kept", reporters.kept_signals),
    "new_examples": _pipeline("new_examples", reporters.new_examples),
    "training_examples": training_examples,
    "collected_examples": collected_examples,
    "noise_share": noise_share,
    "model_version": model_version,
    "quality": quality,
    "baseline_quality": baseline_quality,
    "moat": moat,
    "quality_gap": quality_gap,
}
"""The array form of every column of :data:`reporters.CORE_REPORTERS`."""

GROUP_COLUMNS = {
    "active_users": group_active_users,
    "quality": group_quality,
    "share": group_share,
    "training_examples": group_training_examples,
}
"""The array form of :data:`reporters.GROUP_REPORTERS`."""


def batch_columns(group_names: list[str]) -> dict[str, Callable[[Batch], list]]:
    """The columns of a run of one firm that the collector computes in batches, by name
    (the names :func:`reporters.model_reporters` gives them)."""
    columns = dict(CORE_COLUMNS)
    for metric, column in GROUP_COLUMNS.items():
        for index, name in enumerate(group_names):
            columns[f"{metric}[{name}]"] = partial(column, group=index)
    return columns
