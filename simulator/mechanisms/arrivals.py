"""Arrivals: each group gains a fixed number of users per step (Hashimoto et al. 2018).

Formula (``adoption.rule: arrivals``): group ``g`` gains ``arrivals[g]`` users per step:
the eligible (not active) users of the group with the smallest ``clock`` draws, ties to
the lower user index; all of them if the group has fewer. The draws are i.i.d. per user,
so this is a uniformly random choice. A potential user who arrives adopts (not by word
of mouth); a churned user who arrives rejoins and adopts in the same step.

The choice ranks users within their group, so it is made once per step for everyone
(:meth:`Arrivals.prepare`, on arrays both engines hold); the kernels only read it.

References
----------
.. [Hashimoto18] Hashimoto, T., Srivastava, M., Namkoong, H. and Liang, P. (2018).
   Fairness without demographics in repeated loss minimization. ICML, PMLR 80.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import numerics
from ..frozen import quick_init
from .base import Decision, Members, UserMechanism
from .choice import MarketView, attractions_all, pick, pick_all, utilities_all, utility
from .states import ACTIVE_CODE, CHURNED, POTENTIAL, Move


def choose_arrivals(
    eligible: np.ndarray, group: np.ndarray, clock: np.ndarray, arrivals: np.ndarray
) -> np.ndarray:
    """Which users join this step: a boolean array, true for the users who arrive.

    ``eligible`` marks the users who may arrive (not active), ``group`` is each user's
    group, ``clock`` the step's exponential draw per user and ``arrivals[g]`` the
    number of users group ``g`` gains.
    """
    candidates = np.flatnonzero(eligible)
    groups = np.asarray(group)[candidates]
    # Sort by group, then clock, then index (lexsort: last key is the primary one).
    order = np.lexsort((candidates, np.asarray(clock)[candidates], groups))
    ranked, ranked_groups = candidates[order], groups[order]
    starts = np.searchsorted(ranked_groups, np.arange(len(arrivals)))
    rank = np.arange(len(ranked)) - starts[ranked_groups]
    chosen = np.zeros(len(eligible), dtype=bool)
    chosen[ranked[rank < np.asarray(arrivals)[ranked_groups]]] = True
    return chosen


@quick_init
@dataclass(frozen=True)
class ArrivalParams:
    arriving: np.ndarray
    """Per user: arrives this step (vector kernel)."""
    arriving_list: list[bool]
    """The same as a Python list (scalar kernel)."""
    market: MarketView | None = None
    """Several firms: an arriving user picks a product (logit or best, choice.py)."""


class Arrivals(UserMechanism):
    """``adoption.rule: arrivals``: each group's fixed number of non-active users joins."""

    name = "arrivals"
    states = (POTENTIAL, CHURNED)

    def prepare(self, view) -> ArrivalParams | None:
        if view.scenario.adoption.rule != "arrivals":
            return None
        eligible = view.user_state != ACTIVE_CODE
        total = view.scenario.adoption.arrivals
        if total is not None:  # chosen at random among everyone, whatever their group
            group = np.zeros(len(view.user_group), dtype=np.int16)
            counts = np.array([int(total)])
        else:
            group = view.user_group
            counts = np.array([int(g.arrivals) for g in view.scenario.population.groups])
        arriving = choose_arrivals(eligible, group, view.draws.clock, counts)
        return ArrivalParams(arriving=arriving, arriving_list=arriving.tolist(), market=view.market)

    def decide(self, user, params: ArrivalParams, draws) -> Move:
        if not params.arriving_list[user.node]:
            return Move.STAY
        market = params.market
        if market is not None:
            shares = [n / user.degree if user.degree > 0 else 0.0 for n in user.neighbours_on]
            u = [utility(market, j, user.group, shares[j]) for j in range(market.n_firms)]
            a = [float(numerics.exp(x)) if market.on_offer[j] else 0.0 for j, x in enumerate(u)]
            product = pick(market, a, u, draws.pick[user.node])
            if product < 0:
                return Move.STAY  # no product on offer yet
            user.next_product = product
        return Move.ADOPT if user.state is POTENTIAL else Move.RETURN

    def decide_all(self, users, members: Members, params: ArrivalParams, draws) -> Decision:
        index = members.index
        chosen = index[params.arriving[index]]
        move = Move.ADOPT if members.state is POTENTIAL else Move.RETURN
        market = params.market
        if market is None or len(chosen) == 0:
            return Decision(moves={move: chosen})
        u = utilities_all(market, users.group[chosen], users.shares_on(chosen))
        product = pick_all(market, attractions_all(market, u), u, draws.pick[chosen])
        ok = product >= 0
        return Decision(moves={move: chosen[ok]}, products={move: product[ok]})
