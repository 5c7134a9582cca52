"""The preference learner: a Bradley-Terry reward model fitted to preference pairs.

Responses have feature vectors ``x`` in R^d (``learning.features``), isotropic
Gaussian ``x ~ N(0, I_d)``. Group ``g``'s true utility is ``u_g(x) = w_g . x`` with a
unit direction rotated by the group's ``taste_angle`` theta_g in the plane of the
first two axes, ``w_g = cos(theta_g) e_1 + sin(theta_g) e_2``. A user of group ``g``
prefers response ``a`` to ``b`` with the Bradley-Terry probability [BradleyTerry52]_
``P(a > b) = sigma(beta (u_g(a) - u_g(b)))`` (``beta``: ``learning.beta``), and the pair
is then recorded swapped with the group's label noise epsilon_g (the flips the quality
filter let through are counted in the store, :mod:`simulator.firm.pairs`).

At each retrain the learner draws the features of the store's pairs from its own
stream (at most ``learning.max_pairs`` in all, each group's share kept) and fits the
reward model as Christiano et al. (2017) [Christiano17]_ do: a logistic regression
without intercept on the feature differences ``z = x_chosen - x_rejected``,
``min_w sum_i log(1 + exp(-w . z_i)) + (ridge / 2) |w|^2``, by trust-region Newton
(Newton's method). DPO (Rafailov et al. 2023
[Rafailov23]_) fits the same Bradley-Terry likelihood with the reward written as the
policy's log-ratio, so the same data and noise drive it.

Quality: the fitted direction's pairwise accuracy on group ``g`` (the share of pairs
it orders as the group's true utility does) is, for isotropic Gaussian features,
``acc_g = 1 - angle(w_hat, w_g) / pi`` (the chance that a random hyperplane separates
two directions at that angle); ``Q_g = (1 - e_0) + (e_0 - e_inf) (2 acc_g - 1)``,
clipped to [0, 1]: a coin flip (``w_hat = 0``) gives the cold-start quality
``1 - e_0``, a perfect ordering ``1 - e_inf``.

References
----------
.. [BradleyTerry52] Bradley, R. A. and Terry, M. E. (1952). Rank analysis of incomplete
   block designs: I. The method of paired comparisons. Biometrika 39, 324-345.
.. [Christiano17] Christiano, P. et al. (2017). Deep reinforcement learning from human
   preferences. NeurIPS.
.. [Rafailov23] Rafailov, R. et al. (2023). Direct preference optimization: your
   language model is secretly a reward model. NeurIPS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_expit

from ... import numerics
from .base import Fitted, Learner


def taste_directions(angles_degrees, features: int) -> np.ndarray:
    """Each group's true reward direction (unit rows): ``cos(theta) e_1 + sin(theta) e_2``."""
    theta = np.radians(np.asarray(angles_degrees, dtype=float))
    directions = np.zeros((len(theta), features))
    directions[:, 0], directions[:, 1] = np.cos(theta), np.sin(theta)
    return directions


def sample_pairs(
    rng: np.random.Generator, direction: np.ndarray, beta: float, size: int, flipped: int
) -> np.ndarray:
    """``size`` pairs of one group as feature differences ``x_chosen - x_rejected``.

    Two responses ``a, b ~ N(0, I_d)`` per pair (their difference ``N(0, 2 I_d)``); the
    user prefers ``a`` with ``sigma(beta w . (a - b))``; the first ``flipped`` pairs are
    recorded swapped (pairs are exchangeable, so which ones does not matter).
    """
    difference = rng.standard_normal((size, len(direction))) * np.sqrt(2.0)
    prefers_a = rng.random(size) < expit(beta * numerics.dot(difference, direction))
    prefers_a[:flipped] = ~prefers_a[:flipped]
    return np.where(prefers_a[:, None], difference, -difference)


