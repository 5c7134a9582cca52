"""Deployment: trained models wait out their latency, then a policy decides if they ship.

A model trained at step ``t`` is due at ``t + reinvestment.latency``. When several are
due at once (an intervention shortened the latency) the most recently trained one is
considered and the older ones are dropped. With ``reinvestment.ab_test`` the candidate
replaces the deployed model only if it is better for the average user (groups
weighted by their population share): a *perfect* A/B test, which compares the two
models' true qualities and so is never wrong. Without it every candidate ships.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..frozen import quick_init
from ..numerics import sum_in_order
from .learners import Fitted


@quick_init
@dataclass(frozen=True)
class Trained:
    """A trained model waiting to go live."""

    live_at: int
    """Step at which its deployment latency is over."""
    trained_at: int
    model: Fitted


@dataclass
class Deployment:
    """The models trained and not yet live."""

    pending: list[Trained] = field(default_factory=list)

    def submit(self, trained: Trained) -> None:
        self.pending.append(trained)

    def due(self, step: int) -> Trained | None:
        """The newest model whose latency is over at ``step`` (older due ones are dropped)."""
        due = [model for model in self.pending if model.live_at <= step]
        if not due:
            return None
        candidate = max(due, key=lambda model: model.trained_at)
        self.pending = [m for m in self.pending if m.trained_at > candidate.trained_at]
        return candidate

    @staticmethod
    def better(candidate: np.ndarray, deployed: np.ndarray, shares: np.ndarray) -> bool:
        """Whether quality ``candidate`` beats ``deployed`` for the average user."""
        return sum_in_order(candidate * shares) > sum_in_order(deployed * shares)
