"""Estimator learners, synthetic data, arrivals and risk retention (learning.kind: estimator)."""

from pathlib import Path

import numpy as np
import pytest

from simulator import load_scenario, run
from simulator.firm import Firm
from simulator.firm.learners.estimators import (
    COLD_START,
    EstimatorLearner,
    dro_constant,
    dro_risk,
    logistic_excess_risk,
    quality_from_risk,
)
from simulator.mechanisms.arrivals import choose_arrivals
from simulator.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]


def learner(estimator="median", objective="erm", alpha_min=0.3, means=(-1.0, 1.0),
            spreads=(0.2, 0.5)) -> EstimatorLearner:  # fmt: skip
    return EstimatorLearner(estimator, objective, alpha_min, np.array(means), np.array(spreads))


def estimator_scenario(**overrides):
    base = {
        "population": {"size": 200, "groups": [
            {"name": "a", "share": 0.5, "data_mean": -1.0, "data_spread": 0.5},
            {"name": "b", "share": 0.5, "data_mean": 2.0, "data_spread": 1.0}]},
        "learning": {"kind": "estimator", "estimator": "mean", "initial_examples": 50},
        "steps": 10,
    }  # fmt: skip
    return load_scenario(base, overrides=overrides)


@pytest.mark.parametrize("estimator", ["median", "mean", "gaussian"])
def test_closed_form_risks_match_monte_carlo(estimator):
    model = learner(estimator)
    rng = np.random.default_rng(0)
    params = np.array([0.3, 0.7])
    risks = model.risk(params)
    for g, (mu, s) in enumerate(zip(model.means, model.spreads, strict=True)):
        y = rng.normal(mu, s, 400_000)
        if estimator == "median":
            loss = np.abs(y - params[0])
        elif estimator == "mean":
            loss = (y - params[0]) ** 2
        else:  # excess log loss = KL: E[log p(y) - log q(y)]
            log_p = -0.5 * np.log(2 * np.pi * s * s) - (y - mu) ** 2 / (2 * s * s)
            log_q = -0.5 * np.log(2 * np.pi * 0.49) - (y - 0.3) ** 2 / (2 * 0.49)
            loss = log_p - log_q
        # The Monte Carlo mean is within 5 standard errors of the true risk (p ~ 6e-7).
        se = loss.std() / np.sqrt(len(loss))
        assert abs(risks[g] - loss.mean()) < 5 * se


def test_fits_are_the_textbook_estimators():
    values = np.array([0.0, 1.0, 2.0, 10.0])
    median = learner("median").fit_params(values)
    assert median[0] == 1.5 and median[1] == pytest.approx(np.mean(np.abs(values - 1.5)))
    mean = learner("mean").fit_params(values)
    assert mean[0] == pytest.approx(3.25) and mean[1] == pytest.approx(np.std(values))
    np.testing.assert_array_equal(learner("gaussian").fit_params(values), mean)  # MLE, divisor n
    np.testing.assert_array_equal(learner().fit_params(np.zeros(0)), COLD_START)
    np.testing.assert_array_equal(learner("logistic").fit_params(np.zeros(0)), [0.0, 0.0])
    # weights: a weighted median ignores points of negligible weight
    weighted = learner("median").fit_params(values, np.array([1.0, 1.0, 1.0, 1e-9]))
    assert weighted[0] == 1.0


def test_dro_protects_the_minority_cluster_and_reduces_to_erm_at_alpha_one():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(-1, 0.2, 900), rng.normal(1, 0.2, 100)])
    erm = learner("median").fit_params(values)[0]
    dro = learner("median", "group_dro", 0.1).fit_params(values)[0]
    assert erm < -0.8 and abs(dro) < 0.2  # DRO balances the two clusters' losses
    assert learner("median", "group_dro", 1.0).fit_params(values)[0] == erm
    # C = 1 at alpha_min = 1: the robust risk of any losses is their mean, exactly
    losses = rng.exponential(size=500)
    assert dro_constant(1.0) == 1.0
    assert dro_risk(losses, None, 1.0) == losses.mean()
    # just below 1 it is the variance-penalised mean, mean + sd sqrt(C^2 - 1), no more
    c = dro_constant(0.999)
    near = dro_risk(losses, None, 0.999)
    assert losses.mean() < near <= losses.mean() + losses.std() * np.sqrt(c * c - 1) + 1e-12
    assert dro_risk(losses, None, 0.2) > np.quantile(losses, 0.8)  # a worst-case 20 %


