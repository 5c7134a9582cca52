"""Choice: which product a user picks among the firms on offer, and whether an active
user switches.

Formula (``choice:``; docs/model.md, "Choice between firms"). The utility of firm
``j``'s product for user ``i`` of group ``g``, against the outside option (the free
open model, quality ``Q_ref``), is

``u_ij = w_Q (Q_jg - Q_ref) + w_L frac_ij + w_G n_j + taste_gj + offer_j``

with ``w_Q`` the quality weight (``adoption.quality_sensitivity`` unless
``choice.quality_weight`` is set), ``frac_ij`` the share of the user's neighbours on
``j`` (local network effect ``w_L``), ``n_j`` the product's installed base in users
(global network effect ``w_G``) and ``taste_gj`` the group's intrinsic preference
(``choice.preferences``); ``offer_j`` is what the firm's terms add: a free tier's
``cold_start.free_tier.attraction``, or minus ``choice.price_weight`` times its
``economics.price``. Its **attraction** is ``a_ij = exp(u_ij)`` (0 for a firm not on
offer yet). With one firm and no network effects or tastes, ``a`` is the single
product's attractiveness ``exp(kappa (Q_g - Q_ref))`` of :mod:`.adoption`.

- **Adopting** (Bass): firm ``j``'s adoption hazard is ``(p + q frac_ij) a_ij``: a
  spontaneous clock of rate ``p sum_j a_ij`` and a word-of-mouth clock of rate
  ``sum_j (q frac_ij) a_ij`` compete as for one product; the product is then firm ``j``
  with probability ``a_ij / sum a`` (spontaneous) or ``frac_ij a_ij / sum frac a`` (word
  of mouth). Competing exponential clocks make this a multinomial logit choice: the
  first of independent clocks of rates ``r_j`` is ``j`` with probability
  ``r_j / sum r`` [McFadden74]_. Word of mouth is per product: a neighbour on ``j``
  spreads ``j``.
- **best** (``choice.rule: best``): the same clocks, but the product is the one with
  the highest utility, ties to the firm listed first (deterministic best response,
  as in Arthur's model of increasing returns [Arthur89]_).
- **Switching**: an active user reconsiders at hazard ``choice.reconsider_rate`` and
  chooses again between staying, whose utility includes the switching cost
  ``C = c (1 - exp(-tenure / T_l))`` (``choice.switching_cost`` ``c``, growing with tenure
  like lock-in, ``churn.lock_in_time``), and every rival on offer. Logit: stay with
  probability ``exp(u_j + C) / (exp(u_j + C) + sum_k exp(u_k))``, else move to rival ``k``
  with probability proportional to ``exp(u_k)`` (random utility: some users move to a
  product that is worse on average); best: move to the best rival only if
  ``u_k - u_j > C``.

Sums over firms run left to right in firm order in both kernels, so they agree bit for
bit.

References
----------
.. [McFadden74] McFadden, D. (1974). Conditional logit analysis of qualitative choice
   behavior. In Frontiers in Econometrics, 105-142.
.. [Arthur89] Arthur, W. B. (1989). Competing technologies, increasing returns, and
   lock-in by historical events. The Economic Journal 99(394), 116-131.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import numerics
from ..frozen import quick_init
from .base import Decision, Members, UserMechanism
from .states import ACTIVE, Move

# -- the market a user sees --------------------------------------------------------------


@quick_init
@dataclass(frozen=True)
class MarketView:
    """The products on offer this step and the choice parameters (from the step view)."""

    n_firms: int
    on_offer: list[bool]
    quality: list[list[float]]
    """``quality[j][g]``: firm ``j``'s deployed quality for group ``g``."""
    reference_quality: float
    installed: list[int]
    """Active users per firm at the start of the step."""
    rule: str
    quality_weight: float
    local_effect: float
    global_effect: float
    taste: list[list[float]]
    """``taste[g][j]``: group ``g``'s intrinsic preference for firm ``j``."""
    reconsider_rate: float
    switching_cost: float
    lock_in_time: float
    dt: float
    offer: list[float] | None = None
    """``offer[j]``: the utility firm ``j``'s terms add (a free tier, minus its price)."""
    row_quality: list[list[float]] | None = None
    """A candidate served to some users (engines/cohorts.py): ``row_quality[j][row]``, the
    quality an active user of that row experiences on firm ``j`` (read when switching)."""

    @classmethod
    def of(cls, view) -> MarketView:
        return cls(
            on_offer=[bool(x) for x in view.on_offer],
            quality=np.asarray(view.firm_quality, dtype=float).tolist(),
            reference_quality=float(view.reference_quality),
            installed=[int(x) for x in view.installed],
            row_quality=None
            if view.cohorts is None
            else np.asarray(view.cohorts.quality, dtype=float).tolist(),
            **_scenario_terms(view.scenario),
        )

    @property
    def offered(self) -> list[int]:
        return [j for j in range(self.n_firms) if self.on_offer[j]]


