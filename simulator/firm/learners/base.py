"""The one learner interface: training data in, a fitted model (quality per group) out.

Every learner (the learning curve, the estimators) implements :class:`Learner`:

- ``cold_start(store)``: the model a firm deploys at step 0;
- ``fit(store, step)``: a candidate model trained on what the store holds, or
  **None when there is no usable data** (nothing to learn from: no points, every
  point's weight aged to zero, or too few points for the model). The rule for no
  usable data is the same everywhere: the firm keeps its deployed model;
- ``evaluate(model)``: the same model scored against the groups as they are now
  (an intervention can change the groups' data distributions).

A :class:`Fitted` model carries the quality per group users experience, and for the
estimators the parameters and the risk per group it was scored with.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...frozen import quick_init


@quick_init
@dataclass(frozen=True)
class Fitted:
    """A trained model: what users experience, and (estimators) what it is."""

    quality: np.ndarray
    """Quality per group, in [0, 1]."""
    risk: np.ndarray | None = None
    """Estimators: expected loss per group on the group's true distribution."""
    params: np.ndarray | None = None
    """Estimators: the fitted ``(location, scale)`` (logistic: ``(w, 0)``)."""


class Learner(ABC):
    """Turns a firm's data store into a model (see the module docstring)."""

    uses_points: ClassVar[bool] = False
    """Whether the learner fits data points (the store then keeps a point store)."""
    generative: ClassVar[bool] = False
    """Whether it can sample synthetic data points from a fitted model."""

    @abstractmethod
    def cold_start(self, store) -> Fitted:
        """The model deployed at step 0."""

    @abstractmethod
    def fit(self, store, step: int) -> Fitted | None:
        """A candidate trained at ``step``, or None when there is no usable data."""

    def evaluate(self, model: Fitted) -> Fitted:
        """``model`` scored against the groups as they are now (default: unchanged)."""
        return model

    def sample(self, model: Fitted, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` synthetic data points from ``model`` (generative learners only)."""
        raise ValueError(f"{type(self).__name__} cannot sample data points")
