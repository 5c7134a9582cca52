"""Deployment policies (reinvestment.deployment): the perfect gate and always as before,
and a real A/B test: stable assignment by hash, its observations, the one-sided test, and
the wrong decisions it records."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from simulator import load_scenario, run
from simulator.firm.abtest import RunningTest, one_sided_z, promotes, traffic_bucket
from simulator.firm.deployment import Trained
from simulator.firm.learners import Fitted
from simulator.scenario import ScenarioError

SMALL = {"population": {"size": 500}, "steps": 60, "adoption": {"innovation": 0.02}}
AB = {"policy": "ab_test", "traffic_pct": 20, "duration": 2, "alpha": 0.05}


def problems_of(raw) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(raw)
    return str(info.value)


def test_traffic_bucket_by_hand_and_its_shares():
    # 2654435761 i mod 2^32, times 100, over 2^32: i = 1 gives 61.80..., i = 2 gives 23.6...
    np.testing.assert_array_equal(traffic_bucket(3), [0, 61, 23])
    buckets = traffic_bucket(100_000)
    assert buckets.min() == 0 and buckets.max() == 99
    for pct in (1, 5, 20, 50):
        assert abs(np.mean(buckets < pct) - pct / 100) < 0.002


def test_one_sided_z_by_hand():
    # 60/100 vs 50/100: pooled 0.55, se = sqrt(0.55 0.45 (1/100 + 1/100)) = 0.0703562
    assert one_sided_z(60, 100, 50, 100) == pytest.approx(0.1 / 0.07035623639735144)
    assert not promotes(1.4213, 0.05) and promotes(1.4213, 0.10)  # z_0.95 1.645, z_0.9 1.28
    assert np.isnan(one_sided_z(0, 0, 5, 10)) and not promotes(float("nan"), 0.05)
    assert np.isnan(one_sided_z(10, 10, 10, 10))  # pooled proportion 1: no evidence


def test_equal_models_ship_at_most_alpha_of_the_time():
    """The test's false-positive rate at equal qualities is alpha (a one-sided test at
    0.05): over 4,000 replicates the share promoted lies within the binomial 0.999
    interval around 0.05 (normal approximation of the z statistic aside)."""
    quality = np.array([0.7, 0.6])
    shipped = 0
    for seed in range(4000):
        rng = np.random.default_rng(seed)
        zeros = np.zeros((2, 2), dtype=np.int64)
        test = RunningTest(Trained(1, 0, Fitted(quality)), 2, zeros, zeros.copy())
        for _ in range(2):
            test.observe((np.array([600, 150]), np.array([60, 15]), np.array([300, 75])),
                         quality, quality, rng)  # fmt: skip
        shipped += promotes(test.z(), 0.05)
    low, high = binom.ppf(0.0005, 4000, 0.05), binom.ppf(0.9995, 4000, 0.05)
    assert low <= shipped <= high, shipped


def test_observations_by_hand_expectations():
    rng = np.random.default_rng(0)
    zeros = np.zeros((2, 1), dtype=np.int64)
    test = RunningTest(Trained(1, 0, Fitted(np.array([0.9]))), 2, zeros, zeros.copy())
    for _ in range(200):
        test.observe((np.array([1000]), np.array([25]), np.array([100])),
                     np.array([0.9]), np.array([0.5]), rng)  # fmt: skip
    trials, successes = test.trials[:, 0], test.successes[:, 0]
    assert trials.sum() == 200_000
    assert trials[0] / trials.sum() == pytest.approx(0.25, abs=0.005)  # treated / active
    assert successes[0] / trials[0] == pytest.approx(0.9, abs=0.005)
    assert successes[1] / trials[1] == pytest.approx(0.5, abs=0.005)


def test_perfect_and_always_are_the_old_gate_byte_for_byte():
    for policy, ab_test in (("perfect", True), ("always", False)):
        old = run(load_scenario(SMALL | {"reinvestment": {"ab_test": ab_test}}), seed=4)
        new = run(load_scenario(SMALL | {"reinvestment": {"deployment": {"policy": policy}}}),
                  seed=4)  # fmt: skip
        assert old.timeseries.to_csv(index=False) == new.timeseries.to_csv(index=False)


def test_ab_test_decisions_are_counted_against_the_true_qualities():
    result = run(load_scenario(SMALL | {"reinvestment": {"deployment": AB}}), seed=2)
    ts, summary = result.timeseries, result.summary["deployment"]
    for column in ("ab_tests", "ab_promoted", "ab_shipped_worse", "ab_rejected_better"):
        assert (ts[column].diff().dropna() >= 0).all()  # cumulative counts
    assert summary["tests"] == ts["ab_tests"].iloc[-1] > 0
    assert summary["promoted"] == result.model.firm.model_version  # each ship is a version
    assert summary["wrong_share"] == pytest.approx(
        (summary["shipped_worse"] + summary["rejected_better"]) / summary["tests"]
    )
    # a test lasts `duration` steps after its candidate is due: no ship outside decisions
    shipped = ts["model_version"].diff().fillna(0) > 0
    assert (ts.loc[shipped, "ab_promoted"].diff().fillna(1) >= 0).all()


def test_a_tiny_test_rejects_more_better_models_than_a_large_one():
    tiny = SMALL | {"population": {"size": 1500},
                    "reinvestment": {"deployment": AB | {"traffic_pct": 1}}}  # fmt: skip
    large = SMALL | {"population": {"size": 1500},
                     "reinvestment": {"deployment": AB | {"traffic_pct": 50}}}  # fmt: skip
    rejected = [sum(run(load_scenario(raw), seed=s).summary["deployment"]["rejected_better"]
                    for s in range(3)) for raw in (tiny, large)]  # fmt: skip
    assert rejected[0] > rejected[1]


@pytest.mark.parametrize(
    ("deployment", "expected"),
    [
        ({"traffic_pct": 0}, "reinvestment.deployment.traffic_pct: must be in [1, 99]; got 0"),
        ({"traffic_pct": 100}, "reinvestment.deployment.traffic_pct: must be in [1, 99]"),
        ({"alpha": 0.5}, "reinvestment.deployment.alpha: must be in (0, 0.5); got 0.5"),
        ({"duration": 0}, "reinvestment.deployment.duration: must be >= 1"),
        ({"policy": "staged"}, "reinvestment.deployment.policy: must be one of"),
    ],
)
def test_bad_deployment_keys_are_named(deployment, expected):
    assert expected in problems_of(SMALL | {"reinvestment": {"deployment": deployment}})


def test_ab_tests_agree_on_both_engines_in_a_market_too():
    for raw in (SMALL | {"reinvestment": {"deployment": AB}},
                SMALL | {"firms": [{"name": "a"}, {"name": "b", "reinvestment": {
                    "deployment": AB | {"traffic_pct": 50}}}]}):  # fmt: skip
        a = run(load_scenario(raw), seed=6, engine="agent").timeseries.to_csv(index=False)
        b = run(load_scenario(raw), seed=6, engine="array").timeseries.to_csv(index=False)
        assert a == b


def test_ab_test_size_scenario_records_its_decisions():
    path = "scenarios/ab_test_size.yaml"
    result = run(load_scenario(path, overrides={"population.size": 800, "steps": 70}), seed=1)
    deployment = result.summary["deployment"]
    assert deployment["tests"] > 5 and deployment["wrong_share"] is not None
    assert {"ab_shipped_worse", "ab_rejected_better"} <= set(result.timeseries.columns)
