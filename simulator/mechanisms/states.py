"""The user's state machine, defined once: states, the moves between them, and how a
move is committed, with the scalar kernel (one Mesa agent) and the vector kernel (all
users as arrays) side by side.

::

    POTENTIAL --ADOPT / ADOPT_WOM--> ACTIVE --CHURN--> CHURNED --REJOIN--> POTENTIAL
                                        ^                  |
                                        +------RETURN------+   (arrivals: both at once)

A step is synchronous: every user's move is decided from the start-of-step state
(nobody sees a neighbour's decision of the same step), then every move is committed.
Committing a move sets the new state, the tenure (steps since the user last adopted),
the satisfaction, and the active-neighbour counts of the user's neighbours.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class UserState(IntEnum):
    """Where a user is in the product's life cycle."""

    POTENTIAL = 0
    """Has not adopted (or came back after churning)."""
    ACTIVE = 1
    """Uses the product and produces data."""
    CHURNED = 2
    """Left the product; may rejoin at ``churn.rejoin_rate``."""


POTENTIAL, ACTIVE, CHURNED = UserState.POTENTIAL, UserState.ACTIVE, UserState.CHURNED
POTENTIAL_CODE, ACTIVE_CODE, CHURNED_CODE = 0, 1, 2
"""The states as plain ints, for arrays: NumPy compares an int8 array with a plain int in
its own type, but with an ``IntEnum`` member (an int subclass) it casts the whole array to
int64 first, eight times slower (measured: 0.36 ms against 0.046 ms per 10^6 users)."""


class Move(IntEnum):
    """What a user does in one step; ``STAY`` (0) is false, every other move true."""

    STAY = 0
    ADOPT = 1
    """Potential -> active, on their own (marketing, search, an arrival)."""
    ADOPT_WOM = 2
    """Potential -> active by word of mouth (the social clock fired first)."""
    CHURN = 3
    """Active -> churned."""
    REJOIN = 4
    """Churned -> potential again."""
    RETURN = 5
    """Churned -> active in one step (an arrival): counted as a rejoin and an adoption."""
    SWITCH = 6
    """Active on one firm's product -> active on another's (markets of several firms)."""


TARGET = {
    Move.ADOPT: ACTIVE, Move.ADOPT_WOM: ACTIVE, Move.CHURN: CHURNED,
    Move.REJOIN: POTENTIAL, Move.RETURN: ACTIVE, Move.SWITCH: ACTIVE,
}  # fmt: skip
"""The state each move leads to."""

JOINS = (Move.ADOPT, Move.ADOPT_WOM, Move.RETURN)
"""Moves that make a user active (counted as adoptions)."""
REJOINS = (Move.REJOIN, Move.RETURN)
"""Moves that bring a churned user back (counted as rejoins)."""
PICKS = (Move.ADOPT, Move.ADOPT_WOM, Move.RETURN, Move.SWITCH)
"""Moves that put a user on a (new) product: joining, or switching."""


# -- committing a move: scalar kernel (one agent) --------------------------------------


def commit(user, move: Move, joining_quality: list[list[float]]) -> None:
    """Apply ``move`` to one user (a Mesa ``User`` agent or any object with its fields).

    ``user.next_satisfaction`` holds the satisfaction an active user moved to this
    step (set by the retention kernel); a joiner or switcher starts at the quality of
    their new product for their row, ``joining_quality[firm][row]`` (the row is the group,
    or with cohorts the group and cohort: engines/cohorts.py), on the firm in
    ``user.next_product``.
    """
    previous = user.state
    if move is Move.STAY:
        if previous is ACTIVE:
            user.satisfaction = user.next_satisfaction
            user.tenure += 1
        return
    state = TARGET[move]
    user.state = state
    user.states[user.node] = state
    if state is ACTIVE:
        if move is Move.SWITCH:
            user.tell_neighbours(-1)
        user.product = user.next_product
        user.satisfaction = joining_quality[user.product][user.row]
        user.tenure = 0
        user.tell_neighbours(+1)
    elif previous is ACTIVE:  # churned this step; tenure is kept
        user.satisfaction = user.next_satisfaction
        user.tell_neighbours(-1)
        user.product = -1


# -- committing moves: vector kernel (all users) ----------------------------------------


def commit_all(
    users, moves: dict[Move, np.ndarray], products: dict[Move, np.ndarray], joining_quality
) -> np.ndarray | None:
    """Apply every user's move to the user arrays (``ArrayUsers``), as :func:`commit` would.

    ``moves`` maps each move to the users making it (index arrays); users in none stay;
    ``products`` the firm each picking user moves to (absent: firm 0).
    ``users.next_satisfaction`` is everyone's updated satisfaction (only active users'
    is ever read); ``joining_quality`` is the products' quality per firm and group.
    Returns, for one product, the users who joined, churned and rejoined per group (rows
    of :attr:`~simulator.engines.step.StepMoves.counts`, counted as they were committed);
    None in a market.
    """
    churners = moves.get(Move.CHURN, _NONE)
    switchers = moves.get(Move.SWITCH, _NONE)
    if users.product is None:  # one product: the same moves in one compiled pass
        users.satisfaction = users.next_satisfaction
        return users.commit_one_product(
            churners, moves.get(Move.REJOIN, _NONE), moves.get(Move.ADOPT, _NONE),
            moves.get(Move.ADOPT_WOM, _NONE), moves.get(Move.RETURN, _NONE),
            joining_quality[0],
        )  # fmt: skip
    users.satisfaction = users.next_satisfaction
    users.keep_tenure(churners)  # stayers gain a step (by counting); churners keep theirs
    users.state[churners] = CHURNED_CODE
    users.state[moves.get(Move.REJOIN, _NONE)] = POTENTIAL_CODE
    joiners = joined(moves)
    picked = [(moves[m], products.get(m)) for m in PICKS if m in moves and len(moves[m])]
    users.tell_neighbours(churners, -1, users.product_of(churners))
    users.tell_neighbours(switchers, -1, users.product_of(switchers))
    users.state[joiners] = ACTIVE_CODE
    users.set_products(churners, None)
    for who, product in picked:
        users.set_products(who, product)
    movers = np.concatenate([joiners, switchers]) if len(switchers) else joiners
    users.restart_tenure(movers)
    users.satisfaction[movers] = users.joining_satisfaction(movers, joining_quality)
    users.tell_neighbours(movers, 1, users.product_of(movers))


def joined(moves: dict[Move, np.ndarray]) -> np.ndarray:
    """The users who became active this step (adopters, then returning users)."""
    parts = [moves[move] for move in JOINS if move in moves and len(moves[move])]
    if not parts:
        return _NONE
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


_NONE = np.zeros(0, dtype=np.intp)
