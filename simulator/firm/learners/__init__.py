"""Learners: one interface (:class:`Learner`), two kinds.

- ``curve`` (:class:`CurveLearner`): a learning curve maps data *counts* to quality;
- ``estimator`` (:class:`EstimatorLearner`): a statistical model (median, mean,
  Gaussian, logistic classifier; ERM or group DRO) fitted to the data *points*.
"""

from __future__ import annotations

from .base import Fitted, Learner
from .curve import CurveLearner
from .estimators import EstimatorLearner


def make_learner(learning, groups=()) -> Learner:
    """The learner a scenario's ``learning`` block asks for (``groups``: the population's)."""
    if learning.kind == "curve":
        return CurveLearner.from_scenario(learning)
    if learning.kind == "estimator":
        return EstimatorLearner.from_scenario(learning, groups)
    raise ValueError(f"unknown learner kind {learning.kind!r}")  # pragma: no cover


__all__ = ["CurveLearner", "EstimatorLearner", "Fitted", "Learner", "make_learner"]
