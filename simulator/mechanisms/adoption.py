"""Adoption: potential users adopt on their own or by word of mouth.

Formula (``adoption.rule``; see docs/model.md, "Adopt"):

- ``bass`` [Bass69]_: two competing clocks, a spontaneous one with hazard ``p A`` and a
  word-of-mouth one with hazard ``q frac A``, where ``frac`` is the share of the user's
  neighbours who are active and ``A = exp(kappa (Q_g - Q_ref))`` the product's
  attractiveness for the user's group. Their union has hazard ``(p + q frac) A``, so the
  adoption probability is exactly Bass's.
- ``threshold`` [Watts02]_: word of mouth is deterministic, it fires when
  ``frac >= phi`` (and ``frac > 0``); spontaneous adoption as above.

An adoption counts as word of mouth when that clock fires first.

References
----------
.. [Bass69] Bass, F. M. (1969). A new product growth for model consumer durables.
   Management Science 15(5), 215-227.
.. [Watts02] Watts, D. J. (2002). A simple model of global cascades on random
   networks. PNAS 99(9), 5766-5771.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .. import numerics
from ..compiled import jit
from ..frozen import quick_init
from .base import Decision, Members, UserMechanism, fires
from .choice import MarketView, pick, utility
from .states import POTENTIAL, Move

# -- the formula ------------------------------------------------------------------------


def attractiveness(group_quality: ArrayLike, reference_quality: float, sensitivity: float):
    """Multiplier of adoption hazards from product quality: ``A = exp(kappa (Q_g - Q_ref))``.

    ``sensitivity`` (kappa) = 0 gives 1: adoption ignores quality (plain Bass). A list of
    per-group qualities gives a list, in plain floats (the same operations and the same
    ``exp``, the C library's): a step's fixed cost.
    """
    if type(group_quality) is list:
        exp = numerics.exp.one
        return [exp(sensitivity * (q - reference_quality)) for q in group_quality]
    return numerics.exp(sensitivity * np.subtract(group_quality, reference_quality))


def adopted_neighbour_share(active_neighbours, degree):
    """Share of a user's neighbours who are active users (``frac``); 0 for isolated users."""
    if isinstance(degree, np.ndarray):
        out = np.zeros(degree.shape, dtype=float)
        return np.divide(active_neighbours, degree, out=out, where=degree > 0)
    return active_neighbours / degree if degree > 0 else 0.0


def _negated(events):
    """``not`` of one user's event (a Python bool: the Mesa agents' kernel, where a NumPy
    call on a scalar costs ~2 us) or ``np.logical_not`` of an array of them."""
    return not events if type(events) is bool else np.logical_not(events)


def adoption_events(
    rule: str,
    share: ArrayLike,
    attract: ArrayLike,
    innovation: float,
    imitation: float,
    threshold: float,
    dt: float,
    spontaneous_draw: ArrayLike,
    word_of_mouth_draw: ArrayLike,
):
    """Which potential users adopt this step, and which of them by word of mouth.

    Parameters
    ----------
    rule : {"bass", "threshold"}
    share : float or array
        Share of the user's neighbours who are active (``frac``).
    attract : float or array
        Attractiveness ``A`` of the product for the user's group.
    innovation, imitation, threshold : float
        ``p``, ``q`` (per unit time) and ``phi``.
    dt : float
        Step length.
    spontaneous_draw, word_of_mouth_draw : float or array
        Standard exponential draws, one of each per user per step.

    Returns
    -------
    adopts, by_word_of_mouth : bool or bool arrays
    """
    # Plain operators, not ufunc calls: IEEE arithmetic gives the same bits on
    # Python floats and on arrays, and the agent engine calls this once per user.
    spontaneous_rate = innovation * attract
    spontaneous = fires(spontaneous_rate, dt, spontaneous_draw)
    if rule == "bass":
        social_rate = imitation * share * attract
        social = fires(social_rate, dt, word_of_mouth_draw)
        # Both clocks fired: word of mouth wins if its event time E_w / r_w is earlier,
        # i.e. E_w * r_s < E_s * r_w (no division, so no special case for zero rates).
        social_first = word_of_mouth_draw * spontaneous_rate < spontaneous_draw * social_rate
        by_word_of_mouth = social & (social_first | _negated(spontaneous))
    elif rule == "threshold":
        # share > 0: an isolated user (share 0) never adopts by contagion, even at phi = 0.
        by_word_of_mouth = (share >= threshold) & (share > 0.0)
    else:  # pragma: no cover - the scenario schema rejects other rules
        raise ValueError(f"unknown adoption rule {rule!r}")
    return spontaneous | by_word_of_mouth, by_word_of_mouth


# -- the mechanism ----------------------------------------------------------------------


@quick_init
@dataclass(frozen=True)
class AdoptionParams:
    """One step's adoption parameters; per-group values as Python lists (fast per agent)."""

    rule: str
    innovation: float
    imitation: float
    threshold: float
    dt: float
    attractiveness: list[float]
    market: MarketView | None = None
    """A market of several firms (or network effects, tastes): None for one plain product."""
    no_share: NoShareValues | None = None
    """A market: each group's values for its users with no neighbour on any product."""


class NoShareValues:
    """A market's utilities and attractions of every firm for a user with share 0.0 of
    every product (no neighbour on any): the user's group's alone, so computed once per
    step and group, when first asked for, with the scalar kernel's operations (the same
    values; each ``np.exp`` on one float costs ~2 us)."""

    def __init__(self, market: MarketView) -> None:
        self.market = market
        self._by_group: dict[int, tuple[list[float], list[float]]] = {}

    def of(self, group: int) -> tuple[list[float], list[float]]:
        values = self._by_group.get(group)
        if values is None:
            market = self.market
            u = [utility(market, j, group, 0.0) for j in range(market.n_firms)]
            a = [float(numerics.exp(x)) if market.on_offer[j] else 0.0 for j, x in enumerate(u)]
            values = self._by_group[group] = (u, a)
        return values


class Adoption(UserMechanism):
    """Potential users adopt spontaneously or by word of mouth (``bass`` or ``threshold``)."""

    name = "adoption"
    states = (POTENTIAL,)

    def prepare(self, view) -> AdoptionParams | None:
        adoption = view.scenario.adoption
        if adoption.rule not in ("bass", "threshold"):
            return None
        quality = np.asarray(view.quality, dtype=float).tolist()
        attract = attractiveness(quality, float(view.reference_quality),
                                 float(adoption.quality_sensitivity))  # fmt: skip
        return AdoptionParams(
            rule=adoption.rule,
            innovation=float(adoption.innovation),
            imitation=float(
                adoption.imitation
                if view.trust is None
                else view.trust.imitation(adoption.imitation)
            ),
            threshold=float(adoption.threshold),
            dt=float(view.scenario.dt),
            attractiveness=attract,
            market=view.market,
            no_share=None if view.market is None else NoShareValues(view.market),
        )

    def decide(self, user, params: AdoptionParams, draws) -> Move:
        if params.market is not None:
            return self._decide_in_market(user, params, draws)
        share = adopted_neighbour_share(user.active_neighbours, user.degree)
        adopts, by_word_of_mouth = adoption_events(
            params.rule, share, params.attractiveness[user.group], params.innovation,
            params.imitation, params.threshold, params.dt,
            draws.clock[user.node], draws.word_of_mouth[user.node],
        )  # fmt: skip
        if not adopts:
            return Move.STAY
        return Move.ADOPT_WOM if by_word_of_mouth else Move.ADOPT

    def decide_all(self, users, members: Members, params: AdoptionParams, draws) -> Decision:
        index = members.index
        word_of_mouth = draws.word_of_mouth
        if not members.whole:  # the clocks are aligned with every potential user
            word_of_mouth = word_of_mouth[np.searchsorted(draws.potential, index)]
        if params.market is not None:
            return self._decide_all_in_market(users, index, params, draws, word_of_mouth)
        if members.whole:
            return self._decide_all_compiled(users, index, params, draws)
        share = adopted_neighbour_share(users.active_neighbours[index], users.degree[index])
        adopts, by_word_of_mouth = adoption_events(
            params.rule, share, users.per_user(params.attractiveness)[index], params.innovation,
            params.imitation, params.threshold, params.dt, draws.clock[index], word_of_mouth,
        )  # fmt: skip
        organic = by_word_of_mouth[adopts]
        adopters = index[adopts]
        return Decision(
            moves={Move.ADOPT: adopters[~organic], Move.ADOPT_WOM: adopters[organic]},
            organic=int(np.count_nonzero(organic)),
        )

    def _decide_all_compiled(self, users, index, params: AdoptionParams, draws) -> Decision:
        """The vector kernel for one product, in one compiled pass over the potential users
        (their word-of-mouth clocks are aligned with ``index``)."""
        spontaneous = users.scratch("adopters", np.intp)
        organic = users.scratch("organic_adopters", np.intp)
        n_spontaneous, n_organic = _adoption_pass(
            index, users.active_neighbours, users.degree, users.group,
            np.asarray(params.attractiveness, dtype=float), params.innovation, params.imitation,
            params.threshold, params.rule == "bass", params.dt, draws.clock, draws.word_of_mouth,
            spontaneous, organic,
        )  # fmt: skip
        return Decision(  # copies: the scratch arrays are filled again next step
            moves={Move.ADOPT: spontaneous[:n_spontaneous].copy(),
                   Move.ADOPT_WOM: organic[:n_organic].copy()},
            organic=n_organic,
        )  # fmt: skip

    # -- a market of firms (choice.py): the same clocks over every product on offer ----------

    def _decide_in_market(self, user, params: AdoptionParams, draws) -> Move:
        market = params.market
        if any(user.neighbours_on):
            shares = [n / user.degree if user.degree > 0 else 0.0 for n in user.neighbours_on]
            u = [utility(market, j, user.group, shares[j]) for j in range(market.n_firms)]
            a = [float(numerics.exp(x)) if market.on_offer[j] else 0.0 for j, x in enumerate(u)]
        else:  # share 0.0 of every product: the group's values
            shares = [0.0] * market.n_firms
            u, a = params.no_share.of(user.group)
        spontaneous_rate, social_rate = 0.0, 0.0
        for j in range(market.n_firms):  # left to right, as the vector kernel
            spontaneous_rate = spontaneous_rate + a[j]
            social_rate = social_rate + (params.imitation * shares[j]) * a[j]
        spontaneous_rate = params.innovation * spontaneous_rate
        share = adopted_neighbour_share(user.active_neighbours, user.degree)
        adopts, by_word_of_mouth = _market_events(
            params, spontaneous_rate, social_rate, share,
            draws.clock[user.node], draws.word_of_mouth[user.node],
        )  # fmt: skip
        if not adopts:
            return Move.STAY
        weights = [shares[j] * a[j] for j in range(market.n_firms)] if by_word_of_mouth else a
        product = pick(market, weights, u, draws.pick[user.node])
        if product < 0:
            return Move.STAY
        user.next_product = product
        return Move.ADOPT_WOM if by_word_of_mouth else Move.ADOPT

    def _decide_all_in_market(self, users, index, params, draws, word_of_mouth) -> Decision:
        """The vector kernel in a market: two compiled passes over the potential users
        (``index``; their word-of-mouth clocks aligned with it) around NumPy's ``exp``.

        A user's utility of each firm is :func:`~.choice.utilities_all`'s operations in
        its order; the attraction is NumPy's ``exp`` of it, as the scalar kernel's
        ``np.exp`` (``math.exp`` differs in the last bit for some inputs). A user with no
        neighbour on any product has share 0.0 of every one, so their utilities and
        attractions are their group's: the first pass writes each group's utilities, then
        lists the other users with theirs (a row of firms each), NumPy takes the ``exp``
        of them all, and the second pass sums the rates, runs the clocks and picks
        each adopter's product as :func:`~.choice.pick` does. At 10^6 users and 3 firms,
        while most users are potential, a step took ~180 ms through whole-array NumPy (a
        dozen temporaries of firms x users doubles); see benchmarks/README.md.
        """
        market = params.market
        n_firms, n_groups = market.n_firms, len(market.taste)
        listed = users.scratch("market_listed", np.intp)
        # Rows: each group's utilities at share 0.0, then the listed users' (one exp).
        u = np.empty((n_groups + len(index), n_firms))
        count = _market_utilities(
            index, users.group, users.neighbours_on, users.degree,
            np.asarray(market.quality, dtype=float), market.reference_quality,
            market.quality_weight, market.local_effect,
            market.global_effect * np.asarray(market.installed, dtype=float),
            np.asarray(market.taste, dtype=float).reshape(n_groups, n_firms),
            np.asarray(market.offer or [0.0] * n_firms, dtype=float), bool(market.offer),
            listed, u,
        )  # fmt: skip
        u = u[: n_groups + count]
        a = numerics.exp(u)
        on_offer = np.asarray(market.on_offer, dtype=bool)
        a[:, ~on_offer] = 0.0
        spontaneous = users.scratch("adopters", np.intp)
        organic = users.scratch("organic_adopters", np.intp)
        spontaneous_products = users.scratch("adopters_products", np.int64)
        organic_products = users.scratch("organic_adopters_products", np.int64)
        n_spontaneous, n_organic = _market_adoption_pass(
            index, users.group, users.active_neighbours, users.neighbours_on, users.degree,
            listed[:count], u, a, on_offer, params.innovation,
            params.imitation, params.threshold, params.rule == "bass", market.rule == "best",
            params.dt, draws.clock, word_of_mouth, draws.pick,
            spontaneous, spontaneous_products, organic, organic_products,
        )  # fmt: skip
        return Decision(  # copies: the scratch arrays are filled again next step
            moves={Move.ADOPT: spontaneous[:n_spontaneous].copy(),
                   Move.ADOPT_WOM: organic[:n_organic].copy()},
            products={Move.ADOPT: spontaneous_products[:n_spontaneous].copy(),
                      Move.ADOPT_WOM: organic_products[:n_organic].copy()},
            organic=n_organic,
        )  # fmt: skip


@jit
def _market_utilities(
    index, group, neighbours_on, degree, quality, reference, weight, local, global_term, taste,
    offer, with_offer, listed, u,
):  # fmt: skip
    """The utility of every firm ``j``, with the operations of
    :func:`~.choice.utilities_all` in its order (``global_term[j]``: the global network
    effect times firm ``j``'s installed base; ``taste[g, j]``; ``offer[j]`` added only if
    ``with_offer``, as there): in row ``g`` of ``u``, group ``g``'s at share 0.0 (a user
    with no neighbour on any product); in the rows after, the users ``index[k]`` with a
    neighbour on some product, each ``k`` into ``listed``. Returns how many are listed."""
    n_groups, n_firms = taste.shape

    def utility(j, g, share):
        x = weight * (quality[j, g] - reference)
        x = x + local * share
        x = x + global_term[j]
        x = x + taste[g, j]
        return x + offer[j] if with_offer else x

    for g in range(n_groups):
        for j in range(n_firms):
            u[g, j] = utility(j, g, 0.0)
    count = 0
    for k in range(len(index)):
        i = index[k]
        anyone = False
        for j in range(n_firms):
            anyone = anyone or neighbours_on[j, i] != 0
        if not anyone:
            continue
        d = degree[i]
        for j in range(n_firms):
            u[n_groups + count, j] = utility(j, group[i], neighbours_on[j, i] / d if d > 0 else 0.0)
        listed[count] = k
        count += 1
    return count


@jit
def _market_adoption_pass(
    index, group, active_neighbours, neighbours_on, degree, listed, u, a, on_offer,
    innovation, imitation, threshold, bass, best, dt, clock,
    word_of_mouth, uniform, spontaneous_adopters, spontaneous_products, organic_adopters,
    organic_products,
):  # fmt: skip
    """For each user ``index[k]``, with utilities and attractions the row of ``u`` and
    ``a`` after the groups' rows if ``k`` is listed (in order), else their group's row
    (:func:`_market_utilities`'s layout): the summed rates over the firms (left to
    right), the clocks of :func:`_market_events`, and for an adopter the product
    :func:`~.choice.pick` picks with the weights ``a`` (by word of mouth ``share * a``)
    and ``uniform[i]``; adopters whose pick finds no product do not adopt. The
    spontaneous adopters and those by word of mouth, with their products, into the four
    outputs (index order); returns how many of each."""
    n_firms = a.shape[1]
    count = organic_count = 0
    last = -1  # the last firm on offer (a pick that falls a hair short takes it)
    for j in range(n_firms):
        if on_offer[j]:
            last = j
    n_groups = a.shape[0] - len(listed)

    def share_of(j, i, d, listed_user):
        if not listed_user:  # no neighbour on any product
            return 0.0
        return neighbours_on[j, i] / d if d > 0 else 0.0

    def rates(row, i, d, listed_user):
        """The spontaneous and word-of-mouth rates from the attractions in ``row``."""
        spontaneous_rate = 0.0
        social_rate = 0.0
        for j in range(n_firms):
            attraction = a[row, j]
            spontaneous_rate = spontaneous_rate + attraction
            social_rate = social_rate + (imitation * share_of(j, i, d, listed_user)) * attraction
        return innovation * spontaneous_rate, social_rate

    def weight(j, row, i, d, listed_user, by_word_of_mouth):
        """Firm ``j``'s weight in the pick (0.0 if not on offer)."""
        if not on_offer[j]:
            return 0.0
        if by_word_of_mouth:
            return share_of(j, i, d, listed_user) * a[row, j]
        return a[row, j]

    # A group's rates for its users with share 0.0 of every product.
    spontaneous_by_group = np.empty(n_groups)
    social_by_group = np.empty(n_groups)
    for g in range(n_groups):
        spontaneous_by_group[g], social_by_group[g] = rates(g, 0, 0, False)

    next_listed = 0
    for k in range(len(index)):
        i = index[k]
        d = degree[i]
        listed_user = next_listed < len(listed) and listed[next_listed] == k
        if listed_user:  # their own row of u and a, after the groups' rows
            row = n_groups + next_listed
            next_listed += 1
            spontaneous_rate, social_rate = rates(row, i, d, True)
        else:  # their group's row
            row = group[i]
            spontaneous_rate, social_rate = spontaneous_by_group[row], social_by_group[row]
        spontaneous = spontaneous_rate * dt > clock[i]
        if bass:
            social = social_rate * dt > word_of_mouth[k]
            social_first = word_of_mouth[k] * spontaneous_rate < clock[i] * social_rate
            by_word_of_mouth = social and (social_first or not spontaneous)
        else:
            share = active_neighbours[i] / d if d > 0 else 0.0
            by_word_of_mouth = share >= threshold and share > 0.0
        if not (spontaneous or by_word_of_mouth):
            continue
        # The pick: the best on offer (ties: the lower index), then the logit draw.
        best_chosen = -1
        best_u = -np.inf
        total = 0.0
        for j in range(n_firms):
            if on_offer[j] and (u[row, j] > best_u or best_chosen < 0):
                best_chosen = j
                best_u = u[row, j]
            total = total + weight(j, row, i, d, listed_user, by_word_of_mouth)
        if best:
            chosen = best_chosen
        else:
            chosen = -1
            bar = uniform[i] * total
            running = 0.0
            for j in range(n_firms):
                running = running + weight(j, row, i, d, listed_user, by_word_of_mouth)
                if on_offer[j] and running > bar and chosen < 0:
                    chosen = j
            if chosen < 0 and total > 0:
                chosen = last
            if not total > 0:  # no weight at all: the best one
                chosen = best_chosen
        if chosen < 0:
            continue
        if by_word_of_mouth:
            organic_adopters[organic_count] = i
            organic_products[organic_count] = chosen
            organic_count += 1
        else:
            spontaneous_adopters[count] = i
            spontaneous_products[count] = chosen
            count += 1
    return count, organic_count


@jit
def _adoption_pass(
    potential, active_neighbours, degree, group, attract, innovation, imitation, threshold,
    bass, dt, clock, word_of_mouth, spontaneous_adopters, organic_adopters,
):  # fmt: skip
    """:func:`adoption_events` for each potential user, in index order, with the same
    operations in the same order; the spontaneous adopters into ``spontaneous_adopters``
    and those by word of mouth into ``organic_adopters`` (each in index order); returns
    how many of each."""
    count = organic_count = 0
    for k in range(len(potential)):
        i = potential[k]
        share = active_neighbours[i] / degree[i] if degree[i] > 0 else 0.0
        a = attract[group[i]]
        spontaneous_rate = innovation * a
        spontaneous = spontaneous_rate * dt > clock[i]
        if bass:
            social_rate = imitation * share * a
            social = social_rate * dt > word_of_mouth[k]
            social_first = word_of_mouth[k] * spontaneous_rate < clock[i] * social_rate
            by_word_of_mouth = social and (social_first or not spontaneous)
        else:
            by_word_of_mouth = share >= threshold and share > 0.0
        if by_word_of_mouth:
            organic_adopters[organic_count] = i
            organic_count += 1
        elif spontaneous:
            spontaneous_adopters[count] = i
            count += 1
    return count, organic_count


def _market_events(params, spontaneous_rate, social_rate, share, spontaneous_draw, wom_draw):
    """:func:`adoption_events` with the rates summed over the products on offer."""
    spontaneous = fires(spontaneous_rate, params.dt, spontaneous_draw)
    if params.rule == "bass":
        social = fires(social_rate, params.dt, wom_draw)
        social_first = wom_draw * spontaneous_rate < spontaneous_draw * social_rate
        by_word_of_mouth = social & (social_first | _negated(spontaneous))
    else:  # threshold: the share of active neighbours on any product
        by_word_of_mouth = (share >= params.threshold) & (share > 0.0)
    return spontaneous | by_word_of_mouth, by_word_of_mouth
