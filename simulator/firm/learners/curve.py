"""The learning curve: data counts -> error -> quality, per group.

Error (Hestness et al. 2017 power-law form [Hestness17]_):
``e_g = e_inf + (e_0 - e_inf) (1 + E_g / D_c)^(-alpha) + lambda eta_g``, with the
effective data ``E_g = D_g + tau sum_{h != g} D_h`` (``tau`` = transfer between
groups) and ``eta_g`` the share of wrong labels in it; quality ``Q_g = 1 - e_g``
clipped to [0, 1].

References
----------
.. [Hestness17] Hestness, J. et al. (2017). Deep learning scaling is predictable,
   empirically. arXiv:1712.00409.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ... import numerics
from ...compiled import jit
from ...compiled import loaded as compiled_loaded
from ...numerics import sum_in_order
from .base import Fitted, Learner


def effective_data(data: np.ndarray, transfer: float) -> np.ndarray:
    """Data each group's model effectively learns from: ``E_g = D_g + tau sum_{h != g} D_h``.

    ``transfer`` (tau) = 1 pools all data (one model serves everyone equally well);
    0 means each group learns only from its own data.
    """
    data = np.asarray(data, dtype=float)
    total = sum_in_order(data)
    return data + transfer * (total - data)


def learning_curve_error(
    effective: ArrayLike,
    noise_share: ArrayLike,
    initial_error: float,
    floor_error: float,
    exponent: float,
    scale: float,
    noise_penalty: float,
):
    """Model error from data: ``e = e_inf + (e_0 - e_inf) (1 + E / D_c)^(-alpha) + lambda eta``,
    with ``E`` the effective training examples and ``eta`` the share of wrong labels in them."""
    learnable = (initial_error - floor_error) * numerics.power(
        1.0 + np.divide(effective, scale), -exponent
    )
    return floor_error + learnable + noise_penalty * np.asarray(noise_share, dtype=float)


def quality_from_error(error: ArrayLike):
    """Quality seen by users: ``Q = 1 - e`` clipped to [0, 1] (as ``numpy.clip``, NaN kept,
    without its call overhead: a deployment's fixed cost)."""
    return np.minimum(np.maximum(1.0 - np.asarray(error, dtype=float), 0.0), 1.0)


@jit
def _curve_quality(
    examples, wrong, transfer, initial_error, floor_error, exponent, scale, noise_penalty, out
):  # fmt: skip
    """:meth:`CurveLearner.quality_for`'s quality per group into ``out``: the operations of
    :func:`effective_data`, :func:`learning_curve_error` and :func:`quality_from_error`
    in their order (``sum_in_order``'s left-to-right sums; ``math.pow`` is the C
    library's, as ``numerics.power`` is on every CPU; NaN kept by the clip)."""
    total = 0.0
    total_wrong = 0.0
    for g in range(len(examples)):
        total += examples[g]
    for g in range(len(wrong)):
        total_wrong += wrong[g]
    reach = initial_error - floor_error
    for g in range(len(examples)):
        effective = examples[g] + transfer * (total - examples[g])
        effective_wrong = wrong[g] + transfer * (total_wrong - wrong[g])
        share = effective_wrong / effective if effective > 0 else 0.0
        learnable = reach * math.pow(1.0 + effective / scale, -exponent)
        quality = 1.0 - (floor_error + learnable + noise_penalty * share)
        if quality < 0.0:  # np.maximum(q, 0.0), then np.minimum(q, 1.0): NaN stays
            quality = 0.0
        if quality > 1.0:
            quality = 1.0
        out[g] = quality


@dataclass(frozen=True)
class CurveLearner(Learner):
    """Power-law learning curve per group, with transfer between groups and a noise penalty.

    Parameters mirror the scenario's ``learning`` block. It needs no points: it reads
    the store's counts, so it always has usable data (zero examples give the
    cold-start error ``e_0``).
    """

    initial_error: float
    floor_error: float
    exponent: float
    scale: float
    transfer: float
    noise_penalty: float
    privacy_constant: tuple[float, ...] | None = None
    """Differential privacy (``privacy:``): ``c_g`` per group; each group's examples
    enter the curve as ``n^2 / (n + c_g)`` (:mod:`simulator.firm.privacy`). None = off."""
    federated: object = None
    """Federated learning (``privacy.federated``): a :class:`~..federated.CurveFederation`
    whose ``examples`` replace each group's counts (then ``privacy_constant`` is None)."""

    @classmethod
    def from_scenario(cls, learning) -> CurveLearner:
        return cls(
            initial_error=learning.initial_error,
            floor_error=learning.floor_error,
            exponent=learning.exponent,
            scale=learning.scale,
            transfer=learning.transfer,
            noise_penalty=learning.noise_penalty,
        )

    def quality_for(self, examples: np.ndarray, wrong_examples: np.ndarray) -> np.ndarray:
        """Quality per group after training on ``examples`` per group, ``wrong_examples``
        of them mislabelled."""
        if self.privacy_constant is not None:
            examples, wrong_examples = self.private_examples(examples, wrong_examples)
        if self.federated is not None:
            examples, wrong_examples = self.federated.examples(examples, wrong_examples)
        if compiled_loaded():  # the same operations in one compiled call (~1 against ~14 us)
            examples = np.asarray(examples, dtype=float)
            quality = np.empty(len(examples))
            _curve_quality(
                examples, np.asarray(wrong_examples, dtype=float), self.transfer,
                self.initial_error, self.floor_error, self.exponent, self.scale,
                self.noise_penalty, quality,
            )  # fmt: skip
            return quality
        effective = effective_data(examples, self.transfer)
        effective_wrong = effective_data(wrong_examples, self.transfer)
        noise_share = np.divide(
            effective_wrong, effective, out=np.zeros_like(effective), where=effective > 0
        )
        error = learning_curve_error(
            effective, noise_share, self.initial_error, self.floor_error,
            self.exponent, self.scale, self.noise_penalty,
        )  # fmt: skip
        return quality_from_error(error)

    def private_examples(self, examples, wrong_examples):
        """Examples under differential privacy: ``n_eff = n^2 / (n + c_g)`` per group, the
        mislabelled ones scaled alike (their share is unchanged)."""
        n = np.asarray(examples, dtype=float)
        c = np.asarray(self.privacy_constant, dtype=float)
        effective = np.divide(n * n, n + c, out=np.zeros_like(n), where=n + c > 0)
        ratio = np.divide(effective, n, out=np.zeros_like(n), where=n > 0)
        return effective, np.asarray(wrong_examples, dtype=float) * ratio

    def cold_start(self, store) -> Fitted:
        return self.fit(store, 0)

    def fit(self, store, step: int) -> Fitted:
        return Fitted(quality=self.quality_for(store.examples, store.wrong_examples))
