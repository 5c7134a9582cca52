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
from typing import TYPE_CHECKING

import numpy as np

from ..compiled import generator_at, generator_handle, jit, worth_compiling
from ..frozen import quick_init
from ..mechanisms.states import ACTIVE_CODE as ACTIVE
from ..mechanisms.states import POTENTIAL_CODE as POTENTIAL
from ..numerics import poisson

if TYPE_CHECKING:
    from .prefetch import ClockPrefetch


@quick_init
@dataclass(frozen=True)
class StepDraws:
    """One step's draws: per-user clocks, word-of-mouth clocks and interactions per group."""

    clock: np.ndarray
    """Standard exponential per user (length N): the spontaneous-adoption clock of a
    potential user, the churn clock of an active user, the rejoin clock of a churned user."""
    potential: np.ndarray
    """The users who are potential at the start of the step, in index order."""
    word_of_mouth: np.ndarray
    """Standard exponential per potential user (aligned with ``potential``): their
    word-of-mouth clock (bass rule)."""
    interactions: np.ndarray
    """Interactions per group this step: Poisson(dt * sum of its active users' activity)."""
    firm_interactions: np.ndarray | None = None
    """A market of several firms: interactions per firm's product and group, shape
    (firms, groups); ``interactions`` is their sum over firms."""
    pick: np.ndarray | None = None
    """A market: a uniform per user who may pick a product this step (every user not
    active, and active users who reconsider); NaN for the others."""
    reconsider_mask: np.ndarray | None = None
    """A market with switching: the active users who compare products this step."""

    def word_of_mouth_by_user(self) -> np.ndarray:
        """The word-of-mouth clock indexed by user; infinite (never fires) if not potential."""
        by_user = np.full(len(self.clock), np.inf)
        by_user[self.potential] = self.word_of_mouth
        return by_user


@dataclass(frozen=True)
class GroupOrder:
    """The users listed group by group (index order within a group), for per-group sums.

    Built once per run: ``order`` holds user indices, and group ``g``'s users are
    ``order[bounds[g]:bounds[g + 1]]``.
    """

    order: np.ndarray
    bounds: np.ndarray

    group_in_order: np.ndarray | None = None
    """Each listed user's group (``group[order]``)."""
    group: np.ndarray | None = None
    """Each user's group, by user."""

    @classmethod
    def of(cls, group: np.ndarray, n_groups: int) -> GroupOrder:
        group = np.asarray(group)
        order = np.argsort(group, kind="stable")
        in_order = group[order]
        bounds = np.searchsorted(in_order, np.arange(n_groups + 1))
        return cls(order=order, bounds=bounds, group_in_order=in_order.astype(np.int64),
                   group=group)  # fmt: skip

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per-group sums of ``values`` (listed in ``order``); 0 for an empty group.

        One ``add.reduceat`` call: NumPy's pairwise summation over each group's run,
        several times faster than a sequential sum (``bincount`` with weights) and
        fixed by the values alone, so every engine gets the same bits.
        """
        nonempty, starts = self._runs
        sums = np.zeros(len(nonempty))
        if len(starts):
            # Empty groups have no run, so consecutive non-empty starts delimit each run.
            sums[nonempty] = np.add.reduceat(values, starts)
        return sums

    @property
    def _runs(self) -> tuple[np.ndarray, np.ndarray]:
        """Which groups are non-empty, and where their runs start (computed once)."""
        runs = self.__dict__.get("_runs_cache")
        if runs is None:
            starts, ends = self.bounds[:-1], self.bounds[1:]
            nonempty = starts < ends
            runs = (nonempty, starts[nonempty])
            object.__setattr__(self, "_runs_cache", runs)  # a frozen dataclass's cache
        return runs


class ActiveRates:
    """The users' interaction rates listed in group order, 0.0 for users not active: the
    values whose per-group sums are the expected interactions.

    Kept from step to step and updated where a user's state changed since the last call
    (found by comparing with a copy of the states), so that a step reads the states in
    index order instead of gathering them in group order (a random access per user).
    The values are exactly ``rate_in_order * (state[groups.order] == ACTIVE)``.
    """

    def __init__(self, groups: GroupOrder) -> None:
        self.position = np.empty(len(groups.order), dtype=np.intp)
        """Each user's position in group order."""
        self.position[groups.order] = np.arange(len(groups.order))
        self.order = groups.order
        self.values = np.zeros(len(groups.order))
        self._seen = np.zeros(0, dtype=np.int8)
        self._rates: np.ndarray | None = None

    def update(self, state: np.ndarray, rate_in_order: np.ndarray) -> np.ndarray:
        """The values for ``state`` and ``rate_in_order`` (a new array when the rates change).

        Compiled as the step's draws are (:func:`_compiled_draws`); else the same values
        by NumPy, so that a run of the Mesa agents does not import Numba (~0.5 s) for it.
        """
        if rate_in_order is not self._rates or len(self._seen) != len(state):
            _fill_active_rates(self.order, state, rate_in_order, self.values)
            self._seen, self._rates = state.copy(), rate_in_order
        elif _compiled_draws(len(state)):
            _update_active_rates(state, self._seen, self.position, rate_in_order, self.values)
        else:
            changed = np.flatnonzero(state != self._seen)
            now = state[changed]
            self._seen[changed] = now
            where = self.position[changed]
            self.values[where] = np.where(now == ACTIVE, rate_in_order[where], 0.0)
        return self.values


