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


# -- cohorts: the treated users experience the candidate ----------------------------------

from simulator import FlywheelModel  # noqa: E402
from simulator.engines.cohorts import row_index, table  # noqa: E402
from simulator.firm.abtest import uses_ab_test  # noqa: E402
from simulator.mechanisms.retention import churn_hazard, updated_satisfaction  # noqa: E402
from simulator.mechanisms.states import ACTIVE_CODE  # noqa: E402

BIG = {"population": {"size": 3000}, "steps": 40, "adoption": {"innovation": 0.2},
       "reinvestment": {"retrain_every": 1000}}  # fmt: skip


def test_rows_and_quality_table_by_hand():
    # per cents 5 and 20 in force: bucket 3 is below both (class 2), 10 below 20 only
    # (class 1), 50 below none (class 0); rows = class * n_groups + group
    bucket, group = np.array([3, 10, 50, 19, 20]), np.array([1, 0, 1, 0, 1], dtype=np.int16)
    np.testing.assert_array_equal(row_index(bucket, group, 2, (5, 20)), [5, 2, 1, 2, 1])
    deployed = np.array([[0.5, 0.6], [0.7, 0.8]])
    # firm 0 tests at 20% (candidate 0.1, 0.2), firm 1 at 5% (candidate 0.3, 0.4)
    got = table(deployed, [(20, np.array([0.1, 0.2])), (5, np.array([0.3, 0.4]))], (5, 20))
    np.testing.assert_array_equal(got, [[0.5, 0.6, 0.1, 0.2, 0.1, 0.2],
                                        [0.7, 0.8, 0.7, 0.8, 0.3, 0.4]])  # fmt: skip


def _testing_model(raw, candidate_quality, engine, pct=50, policy="ab_test"):
    """A model whose firm is testing a candidate of ``candidate_quality`` at ``pct`` per
    cent, for longer than the run (a hand-made running test: no decision, no new model)."""
    deployment = {"policy": policy, "traffic_pct": pct} if policy == "ab_test" else {
        "policy": policy, "canary_pct": pct}  # fmt: skip
    scenario = load_scenario(
        raw | {"reinvestment": raw["reinvestment"] | {"deployment": deployment}}
    )
    model = FlywheelModel(scenario, seed=3, engine=engine)
    firm = model.firm
    zeros = np.zeros((2, firm.n_groups), dtype=np.int64)
    candidate = Trained(0, 0, Fitted(np.full(firm.n_groups, candidate_quality)))
    firm.tests.kind = policy
    firm.tests.running = RunningTest(candidate, 10**6, zeros, zeros.copy())
    return model


@pytest.mark.parametrize("engine", ["agent", "array"])
def test_treated_users_satisfaction_moves_towards_the_candidate(engine):
    """One step by hand: every user active before and after it moves s <- s + mu (Q - s),
    Q the candidate's quality (0.1) if bucket(i) < 50, the deployed model's otherwise."""
    model = _testing_model(BIG, 0.1, engine)
    for _ in range(5):
        model.step()
    before = {key: value.copy() for key, value in model.user_arrays().items()}
    deployed = model.firm.quality.copy()
    model.step()
    after = model.user_arrays()
    stayed = (before["state"] == ACTIVE_CODE) & (after["state"] == ACTIVE_CODE)
    treated = traffic_bucket(len(stayed)) < 50
    quality = np.where(treated, 0.1, deployed[model.user_group])
    expected = updated_satisfaction(before["satisfaction"], quality, 0.3)
    assert stayed[treated].sum() > 300 and stayed[~treated].sum() > 300
    np.testing.assert_array_equal(after["satisfaction"][stayed], expected[stayed])


