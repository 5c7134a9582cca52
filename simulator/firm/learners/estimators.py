"""Estimator learners: a real statistical model fitted to the data points users generated.

``learning.kind: estimator``: each group's risk is the fitted model's expected loss on
the group's true data distribution, and quality is ``exp(-risk)``. See docs/learners.md.

References
----------
.. [Hashimoto18] Hashimoto, T., Srivastava, M., Namkoong, H. and Liang, P. (2018).
   Fairness without demographics in repeated loss minimization. ICML, PMLR 80.
.. [Shumailov24] Shumailov, I. et al. (2024). AI models collapse when trained on
   recursively generated data. Nature 631, 755-759.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from ... import numerics
from .base import Fitted, Learner

COLD_START = np.array([0.0, 1.0])
"""Parameters ``(location, scale)`` of an estimator that has seen no data: it predicts 0
(the constant models) or is the standard normal (the Gaussian model)."""


def quality_from_risk(risk) -> np.ndarray:
    """Quality of an estimator for a group: ``Q = exp(-R)`` clipped to [0, 1].

    ``exp(-R)`` is also the stay probability ``nu(R)`` of Hashimoto et al.'s
    retention model [Hashimoto18]_, so quality reads as "the share of users the
    model keeps per step". Risks are >= 0 for every estimator (absolute and
    squared loss, and the Gaussian's excess log loss), so the clip is a guard.
    """
    return np.clip(numerics.exp(-np.asarray(risk, dtype=float)), 0.0, 1.0)


@dataclass(frozen=True)
class EstimatorLearner(Learner):
    """One model for every group, fitted to the data points in the training set.

    Every estimator is a location-scale model with parameters ``(location, scale)``:

    - ``median``: the constant ``location`` under absolute loss ``|y - location|``
      (the median); ``scale`` is the mean absolute residual, so the model is also
      the Laplace density fitted by maximum likelihood, which it samples from;
    - ``mean``: the constant ``location`` under squared loss (the mean); ``scale``
      is the root mean squared residual; it samples from ``N(location, scale^2)``;
    - ``gaussian``: the density ``N(location, scale^2)`` fitted by maximum
      likelihood (mean and variance with divisor n, not n - 1); its loss is the
      log loss.
    - ``logistic``: a linear classifier. A point ``z`` is a labelled example
      ``(x, y)``, ``y = +-1`` with equal probability and ``x = y z``: the two
      classes are mirror images, ``x | y ~ N(y mean_g, spread_g^2)``, so the
      Bayes boundary is ``x = 0`` and the model ``P(y = +1 | x) = sigmoid(w x)``
      has no intercept. Its log loss ``log(1 + exp(-w z))`` depends on ``z``
      alone. ``w`` is fitted with the ridge penalty ``w^2 / 2`` of
      scikit-learn's ``LogisticRegression(C=1, fit_intercept=False)``; the
      parameters are ``(w, 0)``. It is not generative: no synthetic data.

    Objectives: ``erm`` minimises the average loss over the training points;
    ``group_dro`` minimises Hashimoto et al.'s distributionally robust risk: the
    worst average loss over every subpopulation of share >= ``alpha_min``, in the
    chi-square dual form of [Hashimoto18]_ (as in the public ``whynot`` code of
    their repeated-loss-minimisation experiment)
    ``min_(theta, eta) C sqrt(E[(loss - eta)_+^2]) + eta``,
    ``C = sqrt(2 (1/alpha_min - 1)^2 + 1)``. It needs no group labels and protects
    every group whose share is at least ``alpha_min``.

    ``means`` and ``spreads`` are each group's true data distribution
    ``N(mean_g, spread_g^2)``, used for the risks.
    """

    estimator: str
    objective: str
    alpha_min: float
    means: np.ndarray
    spreads: np.ndarray
    privacy: object = None
    """Differential privacy (the scenario's ``privacy:`` section): the location is the
    Gaussian mechanism's private mean (:mod:`simulator.firm.privacy`). None = off."""
    privacy_rng: np.random.Generator | None = None
    """The firm's privacy stream (the noise draws)."""

    uses_points = True

    @property
    def generative(self) -> bool:  # type: ignore[override]
        """The logistic classifier models labels, not data: it cannot sample points."""
        return self.estimator != "logistic"

    @classmethod
    def from_scenario(cls, learning, groups) -> EstimatorLearner:
        return cls(
            estimator=learning.estimator,
            objective=learning.objective,
            alpha_min=learning.alpha_min,
            means=np.array([group.data_mean for group in groups], dtype=float),
            spreads=np.array([group.data_spread for group in groups], dtype=float),
        )

    # -- fitting -------------------------------------------------------------------

    # -- the learner interface -------------------------------------------------------

    def cold_start(self, store) -> Fitted:
        """The model fitted to the curated cold-start points, or the no-data model."""
        return self.fit(store, 0) or self.evaluate_params(self.cold_start_params())

    def fit(self, store, step: int) -> Fitted | None:
        """Fit the store's current training set; None if there is no usable data."""
        if self.privacy is not None and self.privacy.federated:
            from ..federated import federated_params  # FedAvg: the points stay with clients

            params = federated_params(self, store, step)
            return None if params is None or not self.usable(params) else (
                self.evaluate_params(params))  # fmt: skip
        data = store.points.training_set(step, store.decay)
        if data is None:
            return None
        params = self.fit_params(*data) if self.privacy is None else self.private_params(*data)
        if not self.usable(params):
            return None
        return self.evaluate_params(params)

    def evaluate(self, model: Fitted) -> Fitted:
        return model if model.params is None else self.evaluate_params(model.params)

    def evaluate_params(self, params: np.ndarray) -> Fitted:
        """The model with ``params``, scored on the groups' true distributions."""
        risk = self.risk(params)
        return Fitted(quality=self.quality(risk), risk=risk, params=params)

    def usable(self, params: np.ndarray) -> bool:
        """Whether a fit is a model: finite parameters, and for the Gaussian density a
        positive spread (one distinct point gives none: its likelihood is unbounded)."""
        finite = bool(np.all(np.isfinite(params)))
        return finite and (self.estimator != "gaussian" or float(params[1]) > 0.0)

    def sample(self, model: Fitted, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` synthetic points from ``model`` (Laplace for median, normal otherwise)."""
        return self.sample_params(model.params, size, rng)

    # -- the statistics -------------------------------------------------------------

    def cold_start_params(self) -> np.ndarray:
        """The parameters of a model that has seen no data: ``COLD_START``, or for the
        logistic classifier ``(w, 0) = (0, 0)``, a coin flip."""
        return np.zeros(2) if self.estimator == "logistic" else COLD_START.copy()

    def fit_params(self, values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Parameters ``(location, scale)`` fitted to ``values`` (weights: data ageing).

        An empty training set gives the cold-start parameters (:meth:`cold_start_params`).
        """
        values = np.asarray(values, dtype=float)
        if len(values) == 0:
            return self.cold_start_params()
        if weights is not None:
            weights = np.asarray(weights, dtype=float) / np.sum(weights)
        if self.estimator == "logistic":
            weight = _logistic_weight(values, weights, self.objective, self.alpha_min)
            return np.array([weight, 0.0])
        absolute = self.estimator == "median"
        if self.objective == "group_dro" and self.alpha_min < 1:
            location = _dro_location(values, weights, absolute, self.alpha_min)
        elif absolute:
            location = _weighted_median(values, weights)
        else:
            location = float(np.average(values, weights=weights))
        residual = values - location
        if absolute:
            scale = float(np.average(np.abs(residual), weights=weights))
        else:
            scale = float(np.sqrt(np.average(residual * residual, weights=weights)))
        return np.array([location, scale])

    def private_params(self, values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """``(location, scale)`` under differential privacy: the points are clipped to
        ``[-B, B]``, the location is their Gaussian-mechanism mean (one draw from the
        privacy stream) and the scale their root mean squared residual around it."""
        from ..privacy import private_mean

        values = np.asarray(values, dtype=float)
        if len(values) == 0:
            return self.cold_start_params()
        bound = float(self.privacy.clip)
        clipped = np.clip(values, -bound, bound)
        location = private_mean(clipped, weights, self.privacy, self.privacy_rng)
        residual = clipped - location
        scale = float(np.sqrt(np.average(residual * residual, weights=weights)))
        return np.array([location, scale])

    def risk(self, params: np.ndarray) -> np.ndarray:
        """Each group's expected loss under ``params`` on its true distribution (closed form).

        With ``d = location - mean_g`` and ``s = spread_g``:

        - median (absolute loss): ``E|Y - location| = s sqrt(2/pi) exp(-d^2 / 2s^2)
          + d (1 - 2 Phi(-d/s))``;
        - mean (squared loss): ``E(Y - location)^2 = s^2 + d^2``;
        - gaussian (log loss, minus the entropy of the true distribution, so that a
          perfect model has risk 0): the Kullback-Leibler divergence
          ``KL(N(mean_g, s^2) || N(location, scale^2)) = log(scale / s)
          + (s^2 + d^2) / (2 scale^2) - 1/2``.
        - logistic (log loss, minus that of the group's Bayes classifier, whose
          weight is ``w*_g = 2 mean_g / s^2``, so again a perfect model has risk 0):
          ``E[log(1 + exp(-w z))] - E[log(1 + exp(-w*_g z))]`` over
          ``z ~ N(mean_g, s^2)``, by Gauss-Hermite quadrature.
        """
        if self.estimator == "logistic":
            return logistic_excess_risk(float(params[0]), self.means, self.spreads)
        location, scale = float(params[0]), float(params[1])
        d, s = location - self.means, self.spreads
        if self.estimator == "median":
            return s * np.sqrt(2.0 / np.pi) * numerics.exp(-(d * d) / (2.0 * s * s)) + d * (
                1.0 - 2.0 * ndtr(-d / s)
            )
        if self.estimator == "mean":
            return s * s + d * d
        if scale <= 0:  # a degenerate (collapsed) density: infinitely wrong
            return np.full(len(s), np.inf)
        return numerics.log(scale / s) + (s * s + d * d) / (2.0 * scale * scale) - 0.5

    def quality(self, risk: np.ndarray) -> np.ndarray:
        return quality_from_risk(risk)

    def sample_params(self, params: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` synthetic points from the model (Laplace for median, normal otherwise)."""
        if size and self.estimator == "logistic":  # the scenario schema prevents this
            raise ValueError("a logistic classifier cannot sample data points")
        location, scale = float(params[0]), float(params[1])
        if self.estimator == "median":
            return rng.laplace(location, scale, size)
        return rng.normal(location, scale, size)


def _weighted_median(values: np.ndarray, weights: np.ndarray | None) -> float:
    """The median (``numpy.median``), or with weights the smallest value whose
    cumulative weight reaches half."""
    if weights is None:
        return float(np.median(values))
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def dro_constant(alpha_min: float) -> float:
    """``C = sqrt(2 (1/alpha_min - 1)^2 + 1)`` of Hashimoto et al.'s chi-square DRO dual."""
    return float(np.sqrt(2.0 * (1.0 / alpha_min - 1.0) ** 2 + 1.0))


def dro_risk(losses: np.ndarray, weights: np.ndarray | None, alpha_min: float) -> float:
    """Hashimoto et al.'s robust risk of ``losses``: ``min_eta C sqrt(E[(l - eta)_+^2]) + eta``.

    Convex in ``eta``. Where ``eta <= min(l)`` the objective is
    ``C sqrt(sd^2 + (mean - eta)^2) + eta``, stationary at ``eta = mean - sd / sqrt(C^2 - 1)``
    with value ``mean + sd sqrt(C^2 - 1)`` (a variance penalty). If that point lies at or
    below ``min(l)`` it is the minimum; otherwise the minimum lies in ``[min(l), max(l)]``
    and is found by bounded Brent minimisation.
    """
    c = dro_constant(alpha_min)
    excess_c2 = c * c - 1.0
    mean = float(np.average(losses, weights=weights))
    deviation = losses - mean
    sd = float(np.sqrt(np.average(deviation * deviation, weights=weights)))
    low, high = float(losses.min()), float(losses.max())
    if excess_c2 == 0.0 or sd == 0.0 or mean - sd / np.sqrt(excess_c2) <= low:
        return mean + sd * float(np.sqrt(excess_c2))

    def objective(eta: float) -> float:
        excess = np.maximum(losses - eta, 0.0)
        return c * float(np.sqrt(np.average(excess * excess, weights=weights))) + eta

    found = minimize_scalar(
        objective, bounds=(low, high), method="bounded", options={"xatol": 1e-10}
    )
    return float(found.fun)


def _dro_location(
    values: np.ndarray, weights: np.ndarray | None, absolute: bool, alpha_min: float
) -> float:
    """The constant minimising the DRO risk (convex in it): bounded Brent over the data range."""

    def robust(theta: float) -> float:
        residual = values - theta
        losses = np.abs(residual) if absolute else residual * residual
        return dro_risk(losses, weights, alpha_min)

    low, high = float(values.min()), float(values.max())
    if low == high:
        return low
    found = minimize_scalar(robust, bounds=(low, high), method="bounded",
                            options={"xatol": 1e-9 * max(1.0, high - low)})  # fmt: skip
    return float(found.x)


# -- the logistic classifier ----------------------------------------------------------

_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(96)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / np.sqrt(2.0 * np.pi)  # E[f(Z)], Z ~ N(0, 1)


def logistic_loss(weight: float, values: np.ndarray) -> np.ndarray:
    """Log loss ``log(1 + exp(-w z))`` of each point, computed without overflow."""
    return np.logaddexp(0.0, -weight * values)


def logistic_excess_risk(weight: float, means: np.ndarray, spreads: np.ndarray) -> np.ndarray:
    """Each group's expected log loss under ``weight`` minus its Bayes classifier's.

    ``z ~ N(mean_g, s_g^2)``; the Bayes weight is ``2 mean_g / s_g^2`` (the log
    odds of two normals ``N(+-mean_g, s_g^2)`` are linear in ``x`` with that slope).
    Gauss-Hermite quadrature with 96 nodes: exact to ~1e-10 for these smooth
    integrands at ``|w| s <= 100``.
    """
    means, spreads = np.asarray(means, dtype=float), np.asarray(spreads, dtype=float)
    z = means[:, None] + spreads[:, None] * _HERMITE_NODES[None, :]
    bayes = (2.0 * means / spreads**2)[:, None]
    excess = np.logaddexp(0.0, -weight * z) - np.logaddexp(0.0, -bayes * z)
    # >= 0 exactly (the quadrature can dip below)
    return np.maximum(numerics.dot(excess, _HERMITE_WEIGHTS), 0.0)


def _logistic_weight(
    values: np.ndarray, weights: np.ndarray | None, objective: str, alpha_min: float
) -> float:
    """Fit ``w``: minimise the (robust) average log loss plus ``w^2 / (2 n)``.

    scikit-learn's ``LogisticRegression(C=1)`` minimises ``sum_i l_i + w^2 / 2``;
    dividing by the number of points ``n`` gives the same minimiser in average
    form (with data ageing the average is weighted and the penalty stays ``1/n``). ERM is
    smooth and strictly convex: Newton's method from ``w = 0``, with step halving.
    ``group_dro`` replaces the average by Hashimoto et al.'s robust risk (convex
    in ``w``): bounded Brent minimisation on ``[-4 |w_erm| - 1, 4 |w_erm| + 1]``.
    """
    p = np.full(len(values), 1.0 / len(values)) if weights is None else weights
    penalty = 1.0 / len(values)

    def objective_erm(w: float) -> float:
        return float(numerics.dot(p, logistic_loss(w, values))) + 0.5 * penalty * w * w

    w = 0.0
    for _ in range(100):
        sig = 0.5 * (1.0 + np.tanh(0.5 * w * values))  # sigmoid(w z), stable
        gradient = -float(numerics.dot(p, values * (1.0 - sig))) + penalty * w
        curvature = float(numerics.dot(p, values * values * sig * (1.0 - sig))) + penalty
        step = gradient / curvature
        current = objective_erm(w)
        while objective_erm(w - step) > current and abs(step) > 1e-15:
            step *= 0.5
        w -= step
        if abs(step) <= 1e-12 * max(1.0, abs(w)):
            break
    if objective != "group_dro" or alpha_min >= 1:
        return float(w)

    def robust(v: float) -> float:
        return dro_risk(logistic_loss(v, values), weights, alpha_min) + 0.5 * penalty * v * v

    bound = 4.0 * abs(w) + 1.0
    found = minimize_scalar(robust, bounds=(-bound, bound), method="bounded",
                            options={"xatol": 1e-9 * bound})  # fmt: skip
    return float(found.x)