def draw_step(
    rng: np.random.Generator,
    state: np.ndarray,
    groups: GroupOrder,
    rate_in_order: np.ndarray,
    product: np.ndarray | None = None,
    n_firms: int = 1,
    active_rates: ActiveRates | None = None,
    rate_by_user: np.ndarray | None = None,
    prefetch: ClockPrefetch | None = None,
) -> StepDraws:
    """Draw one step's randomness, in a fixed order, from the users' stream.

    ``state`` is every user's state at the start of the step, ``groups`` the users
    listed by group, ``rate_in_order`` each user's expected interactions in one step
    if active (``activity * dt``), listed in ``groups.order``.

    Interactions are drawn per group, not per user: a sum of independent Poisson
    counts is Poisson with the summed rate, so the group's total has exactly the
    distribution of the users' individual counts added up, for one draw instead of
    N. The summed rate is computed here, at model level, once for both engines. In a
    market (``product`` given: each user's firm, -1 if none) it is summed per firm and
    group, and each firm's users' interactions are drawn per group. ``active_rates``, if
    given, keeps the active users' rates from step to step (the same values, less work);
    ``rate_by_user``, if given, is ``rate_in_order`` indexed by user. ``prefetch``, if
    given, holds this step's clocks if they were drawn in the background, and starts
    drawing the next step's once this step's draws are done (the same numbers).
    """
    size = len(state)
    clock = None if prefetch is None else prefetch.take(rng, size)
    clock, potential, word_of_mouth = draw_clocks(rng, state, clock=clock)
    if product is None or n_firms == 1:
        if active_rates is None:
            values = np.empty(size)
            _fill_active_rates(groups.order, state, rate_in_order, values)
        else:
            values = active_rates.update(state, rate_in_order)
        expected = groups.sums(values)
        interactions = poisson(rng, expected)
        firm_interactions = None if product is None else interactions[None, :]
    else:
        expected = _expected_by_product(
            state, groups, rate_in_order, product, n_firms, rate_by_user
        )
        firm_interactions = poisson(rng, expected)
        interactions = firm_interactions.sum(axis=0)
    if prefetch is not None:  # the last draw from rng this step: the next step's clocks
        prefetch.start(rng, size)
    return StepDraws(
        clock=clock,
        potential=potential,
        word_of_mouth=word_of_mouth,
        interactions=interactions,
        firm_interactions=firm_interactions,
    )


COMPILED_DRAWS_FROM = 20_000
"""Users from which the step's draws (:func:`draw_clocks`, a market's picks and expected
interactions) run as compiled loops: the same numbers as NumPy's calls, fewer passes.
Below, they run compiled too once Numba is loaded (the array engine loads it), and as
NumPy calls otherwise (an agent-engine run does not pay Numba's import for them)."""


def _compiled_draws(size: int) -> bool:
    return worth_compiling(size, COMPILED_DRAWS_FROM)


