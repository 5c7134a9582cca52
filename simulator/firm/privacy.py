"""Differential privacy on training (``privacy:``): the Gaussian mechanism.

A mean of points clipped to ``[-B, B]`` changes by at most ``Delta = 2 B max_i p_i`` when
one point is replaced (``p_i`` the normalised weights; ``2 B / n`` without data ageing).
Adding ``N(0, sigma^2)`` noise with

    sigma = sqrt(2 ln(1.25 / delta)) Delta / epsilon

makes the released mean ``(epsilon, delta)``-differentially private for ``epsilon < 1``
(Dwork and Roth 2014, Theorem A.1 [DR14]_; the usual calibration, used beyond 1 too).

- **Estimator learners** (``mean``, ``gaussian``): the fitted location is the private
  mean of the clipped points (:func:`private_mean`); its error is the sampling error plus
  the noise, so its mean squared error is ``Var(clip(Y)) / n + bias^2 + sigma^2``
  (validated in tests/validation/test_privacy.py). The scale is fitted on the clipped
  points around the private location (it is not privatised itself).
- **The learning curve** has no points to add noise to; it takes the equivalent
  *effective sample size*: a private mean of ``n`` points from a group of spread ``s``
  has the error of a plain mean of ``n_eff`` points,
  ``s^2 / n_eff = s^2 / n + sigma^2``, ``sigma = k 2 B / (n epsilon)``, ``k =
  sqrt(2 ln(1.25 / delta))``, so

      n_eff = n^2 / (n + c),   c = (2 k B / (s epsilon))^2

  examples (:func:`effective_examples`); each group's training examples (and their
  mislabelled share alike) enter the curve as ``n_eff``. Small data suffers most: at
  ``n = c`` half the data is lost to the noise, at ``n >> c`` almost none.

Each training run is one release; the budget spent over many retrains (composition) is
not tracked.

References
----------
.. [DR14] Dwork, C. and Roth, A. (2014). The algorithmic foundations of differential
   privacy. Foundations and Trends in Theoretical Computer Science 9(3-4), 211-407.
"""

from __future__ import annotations

import numpy as np

from .. import numerics


def noise_multiplier(delta: float) -> float:
    """``k = sqrt(2 ln(1.25 / delta))``: sigma in units of sensitivity / epsilon."""
    return float(np.sqrt(2.0 * numerics.log(1.25 / delta)))


def gaussian_sigma(epsilon: float, delta: float, sensitivity: float) -> float:
    """The Gaussian mechanism's noise: ``sqrt(2 ln(1.25/delta)) sensitivity / epsilon``."""
    return noise_multiplier(delta) * sensitivity / epsilon


def mean_sensitivity(bound: float, n: int, weights: np.ndarray | None = None) -> float:
    """Sensitivity of the (weighted) mean of points in ``[-bound, bound]``: ``2 bound
    max_i p_i`` (``2 bound / n`` unweighted)."""
    if weights is None:
        return 2.0 * bound / n
    weights = np.asarray(weights, dtype=float)
    return 2.0 * bound * float(np.max(weights) / np.sum(weights))


def private_mean(
    values: np.ndarray, weights: np.ndarray | None, privacy, rng: np.random.Generator
) -> float:
    """The Gaussian mechanism's release of the mean of ``values`` clipped to
    ``[-privacy.clip, privacy.clip]``: one normal draw from ``rng``."""
    bound = float(privacy.clip)
    clipped = np.clip(np.asarray(values, dtype=float), -bound, bound)
    mean = float(np.average(clipped, weights=weights))
    sigma = gaussian_sigma(privacy.epsilon, privacy.delta,
                           mean_sensitivity(bound, len(clipped), weights))  # fmt: skip
    return mean + sigma * float(rng.standard_normal())


def effective_examples(examples: np.ndarray, spreads: np.ndarray, privacy) -> np.ndarray:
    """The learning curve's effective sample size under privacy: ``n^2 / (n + c_g)``,
    ``c_g = (2 k B / (s_g epsilon))^2`` (the module docstring)."""
    examples = np.asarray(examples, dtype=float)
    c = privacy_constant(spreads, privacy)
    return np.divide(examples * examples, examples + c, out=np.zeros_like(examples),
                     where=examples + c > 0)  # fmt: skip


def privacy_constant(spreads: np.ndarray, privacy) -> np.ndarray:
    """``c_g = (2 k B / (s_g epsilon))^2``: the examples at which privacy halves the data."""
    k = noise_multiplier(privacy.delta)
    return (2.0 * k * privacy.clip / (np.asarray(spreads, dtype=float) * privacy.epsilon)) ** 2
