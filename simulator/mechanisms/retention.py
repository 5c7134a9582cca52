"""Retention: active users' satisfaction follows the quality they experience; they churn
or stay, softened by lock-in; churned users may rejoin.

Formulas (docs/model.md, "Stay"):

- satisfaction ``s <- s + mu (Q_g - s)``, ``Q_g`` the quality of the model the user is
  served (the candidate for a test's or a canary's cohort: :mod:`..engines.cohorts`);
- churn hazard (``churn.retention: hazard``)
  ``c = c0 exp(-beta (s - Q_ref)) (1 - l (1 - exp(-tenure / T_l)))``: users leave faster
  when the product satisfies them less than the outside option, and slower the longer
  they have been locked in (switching costs);
- ``churn.retention: risk`` [Hashimoto18]_: an active user of group ``g`` leaves at hazard
  ``R_g``, the deployed estimator's risk on the group (stays with probability
  ``exp(-R_g dt)``);
- rejoining: a churned user becomes a potential user again at hazard ``churn.rejoin_rate``.

The scalar kernel computes the lock-in factor with ``numpy.exp`` per user; the vector
kernel looks it up in a table by tenure (:func:`lock_in_table`), elementwise the same
arithmetic on the same integers, so the same bits. (``math.exp`` differs from
``numpy.exp`` in the last bit for a few per cent of inputs: never use it here.)

References
----------
.. [Hashimoto18] Hashimoto, T. et al. (2018). Fairness without demographics in
   repeated loss minimization. ICML.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .. import numerics
from ..compiled import jit
from ..frozen import quick_init
from .base import Decision, Members, UserMechanism, fires
from .states import ACTIVE, ACTIVE_CODE, CHURNED, Move

# -- the formulas -----------------------------------------------------------------------


def updated_satisfaction(satisfaction: ArrayLike, experienced_quality: ArrayLike, rate: float):
    """Satisfaction moves towards experienced quality: ``s + mu (Q_g - s)``."""
    return satisfaction + rate * (experienced_quality - satisfaction)


def lock_in_factor(tenure: ArrayLike, lock_in: float, lock_in_time: float):
    """Churn multiplier from switching costs: ``1 - l (1 - exp(-tenure / T_l))``.

    Starts at 1 for a new user and falls to ``1 - l`` as tenure (steps) grows.
    """
    return 1.0 - lock_in * (1.0 - numerics.exp(-(tenure / lock_in_time)))


def lock_in_table(length: int, lock_in: float, lock_in_time: float) -> np.ndarray:
    """:func:`lock_in_factor` for tenures ``0 .. length - 1``, to index by tenure."""
    return lock_in_factor(np.arange(length), lock_in, lock_in_time)


def churn_hazard_locked(
    satisfaction: ArrayLike,
    reference_quality: float,
    base_rate: float,
    sensitivity: float,
    lock_in: ArrayLike,
):
    """:func:`churn_hazard` with the lock-in factor already computed (``lock_in``)."""
    relative = satisfaction - reference_quality
    return base_rate * numerics.exp(-sensitivity * relative) * lock_in


def churn_hazard(
    satisfaction: ArrayLike,
    reference_quality: float,
    tenure: ArrayLike,
    base_rate: float,
    sensitivity: float,
    lock_in: float,
    lock_in_time: float,
):
    """Churn hazard per unit time of an active user (the module docstring's formula)."""
    factor = lock_in_factor(tenure, lock_in, lock_in_time)
    return churn_hazard_locked(satisfaction, reference_quality, base_rate, sensitivity, factor)


@functools.lru_cache(maxsize=8)
def _lock_in_tuple(length: int, lock_in: float, lock_in_time: float) -> tuple[float, ...]:
    """:func:`lock_in_table` as Python floats, for the scalar kernel."""
    return tuple(lock_in_table(max(length, 1), lock_in, lock_in_time).tolist())


# -- churn ------------------------------------------------------------------------------


@quick_init
@dataclass(frozen=True)
class RetentionParams:
    dt: float
    quality: list[float]
    """Quality of the product per row (the experience): per group, or with cohorts per
    group and cohort (simulator/engines/cohorts.py); a user reads their ``row``."""
    satisfaction_rate: float
    reference_quality: float
    base_rate: float
    sensitivity: float
    lock_in: float
    lock_in_time: float
    risk: list[float] | None
    """``churn.retention: risk``: the leaving hazard per group; None under ``hazard``."""
    firm_quality: list[list[float]] | None = None
    """Several firms: quality per firm and group (a user experiences their own product's)."""
    firm_risk: list[list[float]] | None = None
    warning: float = 0.0
    """A privacy incident's negative word of mouth: extra churn hazard per unit share of
    the user's contacts who are active (simulator/regulation.py); 0 = none."""
    lock_in_by_tenure: tuple[float, ...] = ()
    """:func:`lock_in_factor` by tenure ``0 .. steps + 1`` (computed like the array
    engine's table, so the Mesa agents look it up instead of one ``exp`` each; a tenure
    beyond it is computed)."""


class Retention(UserMechanism):
    """Active users update their satisfaction, then churn at the churn (or risk) hazard."""

    name = "retention"
    states = (ACTIVE,)

    def prepare(self, view) -> RetentionParams:
        churn = view.scenario.churn
        risk = firm_risk = firm_quality = None
        cohorts = view.cohorts  # a candidate served to some: per row (engines/cohorts.py)
        quality = view.quality if cohorts is None else cohorts.quality[0]
        if churn.retention == "risk":
            risk = np.asarray(view.risk if cohorts is None else cohorts.risk[0], dtype=float)
            risk = risk.tolist()
        if view.market is not None:
            every = view.firm_quality if cohorts is None else cohorts.quality
            firm_quality = np.asarray(every, dtype=float).tolist()
            if churn.retention == "risk":
                every = view.firm_risk if cohorts is None else cohorts.risk
                firm_risk = np.asarray(every, dtype=float).tolist()
        base_rate, warning = float(churn.base_rate), 0.0
        if view.trust is not None:  # a privacy incident (simulator/regulation.py)
            base_rate = base_rate * view.trust.churn_multiplier
            warning = float(view.trust.warning(view.scenario.adoption.imitation))
        return RetentionParams(
            dt=float(view.scenario.dt),
            quality=np.asarray(quality, dtype=float).tolist(),
            satisfaction_rate=float(churn.satisfaction_rate),
            reference_quality=float(view.reference_quality),
            base_rate=base_rate,
            sensitivity=float(churn.sensitivity),
            lock_in=float(churn.lock_in),
            lock_in_time=float(churn.lock_in_time),
            risk=risk,
            firm_quality=firm_quality,
            firm_risk=firm_risk,
            warning=warning,
            lock_in_by_tenure=_lock_in_tuple(  # tenure never exceeds the steps of the run
                int(view.scenario.steps) + 2, float(churn.lock_in), float(churn.lock_in_time)
            ),
        )

    def decide(self, user, params: RetentionParams, draws) -> Move:
        quality, risk = params.quality, params.risk
        if params.firm_quality is not None:  # the user's own product
            quality = params.firm_quality[user.product]
            risk = None if params.firm_risk is None else params.firm_risk[user.product]
        user.next_satisfaction = updated_satisfaction(
            user.satisfaction, quality[user.row], params.satisfaction_rate
        )
        if risk is not None:
            hazard = risk[user.row]
        else:
            if not params.warning and _cannot_churn(user.next_satisfaction, params,
                                                    draws.clock[user.node]):  # fmt: skip
                return Move.STAY
            table, tenure = params.lock_in_by_tenure, user.tenure
            factor = (table[tenure] if tenure < len(table)
                      else lock_in_factor(tenure, params.lock_in, params.lock_in_time))  # fmt: skip
            hazard = churn_hazard_locked(
                user.next_satisfaction, params.reference_quality, params.base_rate,
                params.sensitivity, factor,
            )  # fmt: skip
        if params.warning:
            share = user.active_neighbours / user.degree if user.degree > 0 else 0.0
            hazard = hazard + params.warning * share
        return Move.CHURN if fires(hazard, params.dt, draws.clock[user.node]) else Move.STAY

    def decide_all(self, users, members: Members, params: RetentionParams, draws) -> Decision:
        if (
            params.risk is None
            and params.firm_risk is None
            and members.whole
            and not params.warning
        ):  # a privacy incident's warning: the general path
            return self._decide_all_compiled(users, params, draws)  # fmt: skip
        # Computed over all users and masked to the members: most users are active for
        # most of a run, and whole-array arithmetic is cheaper than gathering them.
        if params.firm_quality is None:
            experienced, risk = users.per_row(params.quality), params.risk
        else:  # the user's own product (users not active: any; they are masked out)
            experienced = users.per_product(params.firm_quality)
            risk = None if params.firm_risk is None else params.firm_risk
        satisfaction = updated_satisfaction(
            users.satisfaction, experienced, params.satisfaction_rate
        )
        if risk is not None:
            hazard = users.per_row(risk) if params.firm_quality is None else users.per_product(risk)
        else:
            table = users.lock_in_table(params.lock_in, params.lock_in_time)
            hazard = churn_hazard_locked(
                satisfaction, params.reference_quality, params.base_rate, params.sensitivity,
                table[users.tenure.astype(np.intp)],  # intp: a faster gather
            )  # fmt: skip
        if params.warning:
            share = np.zeros(len(users.degree))
            np.divide(users.active_neighbours, users.degree, out=share, where=users.degree > 0)
            hazard = hazard + params.warning * share
        churns = fires(hazard, params.dt, draws.clock) & members.mask(users)
        return Decision(moves={Move.CHURN: np.flatnonzero(churns)}, satisfaction=satisfaction)

    def _decide_all_compiled(self, users, params: RetentionParams, draws) -> Decision:
        """The vector kernel under the hazard rule (one product or a market), in one
        compiled pass.

        The pass updates everyone's satisfaction and finds the active users whose clock is
        below an upper bound on the churn hazard of their block of users (the hazard of
        the least satisfied one, at no lock-in): only they can churn, a few per cent of
        the active users, so the exact hazard (an ``exp`` and the lock-in lookup) is
        computed for them alone, by the same formula as everywhere else, in the same pass.

        The updated satisfaction is written over the current one (nothing reads the
        start-of-step values after this pass): at 10^7 users a separate array costs ~10 ms
        a step more, for the memory traffic of writing into lines not in the cache.
        """
        churners = users.scratch("churners", np.intp)
        if params.firm_quality is None:
            product, table = None, np.asarray(params.quality, dtype=float)[None, :]
        else:  # each user's own product's quality
            product, table = users.product, np.asarray(params.firm_quality, dtype=float)
        count = _satisfaction_and_churners(
            users.state, users.satisfaction, product, users.row, table,
            params.satisfaction_rate, draws.clock, params.reference_quality, params.base_rate,
            params.sensitivity, params.dt, users.lock_in_table(params.lock_in,
            params.lock_in_time), users.joined, users.steps, churners,
        )  # fmt: skip
        # A copy: the scratch array is filled again next step.
        return Decision(moves={Move.CHURN: churners[:count].copy()},
                        satisfaction=users.satisfaction)  # fmt: skip


BOUND_BLOCK = 2048
"""Users per block of :func:`_satisfaction_and_churners` (one hazard bound each)."""

BOUND_MARGIN = 1e-6
"""Relative margin on the hazard bound: the bound and the exact hazard are computed in
different orders and through different calls (``np.exp`` in the pass, ``math.exp`` in
the agents' shortcut, ``numerics.exp`` for their exact hazard), so it keeps the bound above
any hazard whatever their last bits; it costs a few candidates a million."""


@jit
def _satisfaction_and_churners(
    state, satisfaction, product, row, table, rate, clock, reference, base_rate, sensitivity,
    dt, lock_in, joined, steps, churners,
):  # fmt: skip
    """Everyone's :func:`updated_satisfaction`, written over ``satisfaction``; the active
    users who churn into ``churners`` (index order); returns how many.

    A user experiences ``table[p, row]``, ``p`` their product (``product``; None for one
    product: firm 0), and 0.0 on no product, as :meth:`ArrayUsers.per_product` gives it.

    The churn hazard falls with satisfaction (``sensitivity >= 0``) and the lock-in factor
    is at most 1, so in a block of users no active user's hazard exceeds
    ``base_rate exp(-sensitivity (lowest - reference))``, ``lowest`` the block's lowest
    updated satisfaction among active users: a user whose clock is above that bound
    (times ``dt``) cannot churn, whatever their exact hazard.
    """

    def experienced(i):
        if product is None:  # one product: resolved when compiled (None is its own type)
            return table[0, row[i]]
        p = product[i]
        return table[p, row[i]] if p >= 0 else 0.0

    n = len(state)
    found = 0
    for start in range(0, n, BOUND_BLOCK):
        end = min(start + BOUND_BLOCK, n)
        # Four running minima, not one: a single one chains every user's comparison to
        # the previous one's (2x slower, measured). A user not active counts as infinite
        # (a select: 24 -> 20.5 us at 10^4 users and 2.47 -> 2.30 ms at 10^6, against
        # adding 0 or infinity looked up by state, and the same minimum).
        low0 = low1 = low2 = low3 = np.inf
        i = start
        while i + 4 <= end:
            s = satisfaction[i]
            s = s + rate * (experienced(i) - s)
            satisfaction[i] = s
            low0 = min(low0, s if state[i] == ACTIVE_CODE else np.inf)
            s = satisfaction[i + 1]
            s = s + rate * (experienced(i + 1) - s)
            satisfaction[i + 1] = s
            low1 = min(low1, s if state[i + 1] == ACTIVE_CODE else np.inf)
            s = satisfaction[i + 2]
            s = s + rate * (experienced(i + 2) - s)
            satisfaction[i + 2] = s
            low2 = min(low2, s if state[i + 2] == ACTIVE_CODE else np.inf)
            s = satisfaction[i + 3]
            s = s + rate * (experienced(i + 3) - s)
            satisfaction[i + 3] = s
            low3 = min(low3, s if state[i + 3] == ACTIVE_CODE else np.inf)
            i += 4
        while i < end:
            s = satisfaction[i]
            s = s + rate * (experienced(i) - s)
            satisfaction[i] = s
            low0 = min(low0, s if state[i] == ACTIVE_CODE else np.inf)
            i += 1
        lowest = min(min(low0, low1), min(low2, low3))
        if lowest == np.inf:  # nobody active in the block
            continue
        bound = base_rate * np.exp(-sensitivity * (lowest - reference)) * dt
        bound = bound * (1.0 + BOUND_MARGIN)
        listed = found
        for i in range(start, end):
            # A few in a thousand clocks are below the bound, so the branch is predicted
            # right almost always: 0.6-1.4 ns a user faster than a branch-free count
            # (measured at 10^4 and 10^6 users).
            if clock[i] < bound and state[i] == ACTIVE_CODE:
                churners[listed] = i
                listed += 1
        # The block's candidates: churn_hazard_locked and fires, the same operations in
        # the same order (math.exp is the C library's, as numerics.exp is on every CPU).
        # Apart from the scan and without a branch, so that the lookups of the
        # candidates' tenure, most of them cache misses at 10^6 users, overlap.
        for k in range(found, listed):
            i = churners[k]
            tenure = steps - joined[i]  # an active user's (ArrayUsers.steps)
            hazard = base_rate * math.exp(-sensitivity * (satisfaction[i] - reference))
            churners[found] = i
            found += hazard * lock_in[tenure] * dt > clock[i]
    return found


def _cannot_churn(satisfaction: float, params: RetentionParams, clock: float) -> bool:
    """Whether ``clock`` rules a user's churn out this step, whatever their lock-in: the
    hazard at no lock-in bounds theirs (the factor is at most 1), computed here with
    ``math.exp`` (~50 ns against ~1 us for NumPy's on a Python float) and the same
    relative margin as the compiled pass's bound. The user's exact hazard is computed
    only when this says no, so every decision is the one the exact hazard gives."""
    exponent = -params.sensitivity * (satisfaction - params.reference_quality)
    if not exponent < 700.0:  # math.exp would overflow (or NaN): decide exactly
        return False
    bound = params.base_rate * math.exp(exponent) * params.dt
    return bound * (1.0 + BOUND_MARGIN) < clock


# -- rejoining --------------------------------------------------------------------------


@quick_init
@dataclass(frozen=True)
class RejoinParams:
    dt: float
    rate: float


class Rejoining(UserMechanism):
    """Churned users become potential users again at ``churn.rejoin_rate``."""

    name = "rejoining"
    states = (CHURNED,)

    def prepare(self, view) -> RejoinParams | None:
        rate = float(view.scenario.churn.rejoin_rate)
        if rate <= 0:  # nobody rejoins: 0 * dt > clock never holds
            return None
        return RejoinParams(dt=float(view.scenario.dt), rate=rate)

    def decide(self, user, params: RejoinParams, draws) -> Move:
        return Move.REJOIN if fires(params.rate, params.dt, draws.clock[user.node]) else Move.STAY

    def decide_all(self, users, members: Members, params: RejoinParams, draws) -> Decision:
        index = members.index
        return Decision(
            moves={Move.REJOIN: index[fires(params.rate, params.dt, draws.clock[index])]}
        )
