"""The firm: the learning curve and the outside option by hand, the pipeline, deployment."""

import math

import numpy as np
import pytest

from simulator.firm import Firm
from simulator.firm.datastore import decay_factor
from simulator.firm.deployment import Deployment
from simulator.firm.learners import CurveLearner
from simulator.firm.learners.curve import effective_data, learning_curve_error, quality_from_error
from simulator.scenario import Scenario
from simulator.world.market import market_baseline


def test_market_baseline_of_one_step_is_the_arrays():
    """One step in plain floats gives the bits of the array formula, step by step."""
    steps = np.arange(0, 2000)
    for time_constant in (156.0, 13.0, 0.7, None):
        table = market_baseline(steps, 0.45, 0.83, time_constant)
        one = [market_baseline(int(k), 0.45, 0.83, time_constant) for k in steps]
        assert all(type(value) is float for value in one)
        assert np.array(one).tobytes() == np.asarray(table, dtype=float).tobytes()


def test_market_baseline_by_hand():
    # b0 + (binf - b0)(1 - e^{-t/T}) = 0.5 + 0.3 (1 - e^{-1}) at t = T
    assert market_baseline(156, 0.5, 0.8, 156) == pytest.approx(0.5 + 0.3 * (1 - math.exp(-1)))
    assert market_baseline(0, 0.5, 0.8, 156) == 0.5
    assert market_baseline(1000, 0.5, 0.8, None) == 0.5


def test_decay_factor_halves_data_after_half_life():
    factor = decay_factor(10)
    assert factor**10 == pytest.approx(0.5)
    assert decay_factor(None) == 1.0


def test_effective_data_with_transfer():
    data = np.array([100.0, 20.0])
    assert effective_data(data, 0.5).tolist() == [110.0, 70.0]
    assert effective_data(data, 1.0).tolist() == [120.0, 120.0]
    assert effective_data(data, 0.0).tolist() == [100.0, 20.0]


def test_learning_curve_by_hand():
    # e = 0.05 + 0.45 (1 + 2000/2000)^-0.3 + 0.5 * 0.1
    error = learning_curve_error(2000, 0.1, 0.5, 0.05, 0.3, 2000, 0.5)
    assert error == pytest.approx(0.05 + 0.45 * 2**-0.3 + 0.05)
    assert learning_curve_error(0, 0.0, 0.5, 0.05, 0.3, 2000, 0.5) == pytest.approx(0.5)
    assert quality_from_error(np.array([1.2, 0.3, -0.1])).tolist() == [0.0, 0.7, 1.0]


def test_curve_learner_log_log_slope_is_the_exponent():
    learner = CurveLearner(0.5, 0.05, 0.3, 2000, 1.0, 0.0)
    data = np.logspace(5, 7, 5)
    errors = np.array([1 - learner.quality_for(np.array([d]), np.array([0.0]))[0] for d in data])
    slope = np.polyfit(np.log(data), np.log(errors - 0.05), 1)[0]
    assert slope == pytest.approx(-0.3, abs=0.01)  # (1 + E/Dc) ~ E/Dc for E >> Dc


def test_firm_pipeline_thins_and_deploys_with_latency():
    scenario = Scenario().with_overrides(
        {"reinvestment.retrain_every": 2, "reinvestment.latency": 1, "data.filter_recall": 1.0,
         "data.filter_false_accept": 0.0, "data.feedback_rate": 1.0,
         "reinvestment.data_half_life": None,
         "population.groups.0.label_noise": 0.0, "population.groups.1.label_noise": 0.0}
    )  # fmt: skip
    firm = Firm(scenario)
    rng = np.random.default_rng(0)
    counts = firm.collect(np.array([800, 200]), rng)
    # every interaction is a clean signal, kept and used: nothing is random here
    assert counts.new_examples.tolist() == [800, 200]
    assert firm.store.examples.tolist() == [800.0, 200.0]
    assert not firm.learn(1)  # not on the cadence
    assert not firm.learn(2)  # trained at 2, goes live at 3
    assert firm.model_version == 0
    assert firm.learn(3)
    assert firm.model_version == 1
    expected = CurveLearner.from_scenario(scenario.learning).quality_for(
        np.array([800.0, 200.0]), np.zeros(2)
    )
    np.testing.assert_array_equal(firm.quality, expected)


def test_firm_with_zero_reinvestment_never_learns():
    firm = Firm(Scenario().with_overrides({"reinvestment.rate": 0.0}))
    rng = np.random.default_rng(0)
    start = firm.quality.copy()
    for step in range(1, 30):
        firm.collect(np.array([5000, 1000]), rng)
        firm.learn(step)
    assert firm.store.examples.sum() == 0
    np.testing.assert_array_equal(firm.quality, start)


def test_ab_test_keeps_the_deployed_model_when_the_new_one_is_worse():
    # Every signal wrong and let through: the noise penalty makes a retrained model worse
    # than the cold start (quality 1 - e_0 - lambda * 1 < 1 - e_0), so the gate keeps it back.
    noisy = {
        "population.groups.0.label_noise": 1.0, "population.groups.1.label_noise": 1.0,
        "data.filter_false_accept": 1.0, "learning.noise_penalty": 0.5,
    }  # fmt: skip
    gated = Firm(Scenario().with_overrides(noisy))
    ungated = Firm(Scenario().with_overrides(noisy | {"reinvestment.ab_test": False}))
    start = gated.quality.copy()
    for step in range(1, 13):
        for firm in (gated, ungated):
            firm.collect(np.array([100, 20]), np.random.default_rng(step))
            firm.learn(step)
    assert gated.model_version == 0  # three retrains, each worse than the cold start
    np.testing.assert_array_equal(gated.quality, start)
    # without the gate every retrain goes live: trained at 4 and 8, live at 5 and 9
    # (the one trained at 12 would go live at 13), and users get the worse model
    assert ungated.model_version == 2
    assert (ungated.quality < start).all()


def test_ab_test_ships_a_better_model():
    firm = Firm(Scenario())
    start = firm.quality.copy()
    for step in range(1, 6):
        firm.collect(np.array([5000, 1000]), np.random.default_rng(step))
        firm.learn(step)
    assert firm.model_version == 1  # trained at 4 on 6,000 x 5 interactions, live at 5
    assert (firm.quality > start).all()


def test_the_gate_compares_population_weighted_quality():
    shares = np.array([0.8, 0.2])
    assert Deployment.better(np.array([0.7, 0.5]), np.array([0.6, 0.6]), shares)  # 0.66 > 0.6
    # better for the minority, worse for the average user: 0.64 < 0.66
    assert not Deployment.better(np.array([0.6, 0.8]), np.array([0.7, 0.5]), shares)
    assert not Deployment.better(np.array([0.6, 0.6]), np.array([0.6, 0.6]), shares)  # a tie


def test_when_several_models_are_due_the_newest_goes_live_once():
    # Trained at 4 and 8 with latency 8; at step 8 an intervention sets latency 0:
    # the model trained at 8 goes live at 8 and the one from 4 is obsolete.
    scenario = Scenario().with_overrides({"reinvestment.latency": 8, "reinvestment.ab_test": False})
    firm = Firm(scenario)
    rng = np.random.default_rng(1)
    for step in range(1, 8):
        firm.collect(np.array([500, 100]), rng)
        assert not firm.learn(step)
    firm.update(scenario.with_overrides({"reinvestment.latency": 0}))
    firm.collect(np.array([500, 100]), rng)
    assert firm.learn(8)
    assert firm.model_version == 1
    assert firm.deployment.pending == []
