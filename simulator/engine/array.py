"""The array engine: the users' half of a step over NumPy arrays.

Per-user state lives in flat arrays (int8 state, int32 tenure and neighbour
counts, float64 satisfaction) and the network in a SciPy CSR matrix with int32
indices; there is no Python object per user. Every decision calls the same
function of :mod:`simulator.rules` as the Mesa ``User`` agent, with the same
draws, and the arithmetic is IEEE-identical elementwise, so the two engines give
bit-identical results.

Memory per user: 1 (state) + 2 (group) + 4 (tenure) + 4 (active neighbours)
+ 4 (degree) + 8 (satisfaction) + 8 (activity multiplier) + 8 (interaction rate)
= 39 bytes, plus 2 x 8 bytes of per-step draws and the adjacency's
5 bytes per edge end (int32 index + int8 value).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from .. import rules
from ..draws import StepDraws
from ..environment import StepEnvironment, StepTally

POTENTIAL, ACTIVE, CHURNED = 0, 1, 2


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
        self.state[initial_adopters] = ACTIVE
        self.satisfaction[initial_adopters] = quality[group[initial_adopters]]
        self._tell_neighbours(initial_adopters, 1)

    def step(self, env: StepEnvironment, draws: StepDraws, tally: StepTally) -> None:
        """Decide for every user from the start-of-step state, then apply (synchronous)."""
        quality = np.asarray(env.quality)
        potential = np.flatnonzero(self.state == POTENTIAL)
        active = np.flatnonzero(self.state == ACTIVE)
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
                np.asarray(env.attractiveness)[self.group[potential]],
                env.innovation,
                env.imitation,
                env.threshold,
                env.dt,
                draws.clock[potential],
                draws.word_of_mouth[potential],
            )
            adopters = potential[adopts]

        # use: interactions per group are drawn at model level (see draws.py)

        # stay: satisfaction follows experienced quality, then churn
        new_satisfaction = rules.updated_satisfaction(
            self.satisfaction[active], quality[self.group[active]], env.satisfaction_rate
        )
        if env.retention == "risk":  # stay with probability exp(-R_g dt)
            hazard = np.asarray(env.risk)[self.group[active]]
        else:
            hazard = rules.churn_hazard(
                new_satisfaction,
                env.reference_quality,
                self.tenure[active],
                env.churn_base_rate,
                env.churn_sensitivity,
                env.lock_in,
                env.lock_in_time,
            )
        churns = rules.fires(hazard, env.dt, draws.clock[active])
        churners = active[churns]
        rejoiners = churned[rules.fires(env.rejoin_rate, env.dt, draws.clock[churned])]

        # apply
        self.satisfaction[active] = new_satisfaction
        self.tenure[active[~churns]] += 1
        self.state[churners] = CHURNED
        self.state[rejoiners] = POTENTIAL
        joiners = np.concatenate([adopters, returning]) if len(returning) else adopters
        self.state[joiners] = ACTIVE
        self.tenure[joiners] = 0
        self.satisfaction[joiners] = quality[self.group[joiners]]
        self._tell_neighbours(joiners, 1)
        self._tell_neighbours(churners, -1)

        tally.adoptions[:] = self._count(joiners)
        tally.organic_adoptions = int(np.count_nonzero(by_word_of_mouth))
        tally.churns[:] = self._count(churners)
        tally.rejoins[:] = self._count(rejoiners) + self._count(returning)

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
        np.add.at(self.active_neighbours, neighbours, change)

    def _count(self, users: np.ndarray) -> np.ndarray:
        return np.bincount(self.group[users], minlength=self.n_groups)

    def arrays(self) -> dict[str, np.ndarray]:
        """Per-user state, as :meth:`FlywheelModel.user_arrays` returns it."""
        return {
            "state": self.state,
            "tenure": self.tenure.astype(np.int64),
            "active_neighbours": self.active_neighbours.astype(np.int64),
            "satisfaction": self.satisfaction,
        }
