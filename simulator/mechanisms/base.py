"""What a user-side mechanism is: who it decides for, its parameters, and two kernels.

A mechanism is one *room*: its formula, the parameters it reads from the scenario, a
**scalar kernel** that decides for one Mesa agent and a **vector kernel** that decides
for many users held as arrays. The two kernels call the same formula with the same
draws, so they agree bit for bit; ``tests/test_mechanisms.py`` checks every
registered mechanism on random inputs.

Each step, for every start-of-step state, the registered mechanisms that apply to it
run in registration order; the first one that gives a user a move (not ``STAY``)
decides that user, and later ones see only the users still undecided. A mechanism
that is not in force this step (``prepare`` returns None) is skipped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from .states import Move, UserState


def fires(hazard: ArrayLike, dt: float, exponential_draw: ArrayLike) -> np.ndarray | bool:
    """Whether an event with ``hazard`` (per unit time) happens within one step.

    Events with a hazard ``h`` happen within a step of length ``dt`` with probability
    ``1 - exp(-h dt)``. We decide them with a unit exponential draw ``E``: the event
    fires iff ``h * dt > E``, which has exactly that probability and needs no
    transcendental function per user.

    Parameters
    ----------
    hazard : float or array
        Event rate per unit time, >= 0.
    dt : float
        Step length in rate units.
    exponential_draw : float or array
        A standard exponential variate per user, drawn once per step.

    Returns
    -------
    bool or bool array
        ``hazard * dt > exponential_draw``; true with probability ``1 - exp(-hazard dt)``.
    """
    return hazard * dt > exponential_draw


class Members:
    """The users a vector kernel decides for: all in one start-of-step ``state``.

    ``whole`` says nobody in that state was decided by an earlier mechanism, so the
    members are exactly the users in ``state``: kernels can then use whole-array
    arithmetic masked by state, which is cheaper than gathering the members, and the
    index is only computed if a kernel asks for it.
    """

    def __init__(
        self,
        state: UserState,
        user_state: np.ndarray,
        index: np.ndarray | None = None,
        whole: bool | None = None,
    ) -> None:
        self.state = state
        self.whole = index is None if whole is None else whole
        self._user_state = user_state
        self._index = index

    @property
    def index(self) -> np.ndarray:
        """Ascending user indices of the members."""
        if self._index is None:
            self._index = np.flatnonzero(self._user_state == int(self.state))
        return self._index

    def mask(self, users) -> np.ndarray:
        """A boolean array over all users, true for the members."""
        if self.whole:
            return self._user_state == int(self.state)
        mask = np.zeros(len(self._user_state), dtype=bool)
        mask[self.index] = True
        return mask


@dataclass
class Decision:
    """What a vector kernel decided for its users.

    ``moves`` maps a move to the users (index arrays, ascending) who make it;
    ``products`` gives, for moves that pick a product (adopt, return, switch), the firm
    each of those users picks, aligned with ``moves`` (absent: the only firm, 0);
    ``organic`` counts adoptions by word of mouth; ``satisfaction``, if set, is every
    user's updated satisfaction (retention sets it).
    """

    moves: dict[Move, np.ndarray] = field(default_factory=dict)
    organic: int = 0
    satisfaction: np.ndarray | None = None
    products: dict[Move, np.ndarray] = field(default_factory=dict)

    def decided(self) -> list[np.ndarray]:
        return [users for users in self.moves.values() if len(users)]


class UserMechanism(ABC):
    """One user-side mechanism (see the module docstring).

    Subclasses set ``name`` and ``states`` and implement the three methods. Keep all
    the mechanism's own arithmetic here: the engines only call the kernels.
    """

    name: ClassVar[str]
    states: ClassVar[tuple[UserState, ...]]
    """Start-of-step states of the users it decides for."""

    @abstractmethod
    def prepare(self, view) -> Any | None:
        """This step's parameters (from ``view``, a :class:`~simulator.engines.step.StepView`),
        or None when the mechanism is not in force this step."""

    @abstractmethod
    def decide(self, user, params: Any, draws) -> Move:
        """Scalar kernel: the move of one Mesa ``User`` agent (``draws``: per-user lists).

        A move that picks a product (adopt, return, switch) sets ``user.next_product``."""

    @abstractmethod
    def decide_all(self, users, members: Members, params: Any, draws) -> Decision:
        """Vector kernel: the moves of ``members`` (users in one of ``states``) of the
        ``ArrayUsers`` ``users``, from the step's ``StepDraws``."""
