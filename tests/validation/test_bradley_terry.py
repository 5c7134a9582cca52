"""Validation: the preference learner's Bradley-Terry fit against its statistical theory.

Pairs of responses ``a, b ~ N(0, I_d)`` are ordered by a user whose true utility is
``u(x) = w . x`` (|w| = 1) with the Bradley-Terry probability (Bradley and Terry 1952)
``P(a > b) = sigma(beta (u(a) - u(b)))``, then recorded swapped with probability eps.
Every replicate draws ``n`` training pairs with the simulator's own
:func:`~simulator.firm.learners.preference.sample_pairs` and fits them with its own
:func:`~simulator.firm.learners.preference.fit_bradley_terry` (ridge 1); replicate ``r``
uses seed ``r``. Three published or textbook results:

1. **Held-out accuracy on noisy labels approaches the Bradley-Terry optimum**
   ``E[max(p, 1 - p)]``, ``p = eps + (1 - 2 eps) sigma(beta t)``, ``t = w . (a - b) ~ N(0, 2)``
   (no rule can beat ordering each pair by its true utility). **Tolerance, from theory:**
   the held-out accuracy of a fitted ``w_hat`` on ``m`` fresh pairs is binomial, standard
   error ``sqrt(a (1 - a) / m)``; the fit's shortfall from the optimum is at most
   ``(1 - 2 eps) beta tan^2(angle) / (2 sqrt(pi))`` (theory.excess_bound, second order in
   the angle), with the angle at its ``1 - alpha'`` asymptotic quantile
   ``angle^2 <= V chi2_{d-1}(1 - alpha') / n``: an O(d / n) excess risk. So
   ``|acc - opt| <= z se + excess``, ``z`` the normal critical value at the family-wise
   rate alpha = 0.001, Bonferroni-corrected over every check of the test. The exact
   accuracy at the measured angle (theory.accuracy_at_angle) must also be within
   ``z se``.
2. **Agreement with the true preference approaches 1**: the share of held-out pairs
   ``w_hat`` orders as ``w`` does is ``1 - angle / pi`` (a random hyperplane separates two
   directions at that angle with probability angle / pi); checked within ``z se`` of the
   closed form at the measured angle, and ``>= 1 - angle_max / pi - z se``.
3. **The fit recovers w, the angle shrinking like sqrt(d / n)**: by the sandwich
   covariance of the misspecified logistic fit (White 1982; theory.logistic_limit),
   ``n angle^2 / V`` is asymptotically chi-square with ``d - 1`` degrees of freedom, so the
   sum over R replicates is chi-square with ``R (d - 1)``: the check is that it lies in the
   central ``1 - alpha'`` interval. At eps = 0 the model is well specified and the fit's
   norm converges to 1 (c = 1 in theory.logistic_limit, checked by hand).
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from scipy import stats

from simulator.firm.learners.preference import (
    fit_bradley_terry,
    pairwise_accuracy,
    sample_pairs,
    taste_directions,
)

from . import theory

ALPHA = 0.001
D = 8
BETA = 1.0
HELD_OUT = 20_000


def replicate(seed: int, n: int, flip: float) -> dict:
    """One fit on ``n`` noisy training pairs, scored on HELD_OUT fresh noisy pairs."""
    rng = np.random.default_rng(seed)
    w = taste_directions([0.0], D)[0]
    weights = fit_bradley_terry(sample_pairs(rng, w, BETA, n, int(rng.binomial(n, flip))), 1.0)
    test = sample_pairs(rng, w, BETA, HELD_OUT, int(rng.binomial(HELD_OUT, flip)))
    chosen_first = test @ weights > 0  # the model prefers the recorded chosen response
    angle = float(np.pi * (1.0 - pairwise_accuracy(weights, w[None, :])[0]))
    return {
        "accuracy": float(np.mean(chosen_first)),
        "agreement": float(np.mean(np.sign(test @ weights) == np.sign(test @ w))),
        "angle": angle,
        "norm": float(np.linalg.norm(weights)),
    }


def check_case(n: int, flip: float, replicates: int, comparisons: int) -> dict:
    """The three checks of the module docstring for one (n, eps); returns the numbers."""
    z = float(stats.norm.isf(ALPHA / (2 * comparisons)))
    limit = theory.logistic_limit(BETA, flip)
    optimum = theory.bradley_terry_optimum(BETA, flip)
    angle_max = float(np.sqrt(limit.angle_variance * stats.chi2.isf(ALPHA / comparisons, D - 1)
                              / n))  # fmt: skip
    allowed_excess = theory.excess_bound(angle_max, BETA, flip)
    runs = [replicate(seed, n, flip) for seed in range(replicates)]
    for run in runs:
        se = np.sqrt(optimum * (1 - optimum) / HELD_OUT)
        assert abs(run["accuracy"] - optimum) <= z * se + allowed_excess, (n, flip, run)
        expected = theory.accuracy_at_angle(run["angle"], BETA, flip)
        assert abs(run["accuracy"] - expected) <= z * se, (n, flip, run, expected)
        agree = 1.0 - run["angle"] / np.pi
        se_agree = np.sqrt(max(agree * (1 - agree), 1e-12) / HELD_OUT)
        assert abs(run["agreement"] - agree) <= z * se_agree + 1e-12, (n, flip, run)
        assert run["agreement"] >= 1.0 - angle_max / np.pi - z * se_agree, (n, flip, run)
    statistic = sum(n * run["angle"] ** 2 / limit.angle_variance for run in runs)
    dof = replicates * (D - 1)
    low, high = (
        stats.chi2.ppf(ALPHA / (2 * comparisons), dof),
        stats.chi2.isf(ALPHA / (2 * comparisons), dof),
    )
    assert low <= statistic <= high, (n, flip, statistic, low, high)
    return {
        "n": n, "eps": flip, "optimum": optimum,
        "accuracy": float(np.mean([r["accuracy"] for r in runs])),
        "agreement": float(np.mean([r["agreement"] for r in runs])),
        "rms_angle": float(np.sqrt(np.mean([r["angle"] ** 2 for r in runs]))),
        "theory_rms_angle": float(np.sqrt((D - 1) * limit.angle_variance / n)),
        "chi2_ratio": statistic / dof, "allowed_excess": allowed_excess,
    }  # fmt: skip


def test_theory_numbers_by_hand():
    # eps = 1/2: labels are coin flips, no rule beats 1/2
    assert theory.bradley_terry_optimum(BETA, 0.5) == pytest.approx(0.5, abs=1e-12)
    # beta -> infinity, eps = 0: a perfect ordering; with eps it is 1 - eps
    assert theory.bradley_terry_optimum(1e6, 0.0) == pytest.approx(1.0, abs=1e-3)
    assert theory.bradley_terry_optimum(1e6, 0.2) == pytest.approx(0.8, abs=1e-3)
    # at angle 0 the accuracy is the optimum; at pi/2 a coin flip
    assert theory.accuracy_at_angle(0.0, BETA, 0.1) == pytest.approx(
        theory.bradley_terry_optimum(BETA, 0.1), abs=1e-12
    )
    assert theory.accuracy_at_angle(np.pi / 2, BETA, 0.1) == pytest.approx(0.5, abs=1e-9)
    # well specified (eps = 0): the logistic fit converges to w itself
    assert theory.logistic_limit(BETA, 0.0).scale == pytest.approx(1.0, abs=1e-6)
    # the excess bound holds at small and moderate angles
    for angle in (0.05, 0.2, 0.4):
        shortfall = theory.bradley_terry_optimum(BETA, 0.1) - theory.accuracy_at_angle(
            angle, BETA, 0.1
        )
        assert 0 < shortfall <= theory.excess_bound(angle, BETA, 0.1)


def test_pairwise_accuracy_closed_form_by_hand():
    w = taste_directions([0.0, 90.0, 60.0], 4)
    np.testing.assert_allclose(w[1], [0.0, 1.0, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(w[2], [0.5, np.sqrt(3) / 2, 0.0, 0.0], atol=1e-15)
    # a fit along the reference: 1 - 0 = 1, 1 - (pi/2)/pi = 1/2, 1 - (pi/3)/pi = 2/3
    np.testing.assert_allclose(pairwise_accuracy(np.array([2.0, 0, 0, 0]), w), [1, 0.5, 2 / 3])
    np.testing.assert_allclose(pairwise_accuracy(np.zeros(4), w), [0.5, 0.5, 0.5])


FAST_CASES = tuple(product((500, 4000), (0.0, 0.1, 0.3)))


@pytest.mark.parametrize(("n", "flip"), FAST_CASES)
def test_bradley_terry_fit_reaches_its_theory(n, flip):
    """Reduced: R = 10 replicates per case (each checked 4 times, plus the chi-square)."""
    replicates = 10
    check_case(n, flip, replicates, comparisons=len(FAST_CASES) * (4 * replicates + 1))


@pytest.mark.slow
def test_bradley_terry_fit_reaches_its_theory_full():
    """Full size: R = 200 replicates, n from 250 to 32,000, eps in {0, 0.1, 0.2, 0.3}."""
    cases = tuple(product((250, 1000, 4000, 16000, 32000), (0.0, 0.1, 0.2, 0.3)))
    replicates = 200
    rows = [check_case(n, flip, replicates, len(cases) * (4 * replicates + 1))
            for n, flip in cases]  # fmt: skip
    for row in rows:
        print({key: round(value, 5) if isinstance(value, float) else value
               for key, value in row.items()})  # fmt: skip
