"""Learners: turn training data into each group's model quality.

The default learner is a learning curve (``learning.kind: curve``); real
statistical estimators trained on the agents' data points come later and share
this interface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rules


@dataclass(frozen=True)
class CurveLearner:
    """Power-law learning curve per group, with transfer between groups and a noise penalty.

    Parameters mirror the scenario's ``learning`` block; see ``rules.learning_curve_error``.
    """

    initial_error: float
    floor_error: float
    exponent: float
    scale: float
    transfer: float
    noise_penalty: float

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

    def fit(self, examples: np.ndarray, wrong_examples: np.ndarray) -> np.ndarray:
        """Quality per group after training on ``examples`` per group.

        ``wrong_examples`` of them are mislabelled.
        """
        effective = rules.effective_data(examples, self.transfer)
        effective_wrong = rules.effective_data(wrong_examples, self.transfer)
        noise_share = np.divide(
            effective_wrong, effective, out=np.zeros_like(effective), where=effective > 0
        )
        error = rules.learning_curve_error(
            effective,
            noise_share,
            self.initial_error,
            self.floor_error,
            self.exponent,
            self.scale,
            self.noise_penalty,
        )
        return rules.quality_from_error(error)


def make_learner(learning) -> CurveLearner:
    """The learner a scenario's ``learning`` block asks for."""
    if learning.kind == "curve":
        return CurveLearner.from_scenario(learning)
    raise ValueError(f"unknown learner kind {learning.kind!r}")  # pragma: no cover
