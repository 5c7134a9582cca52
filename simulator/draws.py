"""The random numbers of one step, drawn once at model level as arrays indexed by user.

Both engines consume exactly these arrays (the agent engine reads its own entry,
the array engine uses them whole), so they see the same randomness. Every draw is
taken for every user whatever their state, and the data pipeline draws from a
stream of its own: the users' stream advances by the same amount every step,
whatever happened, so two scenarios run with the same seed give every user the
same draws (paired comparisons).

A user is in exactly one state, so one exponential ``clock`` per user serves
whichever single-clock event that state has (spontaneous adoption, churn or
rejoin); only potential users need a second clock (word of mouth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StepDraws:
    """One step's per-user draws (arrays of length N)."""

    clock: np.ndarray
    """Standard exponential: the spontaneous-adoption clock of a potential user, the
    churn clock of an active user, the rejoin clock of a churned user."""
    word_of_mouth: np.ndarray
    """Standard exponential: the word-of-mouth clock of a potential user (bass rule)."""
    interactions: np.ndarray
    """Poisson(activity * dt): interactions of the user if active."""


def draw_step(rng: np.random.Generator, interaction_rate: np.ndarray) -> StepDraws:
    """Draw one step's randomness, in a fixed order, from the run's step stream.

    ``interaction_rate`` is each user's expected interactions in one step
    (``activity * dt``).
    """
    size = len(interaction_rate)
    return StepDraws(
        clock=rng.standard_exponential(size),
        word_of_mouth=rng.standard_exponential(size),
        interactions=rng.poisson(interaction_rate),
    )
