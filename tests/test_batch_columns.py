"""The collector's batched columns (simulator/metrics/batch.py) give the reporters' values.

A run of one firm computes its core and per-group columns over many steps at once; the
reporters in ``simulator/metrics/reporters.py`` are the definitions. These tests compare
the two bit for bit, with the same Python types, on the records of real runs (both
engines, an estimator learner, interventions, cold-start tactics, a run where everybody
churns) and on made-up records with the edge cases: nobody active, a NaN quality, signed
zeros, a quality tied across groups.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from simulator import load_scenario
from simulator.engines.step import StepTally
from simulator.metrics import batch as batched
from simulator.metrics.reporters import model_reporters
from simulator.model import FlywheelModel

SCENARIOS_DIR = Path(__file__).resolve().parents[1] / "scenarios"
SCENARIOS = [  # one firm each: every kind of run whose columns are batched
    ("baseline.yaml", {"engine": "array"}),
    ("baseline.yaml", {"engine": "agent"}),
    ("model_collapse.yaml", {}),  # an estimator learner, synthetic data
    ("cold_start_tactics.yaml", {}),
    ("bias_amplification.yaml", {}),
    ("gdpr_erasure.yaml", {}),
    ("privacy_incident.yaml", {}),
    ("free_tier.yaml", {}),
    ("canary.yaml", {}),
    ("federated_dp.yaml", {}),
]


def same(expected, got) -> bool:
    """Equal to the bit, and of the same type (NaN equal to NaN)."""
    if type(expected) is not type(got):
        return False
    if isinstance(expected, float):
        return expected.hex() == got.hex() or (math.isnan(expected) and math.isnan(got))
    return expected == got


def assert_columns_match(records, group_names) -> None:
    reporters = model_reporters(group_names)
    columns = batched.batch_columns(group_names)
    assert set(columns) <= set(reporters)
    batch = batched.Batch.of(list(records))
    for name, column in columns.items():
        expected = [reporters[name](record) for record in records]
        got = column(batch)
        bad = [k for k, (e, g) in enumerate(zip(expected, got, strict=True)) if not same(e, g)]
        assert not bad, f"{name}: step {bad[0]}: {expected[bad[0]]!r} != {got[bad[0]]!r}"


@pytest.mark.parametrize(("file", "overrides"), SCENARIOS)
def test_the_columns_of_real_runs(file, overrides):
    scenario = load_scenario(
        SCENARIOS_DIR / file, overrides={"population.size": 600, "steps": 60, **overrides}
    )
    model = FlywheelModel(scenario)
    records = [model.record]
    for _ in range(scenario.steps):
        model.step()
        records.append(model.record)
    assert_columns_match(records, model.group_names)
    table = model.datacollector.get_model_vars_dataframe()  # what the collector gave
    assert table["active_users"].tolist() == [int(r.counts[1].sum()) for r in records]


def test_a_run_whose_users_all_leave():
    """Nobody active at the end: the quality column's other branch (group sizes)."""
    scenario = load_scenario(
        SCENARIOS_DIR / "baseline.yaml",
        overrides={"population.size": 300, "steps": 80, "churn.base_rate": 0.9,
                   "adoption.innovation": 0.0, "adoption.imitation": 0.0},
    )  # fmt: skip
    model = FlywheelModel(scenario)
    records = [model.record]
    for _ in range(scenario.steps):
        model.step()
        records.append(model.record)
    assert int(records[-1].counts[1].sum()) == 0
    assert_columns_match(records, model.group_names)


def made_up_record(rng, groups: int, active: bool, quality=None):
    counts = rng.integers(0, 10**6, size=(3, groups))
    if not active:
        counts[1] = 0
    quality = rng.random(groups) if quality is None else np.asarray(quality, dtype=float)
    firm = SimpleNamespace(
        quality=quality, examples=rng.random(groups) * 1e5, model_version=int(rng.integers(9)),
        wrong_examples=rng.random(groups) * 1e3, collected=rng.random(groups) * 2e5,
    )  # fmt: skip
    integers = lambda: rng.integers(0, 10**9, size=groups)  # noqa: E731
    return SimpleNamespace(
        step=int(rng.integers(1000)), time=float(rng.random()), counts=counts,
        firm_counts=counts[1][None, :].copy(), firms=(firm,), firm=firm,
        on_offer=np.ones(1, dtype=bool), reference_quality=float(rng.random()),
        tally=StepTally(adoptions=integers(), churns=integers(), rejoins=integers(),
                        interactions=integers(), organic_adoptions=int(rng.integers(99))),
        pipeline=SimpleNamespace(signals=integers(), wrong_signals=integers(),
                                 kept=integers(), new_examples=integers()),
    )  # fmt: skip


def test_counts_that_are_not_integers_go_to_the_reporters():
    """A count array of floats (no scenario makes one) makes the integer table floats:
    the integer columns then come from the reporters, still ints."""
    rng = np.random.default_rng(7)
    records = [made_up_record(rng, 2, active=True) for _ in range(20)]
    for record in records[::3]:
        record.pipeline.kept = record.pipeline.kept.astype(float)
    assert_columns_match(records, ["a", "b"])


@pytest.mark.parametrize("groups", [1, 2, 5])
def test_made_up_records_with_edge_cases(groups):
    rng = np.random.default_rng(groups)
    names = [f"g{g}" for g in range(groups)]
    records = [made_up_record(rng, groups, active=k % 3 != 0) for k in range(60)]
    edge = [[math.nan] * groups, [0.0] * groups, [-0.0] + [0.0] * (groups - 1),
            [0.0] + [-0.0] * (groups - 1), [0.5] * groups]  # fmt: skip
    if groups > 1:
        edge.append([math.nan] + [0.25] * (groups - 1))
    for quality in edge:
        for active in (True, False):
            records.append(made_up_record(rng, groups, active, quality))
    assert_columns_match(records, names)


def test_the_collector_computes_kept_records_when_read(monkeypatch):
    """Columns read mid-run hold every step so far, also across several batches."""
    monkeypatch.setattr("simulator.model.FLUSH_EVERY", 7)
    scenario = load_scenario(SCENARIOS_DIR / "baseline.yaml",
                             overrides={"population.size": 300, "steps": 30})  # fmt: skip
    model = FlywheelModel(scenario)
    for step in range(1, 31):
        model.step()
        if step % 4 == 0:
            table = model.datacollector.get_model_vars_dataframe()
            assert len(table) == step + 1 and table["step"].tolist() == list(range(step + 1))
    reference = FlywheelModel(scenario)
    for _ in range(30):
        reference.step()
    expected = reference.datacollector.get_model_vars_dataframe()
    assert model.datacollector.get_model_vars_dataframe().equals(expected)