_TERMS: dict[int, tuple[object, dict]] = {}
"""The scenario's terms of the market view, by scenario (kept with it: its ``id`` is not
reused while cached). A scenario is frozen, so its terms never change."""


def _scenario_terms(scenario) -> dict:
    """What :meth:`MarketView.of` takes from the scenario alone, computed once per
    scenario (the per-firm sections behind :func:`offers` cost ~15 us a step)."""
    kept = _TERMS.get(id(scenario))
    if kept is not None and kept[0] is scenario:
        return kept[1]
    choice = scenario.choice
    names = scenario.firm_names
    groups = [group.name for group in scenario.population.groups]
    weight = choice.quality_weight
    if weight is None:
        weight = scenario.adoption.quality_sensitivity
    terms = {
        "n_firms": len(names),
        "rule": choice.rule,
        "quality_weight": float(weight),
        "local_effect": float(choice.local_network_effect),
        "global_effect": float(choice.global_network_effect),
        "taste": [
            [float(choice.preferences.get(g, {}).get(f, 0.0)) for f in names] for g in groups
        ],  # fmt: skip
        "reconsider_rate": float(choice.reconsider_rate),
        "switching_cost": float(choice.switching_cost),
        "lock_in_time": float(scenario.churn.lock_in_time),
        "dt": float(scenario.dt),
        "offer": offers(scenario),
    }
    if len(_TERMS) >= 16:  # a run uses one scenario, or one per intervention
        _TERMS.clear()
    _TERMS[id(scenario)] = (scenario, terms)
    return terms


def offers(scenario) -> list[float]:
    """What each firm's terms add to its utility: a free tier's attraction, or minus
    ``choice.price_weight`` times its price (0 without a free tier or a price)."""
    out = []
    for j in range(len(scenario.firm_names)):
        sections = scenario.firm_sections(j)
        tier, money = sections["cold_start"].free_tier, sections["economics"]
        if tier.enabled:
            out.append(float(tier.attraction))
        else:
            price = 0.0 if money is None else money.price
            out.append(float(-scenario.choice.price_weight * price))
    return out


def is_plain(scenario) -> bool:
    """:func:`plain_now` for the scenario and every state its interventions lead to (a run
    keeps the path it starts on)."""
    if not plain_now(scenario):
        return False
    current = scenario
    for intervention in sorted(scenario.interventions, key=lambda iv: iv.at):
        current = current.with_overrides(intervention.set)
        if not plain_now(current):
            return False
    return True


def plain_now(scenario) -> bool:
    """Whether the scenario is one product without ``firms:``, network effects or tastes:
    adoption is then the single product's Bass hazard, computed by the faster per-group
    path of :mod:`.adoption`. With ``firms:`` (even one firm) the market path runs; with one
    firm and neutral choice it reduces to the single product bit for bit (the monopoly
    limit, tested)."""
    choice = scenario.choice
    return (
        not scenario.firms
        and choice.local_network_effect == 0
        and choice.global_network_effect == 0
        and not any(value for tastes in choice.preferences.values() for value in tastes.values())
        and not any(offers(scenario))
    )


# -- utilities and attractions: scalar kernel (one user) --------------------------------------


