"""The core and per-group columns of a run of one firm, computed for many steps at once.

At each step the data collector reads the numbers these columns need off the step's
read-only record (:class:`~..engines.step.StepRecord`) into two flat lists
(:func:`fields_of`), and computes the columns when the table is read (or every
:data:`FLUSH_EVERY` steps), as arrays over the steps, instead of calling a reporter per
column per step. At 10^4 users that is ~11 us a step (the lists ~3 us, the columns the
rest) against ~20-25 us for the 31 reporter calls (measured in a run, the table read
included).

Each column gives the values of its reporter in :mod:`.reporters` (the definitions),
bit for bit: sums over groups are added in the reporters' order (left to right, from
0.0), divisions and the maximum and minimum are the same IEEE operations on the same
values, and a record the array form does not cover (nobody active, a NaN quality,
counts that are not integers) is handed to the reporter itself.
``tests/test_batch_columns.py`` compares the two on runs of every kind of scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from ..mechanisms.states import ACTIVE, CHURNED, POTENTIAL
from . import reporters

FLUSH_EVERY = 256
"""Steps kept at most before their columns are computed."""


INTEGER_FIELDS = (
    ("step", 0), ("organic", 0), ("model_version", 0), ("counts", 3), ("adoptions", 1),
    ("churns", 1), ("rejoins", 1), ("interactions", 1), ("signals", 1), ("wrong_signals", 1),
    ("kept", 1), ("new_examples", 1), ("firm_counts", 1),
)  # fmt: skip
"""The integer fields a step's row holds, in :func:`fields_of`'s order, with their rows of
groups (0: one number)."""

FLOAT_FIELDS = (
    ("time", 0), ("reference_quality", 0), ("quality", 1), ("examples", 1), ("collected", 1),
    ("wrong_examples", 1),
)  # fmt: skip


def fields_of(record) -> tuple[list, list]:
    """What the batched columns read off a step record, as two flat lists of Python numbers
    (:data:`INTEGER_FIELDS`, :data:`FLOAT_FIELDS`): read as the step ends, while the record
    is in the cache, and kept without its arrays (a few hundred small arrays stacked when
    the columns are computed cost more than the columns)."""
    tally, pipeline, firm = record.tally, record.pipeline, record.firms[0]
    integers = [
        record.step, tally.organic_adoptions, firm.model_version,
        *record.counts.ravel().tolist(), *tally.adoptions.tolist(), *tally.churns.tolist(),
        *tally.rejoins.tolist(), *tally.interactions.tolist(), *pipeline.signals.tolist(),
        *pipeline.wrong_signals.tolist(), *pipeline.kept.tolist(),
        *pipeline.new_examples.tolist(), *record.firm_counts[0].tolist(),
    ]  # fmt: skip
    floats = [
        record.time, record.reference_quality, *firm.quality.tolist(),
        *firm.examples.tolist(), *firm.collected.tolist(), *firm.wrong_examples.tolist(),
    ]  # fmt: skip
    return integers, floats


class Batch:
    """Steps of a run of one firm: their fields (:func:`fields_of`) as two arrays, one row
    per step, and the records themselves (for the rows the array form does not cover)."""

    def __init__(self, rows: list[tuple[list, list]], records: list) -> None:
        self.records = records
        groups = len(records[0].firms[0].quality)
        integers, floats = zip(*rows, strict=True)
        self._fields: dict[str, np.ndarray] = {}
        for table, fields in ((np.array(integers), INTEGER_FIELDS),
                              (np.array(floats, dtype=float), FLOAT_FIELDS)):  # fmt: skip
            at = 0
            for name, rows_of_groups in fields:
                width = rows_of_groups * groups or 1
                values = table[:, at : at + width]
                at += width
                if rows_of_groups == 0:
                    values = values[:, 0]
                elif rows_of_groups > 1:
                    values = values.reshape(len(table), rows_of_groups, groups)
                self._fields[name] = values
        self._memo: dict[str, object] = {}

    @classmethod
    def of(cls, records: list) -> Batch:
        """The batch of ``records`` (their fields read now)."""
        return cls([fields_of(record) for record in records], records)

    def memo(self, key: str, compute: Callable[[], object]):
        """``compute()``, once per batch (a value several columns read)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def stacked(self, name: str) -> np.ndarray:
        """Field ``name`` of every step, one row per step (integers as the records hold
        them: an integer array unless some count was not an integer)."""
        return self._fields[name]

    def raw(self, name: str) -> list:
        """Field ``name`` (one number a step) as Python numbers."""
        return self._fields[name].tolist()

    def floats(self, name: str) -> np.ndarray:
        return self.memo(f"{name} as floats", lambda: self.stacked(name).astype(float))

    @property
    def counts(self) -> np.ndarray:
        """Users per state and group, shape (steps, 3, groups)."""
        return self.stacked("counts")

    @property
    def active(self) -> np.ndarray:
        """Active users per group, shape (steps, groups)."""
        return self.counts[:, ACTIVE]

    @property
    def quality(self) -> np.ndarray:
        """The firm's deployed quality per group, shape (steps, groups)."""
        return self.floats("quality")

    def firm_totals(self, name: str) -> np.ndarray:
        """:func:`reporters._over_firms` of ``sum_in_order`` of the firm's ``name`` array:
        ``0.0 + (0.0 + v_0 + v_1 + ...)``, in that order."""
        return self.memo(f"{name} totals", lambda: _totals(self.floats(name)))

    def each(self, reporter: Callable, rows: np.ndarray) -> list:
        """``reporter`` of the records at ``rows`` (those the array form does not cover)."""
        return [reporter(self.records[row]) for row in np.flatnonzero(rows).tolist()]


