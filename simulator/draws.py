"""The random numbers of one step, drawn once at model level as arrays indexed by user.

Both engines consume exactly these arrays (the agent engine reads its own entry,
the array engine uses them whole), so they see the same randomness. The data
pipeline draws from a stream of its own, so two scenarios that differ only in
the pipeline (feedback, noise, filter, reinvestment) give every user the same
draws while their users behave the same (paired comparisons).

A user is in exactly one state, so one exponential ``clock`` per user serves
whichever single-clock event that state has (spontaneous adoption, churn or
rejoin); only potential users draw a second clock (word of mouth), in index order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POTENTIAL, ACTIVE = 0, 1


@dataclass(frozen=True)
class StepDraws:
    """One step's draws: per-user clocks (arrays of length N) and interactions per group."""

    clock: np.ndarray
    """Standard exponential: the spontaneous-adoption clock of a potential user, the
    churn clock of an active user, the rejoin clock of a churned user."""
    word_of_mouth: np.ndarray
    """Standard exponential: the word-of-mouth clock of a potential user (bass rule);
    infinite (never fires) for users who are not potential."""
    interactions: np.ndarray
    """Interactions per group this step: Poisson(dt * sum of its active users' activity)."""


def draw_step(
    rng: np.random.Generator,
    state: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    interaction_rate: np.ndarray,
) -> StepDraws:
    """Draw one step's randomness, in a fixed order, from the users' stream.

    ``state`` is every user's state at the start of the step, ``group`` their group
    index (an ``intp`` array: ``bincount`` is several times slower on int16),
    ``interaction_rate`` each user's expected interactions in one step if active
    (``activity * dt``).

    Interactions are drawn per group, not per user: a sum of independent Poisson
    counts is Poisson with the summed rate, so the group's total has exactly the
    distribution of the users' individual counts added up, for one draw instead of
    N. The summed rate is a ``bincount`` over the active users in index order, the
    same floating-point sum on both engines.
    """
    size = len(state)
    clock = rng.standard_exponential(size)
    potential = np.flatnonzero(state == POTENTIAL)
    word_of_mouth = np.full(size, np.inf)
    word_of_mouth[potential] = rng.standard_exponential(len(potential))
    active = np.flatnonzero(state == ACTIVE)
    expected = np.bincount(group[active], weights=interaction_rate[active], minlength=n_groups)
    return StepDraws(
        clock=clock,
        word_of_mouth=word_of_mouth,
        interactions=rng.poisson(expected).astype(np.int64),
    )