def utility(market: MarketView, firm: int, group: int, share: float, row: int = -1) -> float:
    """``u_ij`` of the module docstring for one user (``share``: neighbours on ``firm``);
    ``row``: the user's row (engines/cohorts.py), for the quality they are served."""
    quality = market.quality[firm][group] if row < 0 or market.row_quality is None else (
        market.row_quality[firm][row])  # fmt: skip
    u = market.quality_weight * (quality - market.reference_quality)
    u = u + market.local_effect * share
    u = u + market.global_effect * market.installed[firm]
    u = u + market.taste[group][firm]
    return u + market.offer[firm] if market.offer else u


def attractions(market: MarketView, group: int, shares: list[float]) -> list[float]:
    """``a_ij`` for every firm (0 if not on offer) for one user."""
    return [
        float(numerics.exp(utility(market, j, group, shares[j]))) if market.on_offer[j] else 0.0
        for j in range(market.n_firms)
    ]


def pick(market: MarketView, weights: list[float], utilities: list[float], uniform: float,
         exclude: int = -1, include: int = -1) -> int:  # fmt: skip
    """The chosen firm: logit, the first ``j`` whose running sum of ``weights`` exceeds
    ``uniform`` times their total; best, the highest utility on offer (ties: the lower
    index). ``exclude`` is never chosen; ``include`` (a user's current product) may be even
    if it is no longer on offer. -1 if none can be."""
    candidates = [j for j in range(market.n_firms)
                  if (market.on_offer[j] or j == include) and j != exclude]  # fmt: skip
    if not candidates:
        return -1
    total = 0.0
    for j in candidates:
        total = total + weights[j]
    if market.rule == "best" or not total > 0:  # no weight at all: the best one
        return max(candidates, key=lambda j: (utilities[j], -j))
    threshold = uniform * total
    running = 0.0
    for j in candidates:
        running = running + weights[j]
        if running > threshold:
            return j
    return candidates[-1]  # rounding: the running sum fell a hair short of the total


# -- the same, vector kernel (many users) ------------------------------------------------------


