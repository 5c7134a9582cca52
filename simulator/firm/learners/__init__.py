"""Learners: one interface (:class:`Learner`), three kinds.

- ``curve`` (:class:`CurveLearner`): a learning curve maps data *counts* to quality;
- ``estimator`` (:class:`EstimatorLearner`): a statistical model (median, mean,
  Gaussian, logistic classifier; ERM or group DRO) fitted to the data *points*;
- ``preference`` (:class:`PreferenceLearner`): a Bradley-Terry reward model fitted to
  the store's preference *pairs*.
"""

from __future__ import annotations

from .base import Fitted, Learner
from .curve import CurveLearner
from .estimators import EstimatorLearner
from .preference import PreferenceLearner


def make_learner(learning, groups=(), privacy=None, rng=None, preference_rng=None) -> Learner:
    """The learner a scenario's ``learning`` block asks for (``groups``: the population's;
    ``privacy``: the scenario's ``privacy:`` section or None, with ``rng`` the firm's
    privacy stream for the estimators' noise, or its federated stream under
    ``privacy.federated``: client sampling, shuffles and noise; ``preference_rng``: the
    firm's preference stream, for the preference learner's pair features)."""
    if learning.kind == "preference":
        return PreferenceLearner.from_scenario(learning, groups, preference_rng)
    if learning.kind == "curve":
        learner = CurveLearner.from_scenario(learning)
        if privacy is not None and privacy.federated:
            from dataclasses import replace

            from ..federated import CurveFederation

            return replace(learner, federated=CurveFederation.of(privacy, groups))
        if privacy is not None:
            from dataclasses import replace

            from ..privacy import privacy_constant

            spreads = [group.data_spread for group in groups]
            constant = tuple(float(c) for c in privacy_constant(spreads, privacy))
            learner = replace(learner, privacy_constant=constant)
        return learner
    if learning.kind == "estimator":
        learner = EstimatorLearner.from_scenario(learning, groups)
        if privacy is not None:
            from dataclasses import replace

            learner = replace(learner, privacy=privacy, privacy_rng=rng)
        return learner
    raise ValueError(f"unknown learner kind {learning.kind!r}")  # pragma: no cover


__all__ = [
    "CurveLearner", "EstimatorLearner", "Fitted", "Learner", "PreferenceLearner", "make_learner",
]  # fmt: skip