def _fill_active_rates(order, state, rate_in_order, out) -> None:
    """``out[k]``: the rate of the ``k``-th user in ``order`` if active, else 0.0; by the
    compiled loop as the step's draws run (:func:`_compiled_draws`), else by NumPy (the
    same values)."""
    if _compiled_draws(len(state)):
        _active_rates(order, state, rate_in_order, out)
    else:
        out[:] = np.where(state[order] == ACTIVE, rate_in_order, 0.0)


def _expected_by_product(
    state,
    groups: GroupOrder,
    rate_in_order,
    product,
    n_firms: int,
    rate_by_user=None,
    compiled: bool | None = None,
) -> np.ndarray:
    """The active users' summed rates per firm's product and group, shape (firms, groups).

    Compiled (from :data:`COMPILED_DRAWS_FROM` users, or once Numba is loaded): one pass
    in user order; else a weighted ``bincount`` over the users in group order. Each sum
    adds the same values in the same order either way (a group's users are in index
    order within group order), so the two give the same bits (tested).
    """
    n_groups = len(groups.bounds) - 1
    if compiled is None:
        compiled = _compiled_draws(len(state))
    if compiled:
        if rate_by_user is None:
            rate_by_user = np.empty(len(state))
            rate_by_user[groups.order] = rate_in_order
        expected = np.zeros((n_firms, n_groups))
        _rates_by_product(groups.group, state, product, rate_by_user, expected)
        return expected
    ordered = groups.order
    key = product[ordered].astype(np.int64) * n_groups + groups.group_in_order
    key[state[ordered] != ACTIVE] = n_firms * n_groups  # a bin for users on no product
    expected = np.bincount(key, weights=rate_in_order, minlength=n_firms * n_groups + 1)
    return expected[:-1].reshape(n_firms, n_groups)