def test_quality_is_exp_minus_risk():
    np.testing.assert_allclose(quality_from_risk([0.0, 1.0, np.inf]), [1.0, np.exp(-1), 0.0])


def test_arrivals_take_the_smallest_clocks_of_each_group_ties_by_index():
    eligible = np.array([True, True, True, True, False, True, True])
    group = np.array([0, 0, 0, 1, 1, 1, 0])
    clock = np.array([0.5, 0.1, 0.5, 0.3, 0.0, 0.9, 0.2])
    chosen = choose_arrivals(eligible, group, clock, np.array([3, 5]))
    # group 0: clocks 0.1 (1), 0.2 (6), then 0.5 at users 0 and 2: the lower index wins
    np.testing.assert_array_equal(np.flatnonzero(chosen), [0, 1, 3, 5, 6])


def test_generations_replace_or_accumulate_with_synthetic_share():
    scenario = estimator_scenario(**{"data.batch_size": 40, "data.synthetic_share": 0.25,
                                     "data.policy": "replace"})  # fmt: skip
    company = Firm(scenario, np.random.default_rng(0))
    assert [len(t) for t in company.store.points.training] == [50, 50]
    company.collect(np.array([1000, 0]), np.random.default_rng(1))
    company.learn(4)
    # group a: 10 synthetic + 30 of its fresh real points; group b: no fresh data
    assert [len(t) for t in company.store.points.training] == [40, 10]
    assert company.store.points.synthetic.tolist() == [10, 10]
    scenario = scenario.with_overrides({"data.policy": "accumulate"})
    company = Firm(scenario, np.random.default_rng(0))
    company.learn(4)
    company.learn(8)
    assert [len(t) for t in company.store.points.training] == [
        70,
        70,
    ]  # 50 initial + 2 x 10 synthetic


def test_label_noise_flips_the_sign_of_a_signal():
    scenario = estimator_scenario(**{
        "population.groups.a.label_noise": 1.0, "learning.initial_examples": 0,
        "data.policy": "replace", "data.filter_false_accept": 1.0,
        "reinvestment.ab_test": False, "reinvestment.latency": 0})  # fmt: skip
    company = Firm(scenario, np.random.default_rng(0))
    company.collect(np.array([100_000, 0]), np.random.default_rng(0))
    company.learn(4)
    assert company.deployed.params[0] == pytest.approx(1.0, abs=0.02)  # -(-1)


def test_an_intervention_on_the_data_distribution_moves_the_risk_at_once():
    scenario = estimator_scenario(
        interventions=[{"at": 3, "set": {"population.groups.a.data_mean": 5.0}}],
        **{"reinvestment.retrain_every": 100},
    )
    ts = run(scenario).timeseries
    assert ts["risk[a]"].iloc[3] > ts["risk[a]"].iloc[2] + 10


def test_estimator_columns_and_curve_columns():
    ts = run(estimator_scenario()).timeseries
    for column in ["risk[a]", "risk[b]", "model_mean", "model_spread", "synthetic_examples",
                   "training_set"]:  # fmt: skip
        assert column in ts
    assert ts["quality[a]"].iloc[0] == pytest.approx(np.exp(-ts["risk[a]"].iloc[0]))
    baseline = run(load_scenario({"steps": 2, "population": {"size": 100}})).timeseries
    assert "risk[majority]" not in baseline and "model_mean" not in baseline


