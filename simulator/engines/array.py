"""The array engine: the users' half of a step over NumPy arrays.

Per-user state lives in flat arrays (int8 state, int32 tenure and neighbour
counts, float64 satisfaction) and the network in a SciPy CSR matrix with int32
indices; there is no Python object per user. Every decision is a registered
mechanism's vector kernel, which calls the same formula as its scalar kernel (the
Mesa ``User`` agent's) with the same draws; the arithmetic is IEEE-identical
elementwise, so the two engines give bit-identical results.

Memory per user: 1 (state) + 2 (group) + 8 (tenure: when it started, and the kept
value) + 4 (active neighbours) + 4 (degree) + 8 (satisfaction) + 8 (activity multiplier)
+ 8 (interaction rate) = 43 bytes, plus up to 4 x 8 bytes of per-group values spread to users
(quality, attractiveness, risk; cached), up to 2 x 8 bytes of per-step draws,
the step's temporaries, and the adjacency's 5 bytes per edge end (int32 index +
int8 value). Measured: 373 MB peak for 10^6 users on a Barabasi-Albert graph of
mean degree 6, interpreter and libraries included (benchmarks/README.md).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from ..compiled import jit
from ..mechanisms.retention import lock_in_table
from ..mechanisms.states import ACTIVE_CODE, CHURNED_CODE, POTENTIAL_CODE, commit_all
from .step import StepMoves, StepPlan, decide_with_kernels


class ArrayUsers:
    """All users of a run as arrays indexed by user (= graph node); implements ``UserEngine``.

    Parameters
    ----------
    adjacency : scipy.sparse.csr_array
        Symmetric 0/1 adjacency, row i = user i's neighbours.
    group : ndarray of int
        Each user's group index.
    initial_adopters : ndarray of int
        Users active at step 0.
    quality : ndarray of float
        The deployed model's quality per group at step 0 (initial satisfaction).
    """

    def __init__(
        self,
        adjacency: scipy.sparse.csr_array,
        group: np.ndarray,
        initial_adopters: np.ndarray,
        quality: np.ndarray,
        n_firms: int | None = None,
    ) -> None:
        size = len(group)
        self.n_groups = len(quality)
        """Groups (``quality`` has one value per group): the length of per-group counts."""
        self.n_firms = n_firms
        """Several firms (or network effects): how many; None for one plain product."""
        self.product = None if n_firms is None else np.full(size, -1, dtype=np.int8)
        """Market: each user's product (firm index), -1 if not active."""
        self.neighbours_on = None if n_firms is None else np.zeros((n_firms, size), np.int32)
        """Market: active neighbours per firm's product, shape (firms, users)."""
        self.adjacency = adjacency
        self.group = group
        self.row = group
        """Every user's row (engines/cohorts.py): the group, unless a candidate is served
        to some users this step."""
        self.degree = np.diff(adjacency.indptr).astype(np.int32)
        self.state = np.zeros(size, dtype=np.int8)
        self.joined = np.zeros(size, dtype=np.int32)
        """Active users: the steps the engine had taken when their tenure was 0 (their
        tenure is ``steps - joined``, so a step need not add one to every active user's)."""
        self.kept_tenure = np.zeros(size, dtype=np.int32)
        """Users not active: their tenure, kept from when they left (0 if never active)."""
        self.satisfaction = np.zeros(size)
        self.next_satisfaction = self.satisfaction
        """Everyone's satisfaction after this step's experience (set by retention)."""
        self.active_neighbours = np.zeros(size, dtype=np.int32)
        self._steps = 0
        self._spread: dict[tuple, np.ndarray] = {}
        self._lock_in_key: tuple | None = None
        self._lock_in_factor = np.zeros(0)
        self._scratch: dict[str, np.ndarray] = {}
        self.seed(initial_adopters, 0, quality)

    @classmethod
    def build(cls, model, population, quality: np.ndarray) -> ArrayUsers:
        return cls(
            population.adjacency, population.group, population.initial_adopters, quality,
            model.market_firms,
        )  # fmt: skip

    def seed(self, users: np.ndarray, firm: int, quality: np.ndarray) -> None:
        """Make ``users`` active on ``firm``'s product (its first users), satisfied at its
        ``quality`` per group; users on a rival's product leave it."""
        if self.product is not None:
            rivals = users[self.state[users] == ACTIVE_CODE]
            self.tell_neighbours(rivals, -1, self.product[rivals])
        self.state[users] = ACTIVE_CODE
        self.joined[users] = self._steps  # tenure 0 now
        self.satisfaction[users] = np.asarray(quality, dtype=float)[self.group[users]]
        self.set_products(users, np.full(len(users), firm))
        self.tell_neighbours(users, 1, self.product_of(users))

    def leave(self, users: np.ndarray) -> None:
        """``users`` (active) churn at once, outside the step's decisions (tenure kept)."""
        self.tell_neighbours(users, -1, self.product_of(users))
        self.keep_tenure(users)
        self.state[users] = CHURNED_CODE
        self.set_products(users, None)

    def step_users(self, plan: StepPlan) -> StepMoves:
        """Decide for every user from the start-of-step state, then commit (synchronous)."""
        self.next_satisfaction = self.satisfaction
        cohorts = plan.view.cohorts
        self.row = self.group if cohorts is None else cohorts.row
        moves = decide_with_kernels(self, plan)
        table = plan.view.firm_quality if cohorts is None else cohorts.quality
        quality = np.asarray(table, dtype=float).tolist()
        moves.counts = commit_all(self, moves.moves, moves.products, quality)
        self._steps += 1
        return moves

    # -- tenure ---------------------------------------------------------------------------

    @property
    def tenure(self) -> np.ndarray:
        """Every user's tenure, steps since they last became active (kept while not
        active), as a new int32 array."""
        active = self.state == ACTIVE_CODE
        return np.where(active, self._steps - self.joined, self.kept_tenure).astype(np.int32)

    @tenure.setter
    def tenure(self, values) -> None:
        values = np.asarray(values, dtype=np.int32)
        self.kept_tenure[:] = values
        self.joined[:] = self._steps - values

    def tenure_of(self, users: np.ndarray) -> np.ndarray:
        """The tenure of ``users`` (indices), as intp (a faster gather by tenure)."""
        active = self.state[users] == ACTIVE_CODE
        return np.where(active, self._steps - self.joined[users], self.kept_tenure[users]).astype(
            np.intp
        )

    @property
    def steps(self) -> int:
        """The steps this engine has taken: an active user's tenure is ``steps - joined``."""
        return self._steps

    def keep_tenure(self, users: np.ndarray) -> None:
        """Active ``users`` leave: keep their tenure at its value at the start of the step."""
        self.kept_tenure[users] = self._steps - self.joined[users]

    def restart_tenure(self, users: np.ndarray) -> None:
        """``users`` join (or switch) this step: tenure 0 once the step is done."""
        self.joined[users] = self._steps + 1

    # -- buffers reused from step to step ---------------------------------------------------

    def scratch(self, name: str, dtype) -> np.ndarray:
        """A per-user work array called ``name`` (contents undefined), kept for reuse."""
        array = self._scratch.get(name)
        if array is None or array.dtype != dtype or len(array) != len(self.state):
            array = self._scratch[name] = np.empty(len(self.state), dtype=dtype)
        return array

    # -- products (a market of firms) -------------------------------------------------------

    def product_of(self, users: np.ndarray) -> np.ndarray | None:
        return None if self.product is None else self.product[users]

    def set_products(self, users: np.ndarray, products: np.ndarray | None) -> None:
        """Put ``users`` on ``products`` (None: off every product; absent: firm 0)."""
        if self.product is not None:
            self.product[users] = -1 if products is None else products

    def joining_satisfaction(self, users: np.ndarray, quality: list[list[float]]) -> np.ndarray:
        """A joiner's (or switcher's) first satisfaction: their new product's quality."""
        if self.product is None:
            return np.asarray(quality[0], dtype=float)[self.row[users]]
        table = np.asarray(quality, dtype=float)
        return table[self.product[users], self.row[users]]

    def per_product(self, table: list[list[float]]) -> np.ndarray:
        """``table[firm][group]`` for every user's product (0 for users on none)."""
        values = np.asarray(table, dtype=float)
        product = self.product.astype(np.intp)
        out = values[np.maximum(product, 0), self.row]
        return np.where(product >= 0, out, 0.0)

    def shares_on(self, users: np.ndarray) -> np.ndarray:
        """Share of each user's neighbours on each firm's product, shape (firms, users)."""
        degree = self.degree[users]
        counts = self.neighbours_on[:, users]
        out = np.zeros(counts.shape, dtype=float)
        return np.divide(counts, degree, out=out, where=degree > 0)

    def per_user(self, per_group) -> np.ndarray:
        """A per-group value spread to every user (cached until the values change)."""
        key = tuple(np.asarray(per_group, dtype=float).tolist())
        cached = self._spread.get(key)
        if cached is None:
            if len(self._spread) >= 4:  # quality and risk change at each deployment
                self._spread.clear()
            cached = self._spread[key] = np.asarray(key, dtype=float)[self.group]
        return cached

    def per_row(self, per_row) -> np.ndarray:
        """A per-row value (engines/cohorts.py) spread to every user: :meth:`per_user` while
        rows are groups."""
        if self.row is self.group:
            return self.per_user(per_row)
        return np.asarray(per_row, dtype=float)[self.row]

    def lock_in_table(self, lock_in: float, lock_in_time: float) -> np.ndarray:
        """The lock-in factor by tenure, long enough for every user's tenure."""
        key = (lock_in, lock_in_time)
        # Tenure grows by at most one a step, so it never exceeds the steps taken.
        if self._lock_in_key != key or len(self._lock_in_factor) <= self._steps:
            length = 2 * (self._steps + 1)
            self._lock_in_factor = lock_in_table(length, *key)
            self._lock_in_key = key
        return self._lock_in_factor

    def commit_one_product(
        self, churners: np.ndarray, rejoiners: np.ndarray, adopters: np.ndarray,
        organic: np.ndarray, returning: np.ndarray, quality: list[float],
    ) -> np.ndarray:  # fmt: skip
        """Commit one product's moves (``states.commit_all``) in one compiled call, as
        :meth:`keep_tenure`, :meth:`restart_tenure` and :meth:`tell_neighbours` would with
        the states set: ``churners`` leave, ``rejoiners`` become potential, ``adopters``,
        ``organic`` (by word of mouth) and ``returning`` users become active at ``quality``
        of their row. Returns who joined, churned and rejoined per group, as
        ``StepTally.of`` counts them (``JOINS``, ``CHURN``, ``REJOINS``: a returning user
        both joins and rejoins)."""
        counts = np.zeros((3, self.n_groups), dtype=np.int64)
        _commit_one_product(
            self.state, self.satisfaction, self.row, self.group,
            np.asarray(quality, dtype=float), churners, rejoiners, adopters, organic,
            returning, self.joined, self.kept_tenure, self._steps, self.adjacency.indptr,
            self.adjacency.indices, self.active_neighbours, _NO_PRODUCTS, _NO_COUNTS, counts,
        )  # fmt: skip
        return counts

    def tell_neighbours(self, users: np.ndarray, change: int, products=None) -> None:
        """Add ``change`` to the active-neighbour count of every neighbour of ``users``
        (and, in a market, to their count of neighbours on each user's product)."""
        if len(users) == 0:
            return
        one_product = self.neighbours_on is None
        _add_to_neighbours(
            self.adjacency.indptr, self.adjacency.indices, users,
            _NO_PRODUCTS if one_product else np.asarray(products), change,
            self.active_neighbours, _NO_COUNTS if one_product else self.neighbours_on,
        )  # fmt: skip

    def user_arrays(self) -> dict[str, np.ndarray]:
        """Per-user state, as :meth:`FlywheelModel.user_arrays` returns it."""
        return {
            "state": self.state,
            "tenure": self.tenure.astype(np.int64),
            "active_neighbours": self.active_neighbours.astype(np.int64),
            "satisfaction": np.where(self.state == ACTIVE_CODE, self.satisfaction, np.nan),
        } | ({} if self.product is None else {"product": self.product.astype(np.int64)})