def _totals(values: np.ndarray) -> np.ndarray:
    total = np.zeros(len(values))
    for g in range(values.shape[1]):
        total = total + values[:, g]
    return 0.0 + total


def _total(values_of: Callable[[Batch], np.ndarray], reporter: Callable) -> Callable:
    """A column that sums a count per group over the groups (exact in any order); if some
    count is not an integer, the reporter's values (its ``int(sum())``)."""

    def compute(batch: Batch) -> list:
        values = values_of(batch)
        if values.dtype.kind not in "iu":
            return [reporter(record) for record in batch.records]
        return values.sum(axis=1).tolist()

    return lambda batch: batch.memo(reporter.__name__, lambda: compute(batch))


def _count_total(name: str, reporter: Callable) -> Callable:
    return _total(lambda batch: batch.stacked(name), reporter)


def _state_total(state: int, reporter: Callable) -> Callable:
    return _total(lambda batch: batch.counts[:, state], reporter)


def _numbers(name: str, kind: type) -> Callable:
    """A column of one number a step, as ``kind`` (the reporter's ``int(...)``)."""
    return lambda batch: [kind(value) for value in batch.raw(name)]


def _share(part: np.ndarray, whole: np.ndarray) -> list:
    """``part / whole`` per step, 0.0 where ``whole`` is not positive (the reporters'
    ``part / whole if whole > 0 else 0.0``)."""
    share = np.zeros(len(whole))
    np.divide(part, whole, out=share, where=whole > 0)
    return share.tolist()


organic_adoptions = _numbers("organic", int)
adoptions = _count_total("adoptions", reporters.adoptions)


def spontaneous_adoptions(batch: Batch) -> list:
    pairs = zip(adoptions(batch), organic_adoptions(batch), strict=True)
    return [total - organic for total, organic in pairs]


def training_examples(batch: Batch) -> list:
    return batch.firm_totals("examples").tolist()


def collected_examples(batch: Batch) -> list:
    return batch.firm_totals("collected").tolist()


def noise_share(batch: Batch) -> list:
    return _share(batch.firm_totals("wrong_examples"), batch.firm_totals("examples"))


def _quality_values(batch: Batch) -> np.ndarray:
    return batch.memo("quality", lambda: _weighted_quality(batch))


def _weighted_quality(batch: Batch) -> np.ndarray:
    """:func:`reporters.quality`: the mean quality over groups weighted by active users,
    ``sum(q_g w_g) / sum(w_g)`` added left to right from 0.0; rows with nobody active
    (the reporter's other branch) by the reporter."""
    quality, weights = batch.quality, batch.floats("firm_counts")
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
    return batch.floats("reference_quality")


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
    """``int(counts[ACTIVE, group])`` of each step (Python ints, as the reporter's)."""
    return batch.active[:, group].astype(np.int64).tolist()


def group_quality(batch: Batch, group: int) -> list:
    return batch.quality[:, group].tolist()


def group_share(batch: Batch, group: int) -> list:
    """The group's active users over all active users (0 when nobody is): integers below
    2^53, so their division as floats is the reporter's int / int."""
    active = batch.active
    return _share(active[:, group].astype(float), active.sum(axis=1).astype(float))


def group_training_examples(batch: Batch, group: int) -> list:
    return (0.0 + batch.floats("examples")[:, group]).tolist()


CORE_COLUMNS: dict[str, Callable[[Batch], list]] = {
    "step": _numbers("step", int),
    "time": _numbers("time", float),
    "potential_users": _state_total(POTENTIAL, reporters.potential_users),
    "active_users": _state_total(ACTIVE, reporters.active_users),
    "churned_users": _state_total(CHURNED, reporters.churned_users),
    "adoptions": adoptions,
    "organic_adoptions": organic_adoptions,
    "spontaneous_adoptions": spontaneous_adoptions,
    "churns": _count_total("churns", reporters.churns),
    "rejoins": _count_total("rejoins", reporters.rejoins),
    "interactions": _count_total("interactions", reporters.interactions),
    "signals": _count_total("signals", reporters.signals),
    "wrong_signals": _count_total("wrong_signals", reporters.wrong_signals),
    "kept_signals": _count_total("kept", reporters.kept_signals),
    "new_examples": _count_total("new_examples", reporters.new_examples),
    "training_examples": training_examples,
    "collected_examples": collected_examples,
    "noise_share": noise_share,
    "model_version": _numbers("model_version", int),
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