def test_risk_retention_keeps_users_with_probability_exp_minus_risk():
    scenario = estimator_scenario(**{
        "population.size": 4000, "adoption.initial_adopters": 4000, "churn.retention": "risk",
        "reinvestment.retrain_every": 1000, "steps": 1})  # fmt: skip
    result = run(scenario)
    stay = np.exp(-result.timeseries[["risk[a]", "risk[b]"]].iloc[0].to_numpy())
    kept = result.timeseries[["active_users[a]", "active_users[b]"]].iloc[1].to_numpy()
    expected = 2000 * stay
    assert np.all(np.abs(kept - expected) < 4 * np.sqrt(2000 * stay * (1 - stay)) + 1)


@pytest.mark.parametrize(
    ("overrides", "key", "message"),
    [
        ({"data.synthetic_share": 0.5}, "data.synthetic_share", "only used by estimator"),
        ({"churn.retention": "risk"}, "churn.retention", "only used by estimator"),
        ({"learning.objective": "group_dro"}, "learning.objective", "only used by estimator"),
        ({"learning.kind": "estimator", "learning.estimator": "gaussian",
          "learning.objective": "group_dro"}, "learning.objective", "median, mean and logistic"),
        ({"learning.kind": "estimator", "learning.estimator": "logistic",
          "data.synthetic_share": 0.5}, "data.synthetic_share", "generative estimator"),
        ({"learning.kind": "estimator", "data.synthetic_share": 1.0}, "data.batch_size",
         "must be set"),
        ({"adoption.rule": "arrivals"}, "population.groups.0.arrivals", "is required"),
        ({"population.groups.minority.arrivals": 5}, "population.groups.1.arrivals",
         "only used when"),
        ({"population.groups.minority.data_spread": 0}, "population.groups.1.data_spread",
         "must be > 0"),
        ({"learning.alpha_min": 0}, "learning.alpha_min", "must be in (0, 1]"),
    ],
)  # fmt: skip
def test_new_keys_are_validated(overrides, key, message):
    with pytest.raises(ScenarioError) as caught:
        load_scenario({}, overrides=overrides)
    problems = {p.key: p.message for p in caught.value.problems}
    assert key in problems and message in problems[key], problems


def test_teaching_scenarios_tell_their_story():
    small = {"population.size": 1000, "engine": "array"}
    spread = {
        policy: run(ROOT / "scenarios/model_collapse.yaml", overrides={**small, **extra})
        .timeseries["model_spread"].iloc[-1]
        for policy, extra in {"replace": {}, "accumulate": {"data.policy": "accumulate"},
                              "fresh": {"data.synthetic_share": 0.5}}.items()
    }  # fmt: skip
    assert spread["replace"] < 0.5 < min(spread["accumulate"], spread["fresh"])
    share = minority_share_by_objective(small)
    assert share["erm"] < share["group_dro"]


def minority_share_by_objective(overrides: dict) -> dict[str, float]:
    """bias_dro.yaml under ERM and group DRO: the minority's mean share of active users
    over the last 20 steps."""
    return {
        objective: run(ROOT / "scenarios/bias_dro.yaml",
                       overrides={**overrides, "learning.objective": objective})
        .timeseries["share[minority]"].iloc[-20:].mean()
        for objective in ("erm", "group_dro")
    }  # fmt: skip


@pytest.mark.parametrize("alpha_min", [0.05, 0.3, 0.7, 0.95])
def test_dro_risk_is_the_minimum_of_the_dual_objective(alpha_min):
    losses = np.random.default_rng(2).gamma(2.0, size=300)
    c = dro_constant(alpha_min)
    reach = 3 * losses.std() / np.sqrt(c * c - 1)  # the optimum is within mean - reach/3
    eta = np.linspace(losses.min() - reach, losses.max(), 4001)
    excess = np.maximum(losses[None, :] - eta[:, None], 0)
    coarse = c * np.sqrt((excess**2).mean(axis=1)) + eta
    assert dro_risk(losses, None, alpha_min) <= coarse.min() * (1 + 1e-7)
    assert dro_risk(losses, None, alpha_min) == pytest.approx(coarse.min(), rel=1e-3)