def draw_clocks(
    rng: np.random.Generator,
    state: np.ndarray,
    compiled: bool | None = None,
    clock: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The step's clocks: a standard exponential per user, then the potential users (in
    index order) and a standard exponential for each of them: ``(clock, potential,
    word_of_mouth)``. ``clock``, if given, is the first part, drawn already (by
    :class:`~.prefetch.ClockPrefetch`): only the rest is drawn.

    Compiled (see :data:`COMPILED_DRAWS_FROM`, or with ``compiled=True``), one loop draws
    them with Numba's implementation of the generator's methods, which produces the same
    numbers as NumPy's from the same bit generator and leaves it in the same state
    (tested): 4-6 ns a draw against NumPy's 6-9 ns at 10^6 users, 64-100 against 78-134
    us at 10^4 and 4.2-4.7 against 8.2-9.2 us at 10^2 (measured, alternating), the
    generator handed over as its :func:`~simulator.compiled.generator_handle`.
    """
    size = len(state)
    if compiled is None:
        compiled = _compiled_draws(size)
    if not compiled:
        if clock is None:
            clock = rng.standard_exponential(size)
        potential = np.flatnonzero(state == POTENTIAL)
        return clock, potential, rng.standard_exponential(len(potential))
    potential = np.empty(size, dtype=np.intp)
    drawn = clock is not None
    if not drawn:
        clock = np.empty(size)
    word_of_mouth = _draw_clocks(generator_handle(rng), state, clock, potential, drawn)
    listed = potential[: len(word_of_mouth)]
    # Copied out of the buffer of one index per user only when they are few (most of a
    # run): while most users are potential, the copy costs more than the spare memory
    # (16 MB of memory traffic a step at 10^6 users), and the buffer is at most 4x too big.
    return clock, listed.copy() if 4 * len(listed) < size else listed, word_of_mouth


def draw_market(
    rng: np.random.Generator, state: np.ndarray, reconsider_probability: float
) -> tuple[np.ndarray, np.ndarray | None]:
    """A market's own draws for one step, from the market stream: ``(pick, reconsider)``.

    Every user not active gets a uniform ``pick`` (the product an adopter or an arrival
    picks); each active user reconsiders with ``reconsider_probability``: the number who
    do is Binomial, and they are a uniform random subset (the same distribution as a
    coin per user, in work proportional to those who do), each with a uniform too.
    """
    size = len(state)
    if _compiled_draws(size):  # one pass, the same numbers (see draw_clocks)
        pick = np.empty(size)
        _draw_picks(generator_handle(rng), state, pick)
    else:
        pick = np.full(size, np.nan)
        waiting = np.flatnonzero(state != ACTIVE)
        pick[waiting] = rng.random(len(waiting))
    if reconsider_probability <= 0:
        return pick, None
    active = np.flatnonzero(state == ACTIVE)
    count = rng.binomial(len(active), reconsider_probability)
    chosen = np.sort(rng.choice(active, size=count, replace=False)) if count else active[:0]
    pick[chosen] = rng.random(len(chosen))
    reconsider = np.zeros(size, dtype=bool)
    reconsider[chosen] = True
    return pick, reconsider


@jit
def _draw_clocks(handle, state, clock, potential, drawn=False):
    """Fill ``clock`` (one draw per user; unless ``drawn``: filled already), list the
    potential users into ``potential``, and return one more draw for each of them, in
    that order (NumPy's order), from the generator of ``handle``."""
    rng = generator_at(handle)
    if not drawn:
        for i in range(len(state)):
            clock[i] = rng.standard_exponential()
    # The potential users, eight states at a time: a word with no zero byte (POTENTIAL is
    # 0) has none, and most words have none once the product has spread.
    words = len(state) // 8
    packed = state[: 8 * words].view(np.uint64)
    count = 0
    for w in range(words):
        v = packed[w]
        if (v - _LOW_BYTES) & ~v & _HIGH_BITS:
            for i in range(8 * w, 8 * w + 8):
                potential[count] = i
                count += state[i] == POTENTIAL
    for i in range(8 * words, len(state)):
        potential[count] = i
        count += state[i] == POTENTIAL
    word_of_mouth = np.empty(count)
    for k in range(count):
        word_of_mouth[k] = rng.standard_exponential()
    return word_of_mouth


@jit
def _fill_exponentials(handle, out):
    """``out``: standard exponentials from the generator of ``handle``, in order (the
    numbers of ``rng.standard_exponential(len(out))``): the clocks of
    :func:`_draw_clocks`'s first loop, drawn ahead by :class:`~.prefetch.ClockPrefetch`."""
    rng = generator_at(handle)
    for i in range(len(out)):
        out[i] = rng.standard_exponential()


@jit
def _draw_picks(handle, state, pick):
    """``pick``: a uniform for each user not active, in index order, NaN for the others."""
    rng = generator_at(handle)
    for i in range(len(state)):
        pick[i] = rng.random() if state[i] != ACTIVE else np.nan


@jit
def _rates_by_product(group, state, product, rate, expected):
    """Add each active user's rate to ``expected[product, group]``, in user order.

    The users of a group are listed in index order within it (a stable sort), so each
    sum adds the same values in the same order as a weighted ``bincount`` over the users
    in group order would: the same bits, reading the arrays in order instead of
    gathering them (4 ms -> ~1 ms at 10^6 users, measured)."""
    for i in range(len(state)):
        if state[i] == ACTIVE:
            expected[product[i], group[i]] += rate[i]


@jit
def _active_rates(order, state, rate_in_order, out):
    """``out[k]``: the rate of the k-th user in ``order`` if active, else 0.0."""
    for k in range(len(order)):
        out[k] = rate_in_order[k] if state[order[k]] == ACTIVE else 0.0


@jit
def _update_active_rates(state, seen, position, rate_in_order, out):
    """:func:`_active_rates` again for the users whose state is not ``seen`` (then seen):
    compared eight at a time (few users change state in a step)."""
    words = len(state) // 8
    now, before = state[: 8 * words].view(np.uint64), seen[: 8 * words].view(np.uint64)
    for w in range(words + 1):
        if w < words and now[w] == before[w]:
            continue
        for i in range(8 * w, min(8 * w + 8, len(state))):
            if state[i] != seen[i]:
                seen[i] = state[i]
                k = position[i]
                out[k] = rate_in_order[k] if state[i] == ACTIVE else 0.0


_LOW_BYTES = np.uint64(0x0101010101010101)
_HIGH_BITS = np.uint64(0x8080808080808080)
"""A word ``v`` of eight bytes has a zero byte if and only if
``(v - _LOW_BYTES) & ~v & _HIGH_BITS`` is not zero."""
