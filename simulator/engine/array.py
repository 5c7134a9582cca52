"""The array engine: the users' half of a step over NumPy arrays.

Per-user state lives in flat arrays (int8 state, int32 tenure and neighbour
counts, float64 satisfaction) and the network in a SciPy CSR matrix with int32
indices; there is no Python object per user. Every decision calls the same
function of :mod:`simulator.rules` as the Mesa ``User`` agent, with the same
draws, and the arithmetic is IEEE-identical elementwise, so the two engines give
bit-identical results.

Memory per user: 1 (state) + 2 (group) + 4 (tenure) + 4 (active neighbours)
+ 4 (degree) + 8 (satisfaction) + 8 (activity multiplier) + 8 (interaction rate)
= 39 bytes, plus up to 4 x 8 bytes of per-group values spread to users
(quality, attractiveness, risk; cached), up to 2 x 8 bytes of per-step draws,
the step's temporaries, and the adjacency's 5 bytes per edge end (int32 index +
int8 value). Measured: 373 MB peak for 10^6 users on a Barabasi-Albert graph of
mean degree 6, interpreter and libraries included (benchmarks/README.md).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from .. import rules
from ..draws import StepDraws
from ..environment import StepEnvironment, StepTally

POTENTIAL, ACTIVE, CHURNED = 0, 1, 2
BINCOUNT_FROM = 100
"""Neighbour updates touching more than 1/100 of the users use a dense ``bincount``."""


class ArrayUsers:
    """All users of a run as arrays indexed by user (= graph node).

    Parameters
    ----------
    adjacency : scipy.sparse.csr_array
        Symmetric 0/1 adjacency, row i = user i's neighbours.
    group : ndarray of int
        Each user's group index.
    n_groups : int
        Number of groups in the scenario.
    initial_adopters : ndarray of int
        Users active at step 0.
    quality : ndarray of float
        The deployed model's quality per group at step 0 (initial satisfaction).
    """

    def __init__(
        self,
        adjacency: scipy.sparse.csr_array,
        group: np.ndarray,
        n_groups: int,
        initial_adopters: np.ndarray,
        quality: np.ndarray,
    ) -> None:
        size = len(group)
        self.adjacency = adjacency
        self.group = group
        self.n_groups = n_groups
        self.degree = np.diff(adjacency.indptr).astype(np.int32)
        self.state = np.zeros(size, dtype=np.int8)
        self.tenure = np.zeros(size, dtype=np.int32)
        self.satisfaction = np.zeros(size)
        self.active_neighbours = np.zeros(size, dtype=np.int32)
        self._steps = 0
        self._spread: dict[tuple, np.ndarray] = {}
        self._lock_in_key: tuple | None = None
        self._lock_in_factor = np.zeros(0)
        self.state[initial_adopters] = ACTIVE
        self.satisfaction[initial_adopters] = quality[group[initial_adopters]]
        self._tell_neighbours(initial_adopters, 1)

    def step(self, env: StepEnvironment, draws: StepDraws, tally: StepTally) -> None:
        """Decide for every user from the start-of-step state, then apply (synchronous)."""
        potential = draws.potential
        churned = np.flatnonzero(self.state == CHURNED)

        # adopt
        returning = churned[:0]  # churned users who arrive again (rule: arrivals)
        if env.rule == "arrivals":
            arriving = rules.choose_arrivals(
                self.state != ACTIVE, self.group, draws.clock, np.asarray(env.arrivals)
            )
            adopters = potential[arriving[potential]]
            returning = churned[arriving[churned]]
            churned = churned[~arriving[churned]]
            by_word_of_mouth = np.zeros(0, dtype=bool)
        else:
            share = rules.adopted_neighbour_share(
                self.active_neighbours[potential], self.degree[potential]
            )
            adopts, by_word_of_mouth = rules.adoption_events(
                env.rule,
                share,
                self._per_user(env.attractiveness)[potential],
                env.innovation,
                env.imitation,
                env.threshold,
                env.dt,
                draws.clock[potential],
                draws.word_of_mouth,
            )
            adopters = potential[adopts]

        # use: interactions per group are drawn at model level (see draws.py)

        # stay: satisfaction follows experienced quality, then churn. Computed over
        # all users and masked to the active ones: most users are active for most of
        # a run, and whole-array arithmetic is cheaper than gathering the active.
        is_active = self.state == ACTIVE
        new_satisfaction = rules.updated_satisfaction(
            self.satisfaction, self._per_user(env.quality), env.satisfaction_rate
        )
        if env.retention == "risk":  # stay with probability exp(-R_g dt)
            hazard = self._per_user(env.risk)
        else:
            hazard = rules.churn_hazard_locked(
                new_satisfaction,
                env.reference_quality,
                env.churn_base_rate,
                env.churn_sensitivity,
                self._lock_in(env)[self.tenure.astype(np.intp)],  # intp: faster gather
            )
        churns = rules.fires(hazard, env.dt, draws.clock) & is_active
        churners = np.flatnonzero(churns)
        rejoiners = churned[rules.fires(env.rejoin_rate, env.dt, draws.clock[churned])]

        # apply
        # Everyone's satisfaction moves; only the active users' is ever read (a joiner's
        # starts afresh), and user arrays report it for active users only.
        self.satisfaction = new_satisfaction
        self.tenure += is_active  # stayers gain a step; churners keep their tenure
        self.tenure[churners] -= 1
        self.state[churners] = CHURNED
        self.state[rejoiners] = POTENTIAL
        joiners = np.concatenate([adopters, returning]) if len(returning) else adopters
        self.state[joiners] = ACTIVE
        self.tenure[joiners] = 0
        self.satisfaction[joiners] = self._per_user(env.quality)[joiners]
        self._tell_neighbours(joiners, 1)
        self._tell_neighbours(churners, -1)

        tally.adoptions[:] = self._count(joiners)
        tally.organic_adoptions = int(np.count_nonzero(by_word_of_mouth))
        tally.churns[:] = self._count(churners)
        tally.rejoins[:] = self._count(rejoiners) + self._count(returning)
        self._steps += 1

    def _per_user(self, per_group: list[float]) -> np.ndarray:
        """A per-group value spread to every user (cached until the values change)."""
        key = tuple(per_group)
        cached = self._spread.get(key)
        if cached is None:
            if len(self._spread) >= 4:  # quality and risk change at each deployment
                self._spread.clear()
            cached = self._spread[key] = np.asarray(per_group, dtype=float)[self.group]
        return cached

    def _lock_in(self, env: StepEnvironment) -> np.ndarray:
        """The lock-in factor by tenure, long enough for every user's tenure."""
        key = (env.lock_in, env.lock_in_time)
        # Tenure grows by at most one a step, so it never exceeds the steps taken.
        if self._lock_in_key != key or len(self._lock_in_factor) <= self._steps:
            length = 2 * (self._steps + 1)
            self._lock_in_factor = rules.lock_in_table(length, *key)
            self._lock_in_key = key
        return self._lock_in_factor

    def _tell_neighbours(self, users: np.ndarray, change: int) -> None:
        """Add ``change`` to the active-neighbour count of every neighbour of ``users``."""
        if len(users) == 0:
            return
        indptr, indices = self.adjacency.indptr, self.adjacency.indices
        starts, ends = indptr[users], indptr[users + 1]
        lengths = ends - starts
        # Concatenate the neighbour slices of all users without a Python loop.
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        neighbours = indices[np.arange(lengths.sum()) + offsets]
        # Scatter-add: ``add.at`` costs ~40 ns per entry, a dense ``bincount`` ~1 ns per
        # user; switch where they cross (measured; integers, so both give the same counts).
        if len(neighbours) * BINCOUNT_FROM > len(self.active_neighbours):
            counts = np.bincount(neighbours, minlength=len(self.active_neighbours))
            self.active_neighbours += (counts if change > 0 else -counts).astype(np.int32)
        else:
            np.add.at(self.active_neighbours, neighbours, change)

    def _count(self, users: np.ndarray) -> np.ndarray:
        return np.bincount(self.group[users], minlength=self.n_groups)

    def arrays(self) -> dict[str, np.ndarray]:
        """Per-user state, as :meth:`FlywheelModel.user_arrays` returns it."""
        return {
            "state": self.state,
            "tenure": self.tenure.astype(np.int64),
            "active_neighbours": self.active_neighbours.astype(np.int64),
            "satisfaction": np.where(self.state == ACTIVE, self.satisfaction, np.nan),
        }
