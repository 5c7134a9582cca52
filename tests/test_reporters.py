"""The timeseries reporters computed in plain Python floats give the array formulas' bits.

The reporters add short per-group vectors left to right (``numerics.sum_in_order``); the
quality column and the integer totals take a shortcut around NumPy's reductions (a step's
fixed cost). These tests check the shortcut against the array formulas, bit for bit, on
random records: one firm, several firms, nobody active.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from simulator.metrics import reporters
from simulator.numerics import sum_in_order


def array_quality(record) -> float:
    """The quality column as the array formula writes it (weights, products, two sums)."""
    weights = record.firm_counts.astype(float)
    if weights.sum() == 0:
        weights = np.zeros_like(weights)
        groups = np.arange(weights.shape[1])
        weights[reporters._best_on_offer(record), groups] = record.counts.sum(axis=0)
    values = reporters._firm_quality(record) * weights
    return sum_in_order(values.ravel()) / sum_in_order(weights.ravel())


def random_record(rng: np.random.Generator, firms: int, groups: int, active: bool):
    counts = rng.integers(0, 10**6, size=(3, groups))
    firm_counts = rng.integers(0, 10**6, size=(firms, groups)) if active else None
    if not active:
        firm_counts = np.zeros((firms, groups), dtype=np.int64)
    records = tuple(
        SimpleNamespace(
            quality=rng.random(groups), examples=rng.random(groups) * 1e5,
            wrong_examples=rng.random(groups) * 1e3, collected=rng.random(groups) * 2e5,
        )
        for _ in range(firms)
    )  # fmt: skip
    return SimpleNamespace(
        counts=counts, firm_counts=firm_counts, firms=records, firm=records[0],
        on_offer=np.ones(firms, dtype=bool), reference_quality=float(rng.random()),
        tally=SimpleNamespace(adoptions=rng.integers(0, 10**9, size=groups)),
    )  # fmt: skip


@pytest.mark.parametrize(("firms", "groups"), [(1, 1), (1, 2), (1, 5), (3, 2), (4, 3)])
@pytest.mark.parametrize("active", [True, False])
def test_quality_and_totals_match_the_array_formulas(firms, groups, active):
    rng = np.random.default_rng(1000 * firms + groups)
    for _ in range(200):
        record = random_record(rng, firms, groups, active)
        quality = reporters.quality(record)
        assert type(quality) is float
        assert quality.hex() == float(array_quality(record)).hex()
        assert reporters.moat(record) == quality - record.reference_quality
        total = reporters.adoptions(record)
        assert type(total) is int and total == int(record.tally.adoptions.sum())
        assert reporters.active_users(record) == int(record.counts[1].sum())
        expected = sum_in_order([sum_in_order(firm.examples) for firm in record.firms])
        assert reporters.training_examples(record).hex() == float(expected).hex()
        wrong = sum_in_order([sum_in_order(firm.wrong_examples) for firm in record.firms])
        assert reporters.noise_share(record) == wrong / expected
        for g in range(groups):
            by_group = sum_in_order([float(firm.examples[g]) for firm in record.firms])
            assert reporters.group_training_examples(record, g) == by_group


def test_integer_totals_of_other_dtypes_are_numpy_sums():
    """A total over a float array (not counts) is ``int(values.sum())``, as before."""
    record = SimpleNamespace(tally=SimpleNamespace(adoptions=np.array([1.5, 2.75, 0.5])))
    assert reporters.adoptions(record) == int(np.array([1.5, 2.75, 0.5]).sum()) == 4


def array_firm_quality(record, firm: int) -> float:
    weights = record.firm_counts[firm].astype(float)
    if weights.sum() == 0:
        weights = record.counts.sum(axis=0).astype(float)
    return sum_in_order(record.firms[firm].quality * weights) / sum_in_order(weights)


def array_hhi(record) -> float:
    total = float(record.firm_counts.sum())
    if total == 0:
        return 0.0
    shares = record.firm_counts.sum(axis=1) / total
    return float(sum_in_order(shares * shares))


@pytest.mark.parametrize(("firms", "groups"), [(1, 1), (2, 2), (3, 2), (4, 3)])
@pytest.mark.parametrize("active", [True, False])
def test_per_firm_columns_match_the_array_formulas(firms, groups, active):
    """The market's per-firm columns (quality, moat, shares, HHI) in plain floats give the
    array formulas' bits: with some firms off offer, some with no users, and a rival's
    quality equal to the outside option's (max's ties)."""
    rng = np.random.default_rng(7000 + 100 * firms + groups)
    for _ in range(200):
        record = random_record(rng, firms, groups, active)
        record.on_offer = rng.random(firms) < 0.7
        if active and firms > 1:
            record.firm_counts[rng.integers(firms)] = 0  # a firm nobody uses
        if rng.random() < 0.3:  # a rival exactly as good as the outside option
            record.firms[-1].quality[0] = record.reference_quality
        totals = record.firm_counts.sum()
        for f in range(firms):
            assert reporters.firm_quality(record, f).hex() == array_firm_quality(record, f).hex()
            expected = reporters._firm_moat_arrays(record, f)
            assert reporters.firm_moat(record, f).hex() == float(expected).hex()
            assert reporters.firm_active_users(record, f) == int(record.firm_counts[f].sum())
            share = int(record.firm_counts[f].sum()) / int(totals) if totals else 0.0
            assert reporters.firm_market_share(record, f) == share
        assert reporters.hhi(record).hex() == array_hhi(record).hex()


def test_firm_moat_with_a_nan_quality_is_numpy_s():
    """A NaN quality (not a valid model, but the column must not hide it) propagates as
    NumPy's max propagates it."""
    rng = np.random.default_rng(3)
    record = random_record(rng, 3, 2, True)
    record.firms[1].quality[0] = np.nan
    for f in range(3):
        value, expected = reporters.firm_moat(record, f), reporters._firm_moat_arrays(record, f)
        assert np.isnan(value) and np.isnan(expected)


@pytest.mark.parametrize(("firms", "groups"), [(2, 1), (3, 2), (4, 3), (7, 2), (9, 2)])
@pytest.mark.parametrize("active", [True, False])
def test_group_qualities_of_a_market_match_the_array_formula(firms, groups, active):
    """Each group's experienced quality in a market, in plain floats, gives the array
    formula's bits (NumPy adds the firms' rows in order: random weights would show another
    order in the last bits), with groups nobody is active in taking the best on offer."""
    rng = np.random.default_rng(9000 + 100 * firms + groups)
    for _ in range(300):
        record = random_record(rng, firms, groups, active)
        record.on_offer = rng.random(firms) < 0.7
        if active:
            record.firm_counts[:, rng.integers(groups)] = 0  # a group nobody is active in
        expected = reporters._group_qualities_arrays(record).tolist()
        values = reporters._group_qualities(record)
        assert [v.hex() for v in values] == [float(e).hex() for e in expected]
        for g in range(groups):
            assert reporters.group_quality(record, g).hex() == float(expected[g]).hex()
        gap = max(expected) - min(expected)
        assert reporters.quality_gap(record).hex() == float(gap).hex()
