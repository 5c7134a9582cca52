"""Validation: the differentially private mean's mean squared error matches its closed form.

The Gaussian mechanism (Dwork and Roth 2014, Theorem A.1) releases the mean of ``n``
points clipped to ``[-B, B]`` plus ``N(0, sigma^2)``, ``sigma = sqrt(2 ln(1.25/delta))
(2B/n) / epsilon``. For data ``Y ~ N(mu, s^2)`` its error against the true mean ``mu`` is
the clipped sample mean's error plus independent noise, so

    MSE = Var(clip(Y)) / n + (E[clip(Y)] - mu)^2 + sigma^2,

with the clipped normal's moments in closed form (below). Every replicate runs the
simulator's own :func:`simulator.firm.privacy.private_mean` (and, in one case, the
estimator learner's private fit) on fresh data; replicates use seeds 0, 1, ..., R - 1.

**Tolerance, from theory.** The squared errors of R independent replicates have a mean
whose standard error is ``sd(e^2) / sqrt(R)`` (estimated from the replicates); the check
allows ``z * se`` with ``z`` the two-sided normal critical value at the family-wise
false-failure rate alpha = 0.001, Bonferroni-corrected over the cases compared
(docs/validation.md, "How tolerances are set"). With R = 4,000 (the default suite) that
is about 11 % of the MSE; with R = 100,000 (slow) about 2 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy.stats import norm

from simulator.firm.learners.curve import CurveLearner
from simulator.firm.learners.estimators import EstimatorLearner
from simulator.firm.privacy import (
    effective_examples,
    gaussian_sigma,
    mean_sensitivity,
    noise_multiplier,
    private_mean,
)
from simulator.scenario.regulation import Privacy

ALPHA = 0.001


@dataclass(frozen=True)
class Case:
    n: int
    epsilon: float
    delta: float
    bound: float
    mean: float
    spread: float


CASES = (
    Case(n=50, epsilon=1.0, delta=1e-5, bound=3.0, mean=0.0, spread=1.0),  # clip rarely binds
    Case(n=200, epsilon=0.5, delta=1e-6, bound=1.5, mean=0.5, spread=1.0),  # biased by clipping
    Case(n=1000, epsilon=5.0, delta=1e-5, bound=4.0, mean=-0.3, spread=1.5),  # sampling dominates
)


def clipped_moments(mean: float, spread: float, bound: float) -> tuple[float, float]:
    """``E[clip(Y)]`` and ``Var(clip(Y))`` for ``Y ~ N(mean, spread^2)`` clipped to
    ``[-bound, bound]`` (the truncated-normal integrals with the clipped mass at the ends)."""
    a, b = (-bound - mean) / spread, (bound - mean) / spread
    mass = norm.cdf(b) - norm.cdf(a)
    first = (-bound * norm.cdf(a) + bound * norm.sf(b) + mean * mass
             + spread * (norm.pdf(a) - norm.pdf(b)))  # fmt: skip
    inside = ((mean * mean + spread * spread) * mass
              + 2 * mean * spread * (norm.pdf(a) - norm.pdf(b))
              + spread * spread * (a * norm.pdf(a) - b * norm.pdf(b)))  # fmt: skip
    second = bound * bound * (norm.cdf(a) + norm.sf(b)) + inside
    return float(first), float(second - first * first)


def closed_form_mse(case: Case) -> float:
    expected, variance = clipped_moments(case.mean, case.spread, case.bound)
    sigma = gaussian_sigma(case.epsilon, case.delta, 2 * case.bound / case.n)
    return variance / case.n + (expected - case.mean) ** 2 + sigma**2


def squared_errors(case: Case, replicates: int) -> np.ndarray:
    privacy = Privacy(epsilon=case.epsilon, delta=case.delta, clip=case.bound)
    errors = np.empty(replicates)
    for seed in range(replicates):
        rng = np.random.default_rng(seed)
        values = rng.normal(case.mean, case.spread, case.n)
        errors[seed] = private_mean(values, None, privacy, rng) - case.mean
    return errors * errors


def check(case: Case, replicates: int, comparisons: int) -> dict:
    squares = squared_errors(case, replicates)
    measured, theory = float(squares.mean()), closed_form_mse(case)
    standard_error = float(squares.std(ddof=1) / np.sqrt(replicates))
    z = float(norm.isf(ALPHA / (2 * comparisons)))
    assert abs(measured - theory) <= z * standard_error, (case, measured, theory, standard_error)
    return {"measured": measured, "theory": theory, "allowed": z * standard_error}


def test_gaussian_mechanism_numbers_by_hand():
    # k = sqrt(2 ln(1.25 / 1e-5)) = sqrt(23.4724) = 4.844805; Delta = 2 * 3 / 50 = 0.12
    assert noise_multiplier(1e-5) == pytest.approx(4.844805262605389, rel=1e-12)
    assert mean_sensitivity(3.0, 50) == pytest.approx(0.12)
    assert gaussian_sigma(1.0, 1e-5, 0.12) == pytest.approx(0.5813766315126466, rel=1e-12)
    # aged data: the largest normalised weight sets the sensitivity: 2 * 3 * (4 / 10)
    assert mean_sensitivity(3.0, 4, np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(2.4)


def test_learning_curve_effective_sample_size_by_hand():
    # c = (2 k B / (s epsilon))^2 = (2 * 4.844805 * 3)^2 = 844.997; n_eff = n^2 / (n + c)
    privacy = Privacy(epsilon=1.0, delta=1e-5, clip=3.0)
    np.testing.assert_allclose(effective_examples(np.array([1000.0, 0.0]), np.ones(2), privacy),
                               [1e6 / (1000 + 844.9969691724795), 0.0])  # fmt: skip
    # and it is the sample size at which a plain mean has the private mean's error
    n, c = 1000.0, 844.9969691724795
    sigma = gaussian_sigma(1.0, 1e-5, 2 * 3.0 / n)
    assert 1.0 / (n * n / (n + c)) == pytest.approx(1.0 / n + sigma**2, rel=1e-12)
    curve = CurveLearner(0.5, 0.05, 0.3, 2000.0, 0.0, 0.0, privacy_constant=(c,))
    plain = CurveLearner(0.5, 0.05, 0.3, 2000.0, 0.0, 0.0)
    private = curve.quality_for(np.array([n]), np.zeros(1))
    np.testing.assert_allclose(private, plain.quality_for(np.array([n * n / (n + c)]), np.zeros(1)))


def test_dp_mean_mse_matches_closed_form_reduced():
    for case in CASES:
        check(case, replicates=4000, comparisons=len(CASES) + 1)


def test_private_estimator_learner_location_has_the_closed_form_mse():
    case = CASES[0]
    privacy = Privacy(epsilon=case.epsilon, delta=case.delta, clip=case.bound)
    replicates, errors = 3000, []
    for seed in range(replicates):
        rng = np.random.default_rng(seed)
        means, spreads = np.array([case.mean]), np.array([case.spread])
        learner = EstimatorLearner(
            "mean", "erm", 1.0, means, spreads, privacy=privacy, privacy_rng=rng
        )
        values = rng.normal(case.mean, case.spread, case.n)
        errors.append(learner.private_params(values)[0] - case.mean)
    squares = np.square(errors)
    se = squares.std(ddof=1) / np.sqrt(replicates)
    z = norm.isf(ALPHA / (2 * (len(CASES) + 1)))
    assert abs(squares.mean() - closed_form_mse(case)) <= z * se


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"n{c.n}-eps{c.epsilon}")
def test_dp_mean_mse_matches_closed_form_full(case):
    result = check(case, replicates=100_000, comparisons=len(CASES))
    print(f"\n{case}: MSE {result['measured']:.6g}, theory {result['theory']:.6g}, "
          f"allowed +-{result['allowed']:.3g}")  # fmt: skip