_NO_PRODUCTS = np.zeros(0, dtype=np.int8)
_NO_COUNTS = np.zeros((0, 0), dtype=np.int32)
"""One product: :func:`_add_to_neighbours` has no counts per product to update."""


@jit
def _add_to_neighbours(indptr, indices, users, products, change, counts, counts_on):
    """Add ``change`` to ``counts`` of every neighbour of each of ``users`` (CSR rows) and,
    in a market (``products`` not empty), to ``counts_on[products[k]]`` of every neighbour
    of ``users[k]`` (integers: the same counts in any order)."""
    per_product = len(products) > 0
    for k in range(len(users)):
        user = users[k]
        for position in range(indptr[user], indptr[user + 1]):
            neighbour = indices[position]
            counts[neighbour] += change
            if per_product:
                counts_on[products[k], neighbour] += change


@jit
def _commit_one_product(
    state, satisfaction, row, group, quality, churners, rejoiners, adopters, organic,
    returning, joined, kept_tenure, steps, indptr, indices, active_neighbours, no_products,
    no_counts, counts,
):  # fmt: skip
    """:meth:`ArrayUsers.commit_one_product`: churners keep their tenure and leave,
    rejoiners become potential, joiners restart their tenure and become active at
    ``quality[row]``; the neighbours' counts by :func:`_add_to_neighbours` (integers: the
    same counts in any order); ``counts`` rows 0, 1, 2: joiners, churners, rejoiners
    (rejoining or returning) by ``group``. Stayers' tenure grows by the engine's step
    count: no pass over every user."""
    for i in churners:
        kept_tenure[i] = steps - joined[i]
        state[i] = CHURNED_CODE
        counts[1, group[i]] += 1
    for i in rejoiners:
        state[i] = POTENTIAL_CODE
        counts[2, group[i]] += 1
    _add_to_neighbours(indptr, indices, churners, no_products, -1, active_neighbours,
                       no_counts)  # fmt: skip

    def join(joiners, rejoining):
        for i in joiners:
            joined[i] = steps + 1
            state[i] = ACTIVE_CODE
            satisfaction[i] = quality[row[i]]
            counts[0, group[i]] += 1
            if rejoining:
                counts[2, group[i]] += 1
        _add_to_neighbours(indptr, indices, joiners, no_products, 1, active_neighbours,
                           no_counts)  # fmt: skip

    join(adopters, False)
    join(organic, False)
    join(returning, True)