def utilities_all(market: MarketView, group: np.ndarray, shares: np.ndarray,
                  row: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """``u`` for every firm and user: shape (firms, users); ``shares[j]`` per user;
    ``row``: the users' rows (engines/cohorts.py), for the quality they are served."""
    if row is None or market.row_quality is None:
        served = np.asarray(market.quality, dtype=float)[:, group]  # (F, G) -> (F, users)
    else:
        served = np.asarray(market.row_quality, dtype=float)[:, row]
    taste = np.asarray(market.taste, dtype=float)  # (G, F)
    u = market.quality_weight * (served - market.reference_quality)
    u = u + market.local_effect * shares
    u = u + (market.global_effect * np.asarray(market.installed, dtype=float))[:, None]
    u = u + taste[group].T
    return u + np.asarray(market.offer, dtype=float)[:, None] if market.offer else u


def attractions_all(market: MarketView, u: np.ndarray) -> np.ndarray:
    a = numerics.exp(u)
    a[~np.asarray(market.on_offer, dtype=bool)] = 0.0
    return a


def pick_all(market: MarketView, weights: np.ndarray, u: np.ndarray, uniform: np.ndarray,
             exclude: np.ndarray | None = None,
             include: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """:func:`pick` for many users: ``weights`` and ``u`` of shape (firms, users)."""
    n_firms, n = weights.shape
    allowed = np.repeat(np.asarray(market.on_offer, dtype=bool)[:, None], n, axis=1)
    if include is not None:  # -1: nothing to include
        some = np.flatnonzero(include >= 0)
        allowed[include[some], some] = True
    if exclude is not None:  # -1: nothing to exclude
        some = np.flatnonzero(exclude >= 0)
        allowed[exclude[some], some] = False
    best_chosen = np.full(n, -1, dtype=np.int64)
    best = np.full(n, -np.inf)
    for j in range(n_firms):  # strict >: ties go to the lower index
        better = allowed[j] & ((u[j] > best) | (best_chosen < 0))
        best_chosen[better], best[better] = j, u[j][better]
    w = np.where(allowed, weights, 0.0)
    total = np.zeros(n)
    for j in range(n_firms):
        total = total + w[j]
    if market.rule == "best":
        return best_chosen
    chosen = np.full(n, -1, dtype=np.int64)
    threshold = uniform * total
    running = np.zeros(n)
    for j in range(n_firms):
        running = running + w[j]
        hit = allowed[j] & (running > threshold) & (chosen < 0)
        chosen[hit] = j
    last = np.where(allowed.any(axis=0), n_firms - 1 - np.argmax(allowed[::-1], axis=0), -1)
    short = (chosen < 0) & (total > 0)
    chosen[short] = last[short]
    weightless = ~(total > 0)  # no weight at all: the best one
    chosen[weightless] = best_chosen[weightless]
    return chosen


def switching_cost(cost: float, tenure, lock_in_time: float):
    """The utility a user gives up to switch: ``c (1 - exp(-tenure / T_l))``."""
    return cost * (1.0 - numerics.exp(-(tenure / lock_in_time)))


# -- switching -------------------------------------------------------------------------------


class Switching(UserMechanism):
    """Active users reconsider at ``choice.reconsider_rate`` and switch to a better product."""

    name = "switching"
    states = (ACTIVE,)

    def prepare(self, view) -> MarketView | None:
        market = view.market
        if market is None or market.reconsider_rate <= 0 or len(market.offered) < 2:
            return None
        return market

    def decide(self, user, params: MarketView, draws) -> Move:
        # No reconsider draws: the chance rounds to 0 (a rate too small for a double).
        if draws.reconsider is None or not draws.reconsider[user.node]:
            return Move.STAY
        shares = [n / user.degree if user.degree > 0 else 0.0 for n in user.neighbours_on]
        u = [utility(params, j, user.group, shares[j], user.row) for j in range(params.n_firms)]
        current = user.product
        cost = float(switching_cost(params.switching_cost, user.tenure, params.lock_in_time))
        if params.rule == "best":
            candidate = pick(params, [0.0] * params.n_firms, u, 0.0, exclude=current)
            if candidate >= 0 and u[candidate] - u[current] > cost:
                user.next_product = candidate
                return Move.SWITCH
            return Move.STAY
        staying = list(u)
        staying[current] = u[current] + cost
        weights = [float(numerics.exp(x)) if params.on_offer[j] or j == current else 0.0
                   for j, x in enumerate(staying)]  # fmt: skip
        chosen = pick(params, weights, staying, draws.pick[user.node], include=current)
        if chosen < 0 or chosen == current:
            return Move.STAY
        user.next_product = chosen
        return Move.SWITCH

    def decide_all(self, users, members: Members, params: MarketView, draws) -> Decision:
        if draws.reconsider_mask is None:  # the chance rounds to 0: nobody reconsiders
            return Decision()
        index = members.index
        index = index[draws.reconsider_mask[index]]
        if len(index) == 0:
            return Decision()
        rows = np.arange(len(index))
        u = utilities_all(params, users.group[index], users.shares_on(index), users.row[index])
        current = users.product[index].astype(np.int64)
        cost = switching_cost(params.switching_cost, users.tenure_of(index), params.lock_in_time)
        if params.rule == "best":
            candidate = pick_all(params, np.zeros_like(u), u, np.zeros(len(index)), exclude=current)
            ok = candidate >= 0
            gain = u[np.where(ok, candidate, 0), rows] - u[current, rows]
            moving = ok & (gain > cost)
        else:
            staying = u.copy()
            staying[current, rows] = u[current, rows] + cost
            weights = numerics.exp(staying)
            offered = np.asarray(params.on_offer, dtype=bool)
            weights[~offered] = 0.0
            weights[current, rows] = numerics.exp(staying[current, rows])
            candidate = pick_all(params, weights, staying, draws.pick[index], include=current)
            moving = (candidate >= 0) & (candidate != current)
        return Decision(
            moves={Move.SWITCH: index[moving]}, products={Move.SWITCH: candidate[moving]}
        )
