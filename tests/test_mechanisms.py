"""The user-side mechanisms: formulas against values computed by hand, and each
mechanism's scalar kernel (Mesa agent) against its vector kernel (arrays)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.mechanisms import fires
from simulator.mechanisms.adoption import adopted_neighbour_share, adoption_events, attractiveness
from simulator.mechanisms.retention import churn_hazard, lock_in_factor, updated_satisfaction


def test_fires_compares_hazard_times_dt_with_the_exponential_draw():
    assert fires(0.5, 2.0, 0.99)  # 1.0 > 0.99
    assert not fires(0.5, 2.0, 1.01)
    assert not fires(0.0, 1.0, 0.0)  # a zero hazard never fires


def test_fires_has_the_hazard_probability():
    # P(h dt > E) = 1 - exp(-h dt) for E ~ Exp(1). With n = 200_000 draws the
    # standard error of the frequency is sqrt(p(1-p)/n) ~ 0.0011; allow 5 s.e.
    rng = np.random.default_rng(1)
    draws = rng.standard_exponential(200_000)
    p = 1 - math.exp(-0.3 * 1.5)
    freq = fires(0.3, 1.5, draws).mean()
    assert abs(freq - p) < 5 * math.sqrt(p * (1 - p) / draws.size)


def test_attractiveness_by_hand():
    assert attractiveness(0.7, 0.5, 4.0) == pytest.approx(math.exp(0.8))
    assert attractiveness(0.2, 0.9, 0.0) == 1.0  # kappa = 0: plain Bass


def test_adopted_neighbour_share_handles_isolated_users():
    assert adopted_neighbour_share(2, 8) == 0.25
    assert adopted_neighbour_share(0, 0) == 0.0
    out = adopted_neighbour_share(np.array([2, 0]), np.array([8, 0]))
    assert out.tolist() == [0.25, 0.0]


def test_bass_adoption_by_hand():
    # p A dt = 0.01 * 2 * 1 = 0.02; q frac A dt = 0.3 * 0.5 * 2 = 0.3
    adopt, wom = adoption_events("bass", 0.5, 2.0, 0.01, 0.3, 0.18, 1.0, 0.5, 0.2)
    assert adopt and wom  # only the word-of-mouth clock fired (0.3 > 0.2, 0.02 < 0.5)
    adopt, wom = adoption_events("bass", 0.5, 2.0, 0.01, 0.3, 0.18, 1.0, 0.01, 0.5)
    assert adopt and not wom  # only the spontaneous clock fired
    # both fired: event times 0.01/0.02 = 0.5 (spontaneous) vs 0.1/0.3 = 0.33 (social)
    adopt, wom = adoption_events("bass", 0.5, 2.0, 0.01, 0.3, 0.18, 1.0, 0.01, 0.1)
    assert adopt and wom
    adopt, wom = adoption_events("bass", 0.5, 2.0, 0.01, 0.3, 0.18, 1.0, 0.5, 0.5)
    assert not adopt and not wom


def test_bass_adoption_probability_is_bass_hazard():
    # Two competing clocks give P(adopt) = 1 - exp(-(p + q frac) A dt).
    rng = np.random.default_rng(2)
    n = 200_000
    adopt, wom = adoption_events(
        "bass", np.full(n, 0.4), 1.5, 0.05, 0.4, 0.0, 1.0,
        rng.standard_exponential(n), rng.standard_exponential(n),
    )  # fmt: skip
    p = 1 - math.exp(-(0.05 + 0.4 * 0.4) * 1.5)
    assert abs(adopt.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    # Share won by word of mouth among adopters = q frac / (p + q frac) = 0.16 / 0.21
    share = wom.sum() / adopt.sum()
    assert abs(share - 0.16 / 0.21) < 5 * math.sqrt(0.25 / adopt.sum())


def test_threshold_adoption_by_hand():
    adopt, wom = adoption_events("threshold", 0.2, 1.0, 0.0, 0.0, 0.18, 1.0, 1.0, 1.0)
    assert adopt and wom
    adopt, wom = adoption_events("threshold", 0.1, 1.0, 0.0, 0.0, 0.18, 1.0, 1.0, 1.0)
    assert not adopt
    # an isolated user (share 0) never cascades, even with threshold 0
    adopt, _ = adoption_events("threshold", 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0)
    assert not adopt


def test_churn_hazard_by_hand():
    # c0 exp(-beta (s - Qref)) (1 - l (1 - e^{-tau/T}))
    expected = 0.01 * math.exp(-5 * (0.6 - 0.5)) * (1 - 0.5 * (1 - math.exp(-26 / 26)))
    assert churn_hazard(0.6, 0.5, 26, 0.01, 5.0, 0.5, 26) == pytest.approx(expected)
    # a brand-new user has no lock-in
    assert lock_in_factor(0, 0.5, 26) == 1.0


def test_satisfaction_moves_towards_quality():
    assert updated_satisfaction(0.4, 0.8, 0.25) == pytest.approx(0.5)


@given(
    satisfaction=st.floats(0, 1),
    reference=st.floats(0, 1),
    tenure=st.integers(0, 500),
)
def test_rules_give_the_same_bits_on_scalars_and_arrays(satisfaction, reference, tenure):
    """The agent engine calls the rules per user, the array engine on arrays."""
    args = (0.01, 5.0, 0.5, 26.0)
    scalar = churn_hazard(satisfaction, reference, tenure, *args)
    array = churn_hazard(np.array([satisfaction]), reference, np.array([tenure]), *args)
    assert float(scalar) == float(array[0])