def test_a_worse_candidate_raises_the_treated_cohorts_churn():
    """Over 30 steps of a test of a bad candidate (quality 0.0 against a deployed 0.5), the
    churns of each cohort match the sum of the hand-computed per-user churn probabilities
    ``1 - exp(-h dt)``, ``h = c0 exp(-beta (s' - Q_ref)) (1 - l (1 - exp(-tenure / T_l)))``
    with ``s'`` the updated satisfaction, within 4 standard deviations of the sum of
    Bernoulli variances; and the treated cohort churns more than twice as often."""
    raw = BIG | {"churn": {"base_rate": 0.05}}
    model = _testing_model(raw, 0.0, "array")
    treated = traffic_bucket(3000) < 50
    expected, variance, observed = np.zeros(2), np.zeros(2), np.zeros(2)
    exposure = np.zeros(2)
    churn = model.params.churn
    for _ in range(30):
        users = {key: value.copy() for key, value in model.user_arrays().items()}
        active = users["state"] == ACTIVE_CODE
        quality = np.where(treated, 0.0, model.firm.quality[model.user_group])
        s = updated_satisfaction(users["satisfaction"], quality, churn.satisfaction_rate)
        h = churn_hazard(s, model.reference_quality, users["tenure"], churn.base_rate,
                         churn.sensitivity, churn.lock_in, churn.lock_in_time)  # fmt: skip
        p = -np.expm1(-h * model.params.dt)
        model.step()
        churned = active & (model.user_arrays()["state"] == 2)
        for k, cohort in enumerate((treated, ~treated)):
            on = active & cohort
            expected[k] += p[on].sum()
            variance[k] += (p[on] * (1 - p[on])).sum()
            observed[k] += churned[on].sum()
            exposure[k] += on.sum()
    assert np.all(np.abs(observed - expected) < 4 * np.sqrt(variance)), (observed, expected)
    assert observed[0] / exposure[0] > 2 * observed[1] / exposure[1]


def test_without_a_running_test_no_user_is_treated():
    """Between tests (and with perfect, always, shadow) there are no cohorts: the views'
    rows are the groups."""
    model = _testing_model(BIG, 0.1, "array")
    model.firm.tests.running = None
    model.step()
    assert model.cohorts(np.stack([model.firm.quality]), [None]) is None


# -- shadow --------------------------------------------------------------------------------


def test_shadow_observations_attenuate_by_label_noise():
    """The offline score of a model of quality Q under label noise eps is eps + (1 - 2 eps) Q:
    0.3 + 0.4 * 0.9 = 0.66 and 0.3 + 0.4 * 0.5 = 0.5 over 200,000 logged interactions
    (binomial sd 0.001; tolerance 0.005)."""
    rng = np.random.default_rng(0)
    zeros = np.zeros((2, 1), dtype=np.int64)
    test = RunningTest(Trained(1, 0, Fitted(np.array([0.9]))), 2, zeros, zeros.copy())
    for _ in range(200):
        test.observe_logged(np.array([1000]), np.array([0.3]), np.array([0.9]),
                            np.array([0.5]), rng)  # fmt: skip
    assert test.trials[:, 0].tolist() == [200_000, 200_000]
    assert test.successes[0, 0] / 200_000 == pytest.approx(0.66, abs=0.005)
    assert test.successes[1, 0] / 200_000 == pytest.approx(0.5, abs=0.005)


def test_shadow_exposes_no_user_until_it_ships():
    """Users' trajectories under shadow equal a run where no candidate ever ships (latency
    beyond the run), step for step until the first shadow test ships a model."""
    raw = SMALL | {"population": {"size": 1500}, "steps": 60}
    shadow = run(load_scenario(raw | {"reinvestment": {"deployment": {
        "policy": "shadow", "duration": 3}}}), seed=5).timeseries  # fmt: skip
    never = run(load_scenario(raw | {"reinvestment": {"latency": 10_000}}), seed=5).timeseries
    shipped = int(np.argmax(shadow["model_version"].to_numpy() > 0))
    assert shipped > 5 and shadow["ab_tests"].iloc[-1] > 3
    users = ["active_users", "adoptions", "churns"]
    assert shadow[users].iloc[: shipped + 1].equals(never[users].iloc[: shipped + 1])
    assert shadow["quality"].iloc[:shipped].equals(never["quality"].iloc[:shipped])


