"""Where training examples come from: each example belongs to a *source*.

The sources (:data:`SOURCES`), and the cold-start tactics that bring them:

- ``users``: the flywheel, the feedback the firm's own users give;
- ``curated``: clean, hand-labelled examples: the cold-start set a firm starts with
  (``learning.initial_examples`` per group) and hand-curation of its first users
  (``cold_start.curation``);
- ``synthetic``: generated examples (``cold_start.synthetic``; with estimator learners
  also the points sampled from the deployed model at every generation);
- ``open``: a public pool any firm can use (``cold_start.open_data``), never exclusive;
- ``bought``: a dataset bought at a step (``cold_start.acquisition``), exclusive only if
  bought exclusively;
- ``lighthouse``: a large customer's own history (``cold_start.lighthouse``).

With an estimator learner a user's feedback is a *data point*, a draw from the group's
data distribution ``N(data_mean, data_spread^2)``; a wrongly labelled one has its sign
flipped (:func:`user_points`). The learners' risks are measured against the same
distributions (:class:`GroupTruth`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.scenario.schema import SOURCE_NAMES

SOURCES = SOURCE_NAMES
"""Example sources, in the order their columns are reported."""


@dataclass(frozen=True)
class GroupTruth:
    """Each group's true data distribution ``N(mean_g, spread_g^2)``."""

    means: np.ndarray
    spreads: np.ndarray

    @classmethod
    def of(cls, groups) -> GroupTruth:
        return cls(
            means=np.array([group.data_mean for group in groups], dtype=float),
            spreads=np.array([group.data_spread for group in groups], dtype=float),
        )


def user_points(
    rng: np.random.Generator, truth: GroupTruth, group: int, clean: int, wrong: int
) -> np.ndarray:
    """``clean`` points of ``group`` and ``wrong`` mislabelled ones (their sign flipped)."""
    mean, spread = truth.means[group], truth.spreads[group]
    points = rng.normal(mean, spread, clean)
    return np.concatenate([points, -rng.normal(mean, spread, wrong)]) if wrong else points


def curated_points(
    rng: np.random.Generator, truth: GroupTruth, group: int, count: int
) -> np.ndarray:
    """The cold-start set of one group: ``count`` clean points (none if ``count`` is 0)."""
    return user_points(rng, truth, group, count, 0) if count else np.zeros(0)
