"""The rules against values computed by hand, and scalar/array agreement."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator import rules
from simulator.company import Company
from simulator.learners import CurveLearner
from simulator.scenario import Scenario


def test_fires_compares_hazard_times_dt_with_the_exponential_draw():
    assert rules.fires(0.5, 2.0, 0.99)  # 1.0 > 0.99
    assert not rules.fires(0.5, 2.0, 1.01)
    assert not rules.fires(0.0, 1.0, 0.0)  # a zero hazard never fires


def test_fires_has_the_hazard_probability():
    # P(h dt > E) = 1 - exp(-h dt) for E ~ Exp(1). With n = 200_000 draws the
    # standard error of the frequency is sqrt(p(1-p)/n) ~ 0.0011; allow 5 s.e.
    rng = np.random.default_rng(1)
    draws = rng.standard_exponential(200_000)
    p = 1 - math.exp(-0.3 * 1.5)
    freq = rules.fires(0.3, 1.5, draws).mean()
    assert abs(freq - p) < 5 * math.sqrt(p * (1 - p) / draws.size)


def test_market_baseline_by_hand():
    # b0 + (binf - b0)(1 - e^{-t/T}) = 0.5 + 0.3 (1 - e^{-1}) at t = T
    assert rules.market_baseline(156, 0.5, 0.8, 156) == pytest.approx(
        0.5 + 0.3 * (1 - math.exp(-1))
    )
    assert rules.market_baseline(0, 0.5, 0.8, 156) == 0.5
    assert rules.market_baseline(1000, 0.5, 0.8, None) == 0.5


def test_attractiveness_by_hand():
    assert rules.attractiveness(0.7, 0.5, 4.0) == pytest.approx(math.exp(0.8))
    assert rules.attractiveness(0.2, 0.9, 0.0) == 1.0  # kappa = 0: plain Bass


def test_adopted_neighbour_share_handles_isolated_users():
    assert rules.adopted_neighbour_share(2, 8) == 0.25
    assert rules.adopted_neighbour_share(0, 0) == 0.0
    out = rules.adopted_neighbour_share(np.array([2, 0]), np.array([8, 0]))
    assert out.tolist() == [0.25, 0.0]


def test_bass_adoption_by_hand():
    # p A dt = 0.01 * 2 * 1 = 0.02; q frac A dt = 0.3 * 0.5 * 2 = 0.3
    adopt, wom = rules.adoption_events("bass", 0.5, 2.0, 0.01, 0.3, 0.18, 1.0, 0.5, 0.2)
    assert adopt and wom  # only the word-of-mouth clock fired (0.3 > 0.2, 0.02 < 0.5)
    adopt, wom = rules.adoption_events("bass", 0.5, 2.0, 0.01, 0.3, 0.18, 1.0, 0.01, 0.5)
    assert adopt and not wom  # only the spontaneous clock fired
    # both fired: event times 0.01/0.02 = 0.5 (spontaneous) vs 0.1/0.3 = 0.33 (social)
    adopt, wom = rules.adoption_events("bass", 0.5, 2.0, 0.01, 0.3, 0.18, 1.0, 0.01, 0.1)
    assert adopt and wom
    adopt, wom = rules.adoption_events("bass", 0.5, 2.0, 0.01, 0.3, 0.18, 1.0, 0.5, 0.5)
    assert not adopt and not wom


def test_bass_adoption_probability_is_bass_hazard():
    # Two competing clocks give P(adopt) = 1 - exp(-(p + q frac) A dt).
    rng = np.random.default_rng(2)
    n = 200_000
    adopt, wom = rules.adoption_events(
        "bass", np.full(n, 0.4), 1.5, 0.05, 0.4, 0.0, 1.0,
        rng.standard_exponential(n), rng.standard_exponential(n),
    )  # fmt: skip
    p = 1 - math.exp(-(0.05 + 0.4 * 0.4) * 1.5)
    assert abs(adopt.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    # Share won by word of mouth among adopters = q frac / (p + q frac) = 0.16 / 0.21
    share = wom.sum() / adopt.sum()
    assert abs(share - 0.16 / 0.21) < 5 * math.sqrt(0.25 / adopt.sum())


def test_threshold_adoption_by_hand():
    adopt, wom = rules.adoption_events("threshold", 0.2, 1.0, 0.0, 0.0, 0.18, 1.0, 1.0, 1.0)
    assert adopt and wom
    adopt, wom = rules.adoption_events("threshold", 0.1, 1.0, 0.0, 0.0, 0.18, 1.0, 1.0, 1.0)
    assert not adopt
    # an isolated user (share 0) never cascades, even with threshold 0
    adopt, _ = rules.adoption_events("threshold", 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0)
    assert not adopt


def test_churn_hazard_by_hand():
    # c0 exp(-beta (s - Qref)) (1 - l (1 - e^{-tau/T}))
    expected = 0.01 * math.exp(-5 * (0.6 - 0.5)) * (1 - 0.5 * (1 - math.exp(-26 / 26)))
    assert rules.churn_hazard(0.6, 0.5, 26, 0.01, 5.0, 0.5, 26) == pytest.approx(expected)
    # a brand-new user has no lock-in
    assert rules.lock_in_factor(0, 0.5, 26) == 1.0


def test_satisfaction_moves_towards_quality():
    assert rules.updated_satisfaction(0.4, 0.8, 0.25) == pytest.approx(0.5)


def test_decay_factor_halves_data_after_half_life():
    factor = rules.decay_factor(10)
    assert factor**10 == pytest.approx(0.5)
    assert rules.decay_factor(None) == 1.0


def test_effective_data_with_transfer():
    data = np.array([100.0, 20.0])
    assert rules.effective_data(data, 0.5).tolist() == [110.0, 70.0]
    assert rules.effective_data(data, 1.0).tolist() == [120.0, 120.0]
    assert rules.effective_data(data, 0.0).tolist() == [100.0, 20.0]


def test_learning_curve_by_hand():
    # e = 0.05 + 0.45 (1 + 2000/2000)^-0.3 + 0.5 * 0.1
    error = rules.learning_curve_error(2000, 0.1, 0.5, 0.05, 0.3, 2000, 0.5)
    assert error == pytest.approx(0.05 + 0.45 * 2**-0.3 + 0.05)
    assert rules.learning_curve_error(0, 0.0, 0.5, 0.05, 0.3, 2000, 0.5) == pytest.approx(0.5)
    assert rules.quality_from_error(np.array([1.2, 0.3, -0.1])).tolist() == [0.0, 0.7, 1.0]


def test_curve_learner_log_log_slope_is_the_exponent():
    learner = CurveLearner(0.5, 0.05, 0.3, 2000, 1.0, 0.0)
    data = np.logspace(5, 7, 5)
    errors = np.array([1 - learner.fit(np.array([d]), np.array([0.0]))[0] for d in data])
    slope = np.polyfit(np.log(data), np.log(errors - 0.05), 1)[0]
    assert slope == pytest.approx(-0.3, abs=0.01)  # (1 + E/Dc) ~ E/Dc for E >> Dc


@given(
    satisfaction=st.floats(0, 1),
    reference=st.floats(0, 1),
    tenure=st.integers(0, 500),
)
def test_rules_give_the_same_bits_on_scalars_and_arrays(satisfaction, reference, tenure):
    """The agent engine calls the rules per user, the array engine on arrays."""
    args = (0.01, 5.0, 0.5, 26.0)
    scalar = rules.churn_hazard(satisfaction, reference, tenure, *args)
    array = rules.churn_hazard(np.array([satisfaction]), reference, np.array([tenure]), *args)
    assert float(scalar) == float(array[0])


def test_company_pipeline_thins_and_deploys_with_latency():
    scenario = Scenario().with_overrides(
        {"reinvestment.retrain_every": 2, "reinvestment.latency": 1, "data.filter_recall": 1.0,
         "data.filter_false_accept": 0.0, "data.feedback_rate": 1.0,
         "reinvestment.data_half_life": None,
         "population.groups.0.label_noise": 0.0, "population.groups.1.label_noise": 0.0}
    )  # fmt: skip
    company = Company(scenario)
    rng = np.random.default_rng(0)
    counts = company.collect(np.array([800, 200]), rng)
    # every interaction is a clean signal, kept and used: nothing is random here
    assert counts.new_examples.tolist() == [800, 200]
    assert company.examples.tolist() == [800.0, 200.0]
    assert not company.learn(1)  # not on the cadence
    assert not company.learn(2)  # trained at 2, goes live at 3
    assert company.model_version == 0
    assert company.learn(3)
    assert company.model_version == 1
    expected = CurveLearner.from_scenario(scenario.learning).fit(
        np.array([800.0, 200.0]), np.zeros(2)
    )
    np.testing.assert_array_equal(company.quality, expected)


def test_company_with_zero_reinvestment_never_learns():
    company = Company(Scenario().with_overrides({"reinvestment.rate": 0.0}))
    rng = np.random.default_rng(0)
    start = company.quality.copy()
    for step in range(1, 30):
        company.collect(np.array([5000, 1000]), rng)
        company.learn(step)
    assert company.examples.sum() == 0
    np.testing.assert_array_equal(company.quality, start)


def test_ab_test_keeps_the_deployed_model_when_the_new_one_is_not_better():
    company = Company(Scenario().with_overrides({"reinvestment.rate": 0.0}))
    rng = np.random.default_rng(0)
    for step in range(1, 13):
        company.collect(np.array([100, 20]), rng)
        company.learn(step)
    assert company.model_version == 0  # three retrains, none better than the cold start
    noisy = Company(Scenario().with_overrides({"reinvestment.ab_test": False,
                                               "reinvestment.rate": 0.0}))  # fmt: skip
    for step in range(1, 13):
        noisy.learn(step)
    # without the gate every retrain goes live: trained at 4 and 8, live at 5 and 9
    # (the one trained at 12 would go live at 13)
    assert noisy.model_version == 2


def test_when_several_models_are_due_the_newest_goes_live_once():
    # Trained at 4 and 8 with latency 8; at step 8 an intervention sets latency 0:
    # the model trained at 8 goes live at 8 and the one from 4 is obsolete.
    scenario = Scenario().with_overrides({"reinvestment.latency": 8, "reinvestment.ab_test": False})
    company = Company(scenario)
    rng = np.random.default_rng(1)
    for step in range(1, 8):
        company.collect(np.array([500, 100]), rng)
        assert not company.learn(step)
    company.update(scenario.with_overrides({"reinvestment.latency": 0}))
    company.collect(np.array([500, 100]), rng)
    assert company.learn(8)
    assert company.model_version == 1
    assert company.pending == []