def test_label_noise_makes_shadow_miss_better_models():
    """The offline score shrinks the difference by 1 - 2 eps: at label noise 0.45 (a tenth
    of the difference left) the shadow test rejects more truly better candidates than at
    noise 0.05, over the same three seeds."""
    rejected = []
    for noise in (0.05, 0.45):
        groups = [{"name": "majority", "share": 0.8, "label_noise": noise},
                  {"name": "minority", "share": 0.2, "label_noise": noise}]  # fmt: skip
        raw = SMALL | {
            "population": {"size": 1000, "groups": groups},
            "reinvestment": {"deployment": {"policy": "shadow", "duration": 2}},
        }
        rejected.append(sum(run(load_scenario(raw), seed=s).summary["deployment"]
                            ["rejected_better"] for s in range(3)))  # fmt: skip
    assert rejected[1] > rejected[0], rejected


# -- canary ---------------------------------------------------------------------------------

CANARY = {"policy": "canary", "ramp": [5, 25, 50, 100], "step_duration": 2, "alpha": 0.05}


def _canary_run(candidate_quality, engine="array"):
    """The canary of one hand-made candidate submitted at step 10 (no retraining)."""
    raw = BIG | {"reinvestment": BIG["reinvestment"] | {"deployment": CANARY}}
    model = FlywheelModel(load_scenario(raw), seed=3, engine=engine)
    for step in range(1, 41):
        if step == 10:
            quality = np.full(model.firm.n_groups, candidate_quality)
            model.firm.deployment.submit(Trained(10, 10, Fitted(quality)))
        model.step()
    return model.datacollector.get_model_vars_dataframe(), model


def test_a_canary_promotes_a_better_model_through_its_stages():
    """A candidate of quality 0.9 (deployed: 0.5) is served to 5% from step 11, 25% from 13,
    50% from 15, and deployed at the end of step 16: the share in force is recorded."""
    ts, model = _canary_run(0.9)
    share = ts["canary_share"].to_numpy()
    np.testing.assert_array_equal(share[10:17], [0.05, 0.05, 0.25, 0.25, 0.5, 0.5, 0.0])
    assert ts["model_version"].iloc[16] == 1 and ts["model_version"].iloc[15] == 0
    assert model.firm.quality.tolist() == [0.9, 0.9]
    last = ts.iloc[-1]
    assert (last["canary_rollouts"], last["canary_rollbacks"], last["ab_promoted"]) == (1, 0, 1)


def test_a_canary_rolls_back_a_worse_model_at_the_first_stage():
    """A candidate of quality 0.1 against 0.5: after two weeks on 5% of ~2,500 active users
    (~750 canary interactions) the canary's satisfied share is about 0.1 against 0.5, a z
    far beyond -1.645: rolled back at step 12, never wider than 5%, the deployed model
    kept; the decision is right (not rejected-better)."""
    ts, model = _canary_run(0.1)
    assert ts["canary_share"].max() == 0.05
    assert ts["canary_rollbacks"].iloc[12] == 1 and ts["canary_rollbacks"].iloc[11] == 0
    assert ts["model_version"].iloc[-1] == 0 and model.firm.quality.tolist() == [0.5, 0.5]
    assert ts["ab_rejected_better"].iloc[-1] == 0 and ts["ab_tests"].iloc[-1] == 1


def test_canary_users_experience_the_candidate_on_both_engines():
    agent, _ = _canary_run(0.1, "agent")
    array, _ = _canary_run(0.1, "array")
    assert agent.to_csv(index=False) == array.to_csv(index=False)


def test_canary_scenario_rolls_back_the_bad_models():
    """After week 52 the candidates are worse: the canary rolls them back (reduced run:
    3,000 users, 90 weeks; 1,500 users leave the 5% stage too few users to see the drop)."""
    path = "scenarios/canary.yaml"
    result = run(load_scenario(path, overrides={"population.size": 3000, "steps": 90}), seed=1)
    deployment, ts = result.summary["deployment"], result.timeseries
    assert deployment["rollbacks"] >= 3 and deployment["rollouts"] >= deployment["rollbacks"]
    assert ts["canary_rollbacks"].iloc[52] == 0  # before the noise jump: no rollback
    assert ts["quality"].iloc[52:].min() >= ts["quality"].iloc[52] - 0.01  # kept
    assert {"canary_rollouts", "canary_rollbacks", "canary_share"} <= set(result.timeseries)