def fit_bradley_terry(chosen_minus_rejected: np.ndarray, ridge: float) -> np.ndarray:
    """The ridge-penalised Bradley-Terry (logistic, no intercept) fit of ``w``:
    ``min_w sum_i log(1 + exp(-w . z_i)) + (ridge / 2) |w|^2``; strictly convex.

    Newton's method from ``w = 0`` with backtracking (Armijo), until the gradient's largest
    component is below 1e-9; every product is summed in a fixed order
    (:func:`~simulator.numerics.dot`), so the fit is the same to the bit on every CPU.
    """
    z = np.asarray(chosen_minus_rejected, dtype=float)
    d = z.shape[1]

    def objective(w):
        return -float(np.sum(log_expit(numerics.dot(z, w)))) + 0.5 * ridge * float(
            numerics.dot(w, w)
        )

    w = np.zeros(d)
    current = objective(w)
    for _ in range(200):
        zw = numerics.dot(z, w)
        p = expit(zw)
        gradient = -numerics.dot(expit(-zw), z) + ridge * w
        if float(np.max(np.abs(gradient))) <= 1e-9:
            break
        hessian = numerics.dot(z.T * (p * (1.0 - p)), z) + ridge * np.eye(d)
        step = numerics.solve_positive_definite(hessian, gradient)
        slope = float(numerics.dot(gradient, step))
        size = 1.0
        while True:
            trial = w - size * step
            value = objective(trial)
            if value <= current - 1e-4 * size * slope or size < 1e-12:
                break
            size *= 0.5
        w, current = trial, value
    return w


def pairwise_accuracy(weights: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Share of pairs ``weights`` orders as each true direction does, for isotropic
    Gaussian features: ``1 - angle / pi`` (1/2 for ``weights = 0``)."""
    norm = math.sqrt(float(numerics.dot(weights, weights)))  # not BLAS (np.linalg.norm)
    if norm == 0.0:
        return np.full(len(directions), 0.5)
    cosine = numerics.dot(directions, weights) / (norm * np.linalg.norm(directions, axis=1))
    return 1.0 - numerics.arccos(np.clip(cosine, -1.0, 1.0)) / np.pi


@dataclass(frozen=True)
class PreferenceLearner(Learner):
    """Bradley-Terry reward model over the store's preference pairs (module docstring)."""

    directions: np.ndarray
    """True reward direction per group (rows)."""
    beta: float
    ridge: float
    max_pairs: int
    initial_error: float
    floor_error: float
    rng: np.random.Generator | None = None
    """The firm's preference stream (the pairs' features)."""

    @classmethod
    def from_scenario(cls, learning, groups, rng=None) -> PreferenceLearner:
        return cls(
            directions=taste_directions([g.taste_angle for g in groups], learning.features),
            beta=learning.beta,
            ridge=learning.ridge,
            max_pairs=learning.max_pairs,
            initial_error=learning.initial_error,
            floor_error=learning.floor_error,
            rng=rng,
        )

    def cold_start(self, store) -> Fitted:
        """The fit of the curated pairs (``learning.initial_examples``), or a coin flip."""
        return self.fit(store, 0) or self.evaluate_params(np.zeros(self.directions.shape[1]))

    def sample_sizes(self, store) -> tuple[np.ndarray, np.ndarray]:
        """Pairs to draw per group, and of them the flipped ones: the held counts scaled
        down to ``max_pairs`` in all if there are more, rounded half up."""
        held, flipped = store.pairs.held, store.pairs.flipped
        total = float(held.sum())
        scale = min(1.0, self.max_pairs / total) if total > 0 else 0.0
        size = np.floor(held * scale + 0.5).astype(np.int64)
        share = np.divide(flipped, held, out=np.zeros_like(held), where=held > 0)
        return size, np.minimum(np.floor(size * share + 0.5).astype(np.int64), size)

    def fit(self, store, step: int) -> Fitted | None:
        """The reward model fitted to the store's pairs; None without any pair."""
        size, flipped = self.sample_sizes(store)
        if size.sum() == 0:
            return None
        z = np.concatenate([
            sample_pairs(self.rng, self.directions[g], self.beta, int(size[g]), int(flipped[g]))
            for g in range(len(size))
        ])  # fmt: skip
        return self.evaluate_params(fit_bradley_terry(z, self.ridge))

    def evaluate(self, model: Fitted) -> Fitted:
        return self.evaluate_params(model.params)

    def evaluate_params(self, params: np.ndarray) -> Fitted:
        """The model ``params`` scored on the groups' tastes as they are now."""
        accuracy = pairwise_accuracy(params, self.directions)
        spread = self.initial_error - self.floor_error
        quality = np.clip(1.0 - self.initial_error + spread * (2.0 * accuracy - 1.0), 0.0, 1.0)
        return Fitted(quality=quality, params=np.asarray(params, dtype=float))