# -- the logistic classifier ---------------------------------------------------------------


def labelled(values, rng):
    """The classification data behind signed points ``z``: ``y = +-1``, ``x = y z``."""
    y = rng.choice([-1.0, 1.0], len(values))
    return (y * values)[:, None], y


@pytest.mark.parametrize("aged", [False, True])
def test_logistic_fit_is_scikit_learns_logistic_regression(aged):
    from sklearn import linear_model as sklearn

    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0.8, 0.6, 600), -rng.normal(0.8, 0.6, 60),
                             rng.normal(-0.5, 0.4, 300)])  # fmt: skip
    weights = rng.uniform(0.1, 1.0, len(values)) if aged else None
    fitted = learner("logistic").fit_params(values, weights)
    x, y = labelled(values, rng)
    # C = 1, no intercept; sample weights n p_i give sum_i n p_i l_i + w^2 / 2, our
    # objective times n (weights are normalised inside fit).
    sample_weight = None if weights is None else len(values) * weights / weights.sum()
    reference = sklearn.LogisticRegression(C=1.0, fit_intercept=False, tol=1e-12,
                                           max_iter=10_000)  # fmt: skip
    reference.fit(x, y, sample_weight=sample_weight)
    assert fitted[0] == pytest.approx(reference.coef_[0, 0], rel=1e-6)
    assert fitted[1] == 0.0


def test_logistic_risk_is_the_excess_log_loss_over_the_bayes_classifier():
    means, spreads = np.array([1.0, -0.5]), np.array([0.5, 0.8])
    bayes = 2 * means / spreads**2
    for g in range(2):  # the group's own Bayes classifier has no excess loss
        assert logistic_excess_risk(bayes[g], means[g:g + 1], spreads[g:g + 1])[0] == (
            pytest.approx(0.0, abs=1e-9))  # fmt: skip
    rng = np.random.default_rng(4)
    weight, n = 1.7, 1_000_000
    risks = logistic_excess_risk(weight, means, spreads)
    for g in range(2):
        z = rng.normal(means[g], spreads[g], n)
        excess = np.logaddexp(0, -weight * z) - np.logaddexp(0, -bayes[g] * z)
        # Monte Carlo error: 5 standard errors of the sample mean (p ~ 6e-7 per check)
        assert abs(risks[g] - excess.mean()) < 5 * excess.std() / np.sqrt(n)
    assert np.all(logistic_excess_risk(0.0, means, spreads) > 0)  # coin flip


def test_logistic_dro_serves_mirrored_groups_equally():
    # A majority whose classes sit at x = -+1 and a minority mirrored (+-1): ERM
    # learns the majority's orientation, which is exactly wrong for the minority.
    # The robust objective cannot favour either: it takes w near 0 (a coin flip for
    # both), the equal-risk answer Hashimoto et al.'s objective is built to find.
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.normal(1, 0.3, 800), rng.normal(-1, 0.3, 200)])
    mirrored = learner("logistic", means=(1.0, -1.0), spreads=(0.3, 0.3))
    erm = mirrored.fit_params(values)
    risk = mirrored.risk(erm)
    assert erm[0] > 1 and risk[1] > 4 * risk[0]
    dro = learner("logistic", "group_dro", 0.2, means=(1.0, -1.0), spreads=(0.3, 0.3))
    robust = dro.risk(dro.fit_params(values))
    assert robust[1] < risk[1] / 2 and robust[0] == pytest.approx(robust[1], rel=0.05)


def test_bias_dro_tells_the_same_story_with_a_logistic_classifier():
    # bias_dro.yaml's groups are mirrored (data means -0.3 and +0.3): a classifier
    # trained by ERM serves the majority and loses the minority; group DRO keeps it.
    small = {"population.size": 1000, "engine": "array", "learning.estimator": "logistic"}
    share = minority_share_by_objective(small)
    assert share["erm"] < 0.1 < share["group_dro"], share