# -- every policy on both engines ------------------------------------------------------------

POLICIES = [{"policy": "perfect"}, {"policy": "always"}, AB | {"traffic_pct": 30},
            {"policy": "shadow", "duration": 2},
            {"policy": "canary", "ramp": [10, 40, 100], "step_duration": 1}]  # fmt: skip


@pytest.mark.parametrize("deployment", POLICIES, ids=lambda d: d["policy"])
def test_every_policy_agrees_on_both_engines(deployment):
    """One product with an estimator learner (risk retention), and a market of two firms
    testing at different per cents (nested cohorts), with a policy change midway."""
    raws = [
        SMALL | {"learning": {"kind": "estimator"}, "churn": {"retention": "risk"},
                 "reinvestment": {"deployment": deployment, "retrain_every": 2}},
        SMALL | {"choice": {"reconsider_rate": 0.3},
                 "firms": [{"name": "a", "reinvestment": {"deployment": deployment}},
                           {"name": "b", "enters_at": 5, "reinvestment": {
                               "retrain_every": 3, "deployment": AB | {"traffic_pct": 60}}}],
                 "interventions": [{"at": 40, "set": {
                     "firms.b.reinvestment.deployment.policy": "canary"}}]},
    ]  # fmt: skip
    for raw in raws:
        a = run(load_scenario(raw), seed=6, engine="agent")
        b = run(load_scenario(raw), seed=6, engine="array")
        assert a.timeseries.to_csv(index=False) == b.timeseries.to_csv(index=False)
        for key, values in a.model.user_arrays().items():
            np.testing.assert_array_equal(values, b.model.user_arrays()[key], err_msg=key)


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deployment", "expected"),
    [
        ({"policy": "canary", "ramp": [5, 50, 25, 100]},
         "reinvestment.deployment.ramp: must be strictly increasing; got [5, 50, 25, 100]"),
        ({"policy": "canary", "ramp": [5, 25, 50]},
         "reinvestment.deployment.ramp: must end at 100"),
        ({"policy": "canary", "ramp": [100]},
         "reinvestment.deployment.ramp: must have a canary stage below 100"),
        ({"policy": "canary", "ramp": [0, 100]},
         "reinvestment.deployment.ramp: must be a list of per cents in [1, 100]"),
        ({"policy": "canary", "canary_pct": 10, "ramp": [5, 100]},
         "reinvestment.deployment.ramp: must start at canary_pct (10)"),
        ({"policy": "ab_test", "canary_pct": 10},
         "reinvestment.deployment.canary_pct: is a key of policy canary (the policy is ab_test)"),
        ({"policy": "shadow", "ramp": [5, 100]},
         "reinvestment.deployment.ramp: is a key of policy canary (the policy is shadow)"),
        ({"policy": "canary", "step_duration": 0},
         "reinvestment.deployment.step_duration: must be >= 1"),
        ({"policy": "canary", "canary_pct": 100},
         "reinvestment.deployment.canary_pct: must be in [1, 99]"),
    ],
)  # fmt: skip
def test_bad_canary_keys_are_named(deployment, expected):
    assert expected in problems_of(SMALL | {"reinvestment": {"deployment": deployment}})


def test_canary_defaults_and_stages():
    policy = load_scenario(SMALL | {"reinvestment": {"deployment": {"policy": "canary"}}})
    assert policy.reinvestment.deployment.stages == (5, 25, 50, 100)
    wide = load_scenario(
        SMALL | {"reinvestment": {"deployment": {"policy": "canary", "canary_pct": 30}}}
    )
    assert wide.reinvestment.deployment.stages == (30, 50, 100)
    assert uses_ab_test(wide)


def test_a_bad_ramp_exits_2_from_the_command_line(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from simulator.cli import app

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(SMALL | {"reinvestment": {"deployment": {
        "policy": "canary", "ramp": [5, 25, 50]}}}))  # fmt: skip
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "reinvestment.deployment.ramp: must end at 100" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
