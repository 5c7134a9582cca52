"""The agent engine: every user is a Mesa agent on a cell of a ``Network`` space.

A step is synchronous: every user first ``decide``s from the state at the start of
the step (nobody sees a neighbour's decision of the same step), running the scalar
kernels of the registered mechanisms; then every user ``apply``s their move
(:func:`simulator.mechanisms.states.commit`). Randomness comes from the step's
draws, indexed by the user's node, never from the agent itself.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from mesa.discrete_space import FixedAgent, Network

from ..mechanisms import ACTIVE, CHURNED, Move, UserState
from ..mechanisms.states import PICKS, commit
from .step import StepMoves, StepPlan


class UserDraws(NamedTuple):
    """A step's per-user draws as Python lists indexed by node (fast to index per agent;
    the same doubles as the arrays)."""

    clock: list[float]
    word_of_mouth: list[float]
    pick: list[float] | None = None
    """A market: the uniform a user picks a product with (NaN if they pick none)."""
    reconsider: list[bool] | None = None
    """A market with switching: whether the user compares products this step."""


class User(FixedAgent):
    """A user on a node of the social network.

    Attributes
    ----------
    node : int
        The user's node in the graph, also their index in per-user arrays.
    group : int
        Index of the user's segment in ``population.groups``.
    state : UserState
    satisfaction : float
        Smoothed experienced quality, in [0, 1].
    tenure : int
        Steps since the user last adopted.
    active_neighbours : int
        How many neighbours are active (kept up to date by neighbours' moves).
    degree : int
        How many neighbours the user has.
    """

    def __init__(
        self, model, cell, node: int, group: int, states: np.ndarray,
        products: np.ndarray | None = None, n_firms: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__(model)
        self.cell = cell
        self.node = node
        self.group = group
        self.row = group
        """The user's row (engines/cohorts.py): the group, unless a candidate is served to
        some users this step."""
        self.state = UserState.POTENTIAL
        self.satisfaction = 0.0
        self.tenure = 0
        self.active_neighbours = 0
        self.neighbours: list[User] = []
        self.degree = 0
        self.move = Move.STAY
        self.next_satisfaction = 0.0
        self.states = states
        """The engine's array of every user's state (this user writes its own entry)."""
        self.product = -1
        """The firm whose product the user is on (-1: none; always 0 with one product)."""
        self.next_product = 0
        self.products = products
        """A market: the engine's array of every user's product (this user writes its own)."""
        self.neighbours_on: list[int] = [0] * n_firms if n_firms else []
        """A market: how many neighbours are on each firm's product."""

    def cache_neighbours(self) -> None:
        """Remember the neighbouring users (the graph does not change during a run).

        Reads ``cell.connections`` rather than ``cell.neighborhood``: Mesa 3.5 caches
        ``Cell.get_neighborhood`` with a class-level ``functools.cache``, which keeps
        every cell, agent and model alive for the life of the process.
        """
        self.neighbours = [user for cell in self.cell.connections.values() for user in cell.agents]
        self.degree = len(self.neighbours)

    def decide(self, plan: dict, draws: UserDraws, moves: dict[Move, list[int]]) -> None:
        """Read the start-of-step state and choose a move: the first mechanism in force for
        this user's state that gives one wins."""
        self.move = Move.STAY
        for mechanism, params in plan[self.state]:
            move = mechanism.decide(self, params, draws)
            if move:
                self.move = move
                moves[move].append(self.node)
                return

    def apply(self, joining_quality: list[list[float]]) -> None:
        """Commit the move decided this step."""
        commit(self, self.move, joining_quality)
        if self.move and self.products is not None:  # staying keeps the product
            self.products[self.node] = self.product

    def tell_neighbours(self, change: int) -> None:
        if self.products is None:
            for neighbour in self.neighbours:
                neighbour.active_neighbours += change
            return
        product = self.product
        for neighbour in self.neighbours:
            neighbour.active_neighbours += change
            neighbour.neighbours_on[product] += change


class AgentEngine:
    """Users as Mesa agents (see the module docstring); implements ``UserEngine``."""

    def __init__(self, model, population, quality: np.ndarray) -> None:
        n_firms = model.market_firms
        self.state = np.zeros(population.size, dtype=np.int8)
        self.product = None if n_firms is None else np.full(population.size, -1, np.int8)
        self.grid = Network(model.graph, layout=None, random=model.random)
        self.users = [
            User(model, self.grid[node], node, int(group), self.state, self.product, n_firms)
            for node, group in enumerate(population.group.tolist())
        ]
        self.agents = model.agents
        self._rows: np.ndarray | None = None
        for user in self.users:
            user.cache_neighbours()
        self.seed(population.initial_adopters, 0, quality)

    def seed(self, users: np.ndarray, firm: int, quality: np.ndarray) -> None:
        initial = np.asarray(quality, dtype=float).tolist()
        for node in np.asarray(users).tolist():
            user = self.users[node]
            if user.state is ACTIVE:  # on a rival's product: leaves it
                user.tell_neighbours(-1)
            user.state = ACTIVE
            self.state[node] = ACTIVE
            user.tenure = 0
            user.satisfaction = initial[user.group]
            user.product = firm
            if self.product is not None:
                self.product[node] = firm
            user.tell_neighbours(+1)

    def leave(self, users: np.ndarray) -> None:
        for node in np.asarray(users).tolist():
            user = self.users[node]
            user.tell_neighbours(-1)
            user.state = CHURNED
            self.state[node] = CHURNED
            user.product = -1
            if self.product is not None:
                self.product[node] = -1

    def set_rows(self, rows: np.ndarray | None) -> None:
        """Every user's row this step (None: their group), when the rows change."""
        if rows is self._rows:
            return
        self._rows = rows
        if rows is None:
            for user in self.users:
                user.row = user.group
        else:
            for user, row in zip(self.users, rows.tolist(), strict=True):
                user.row = row

    def step_users(self, plan: StepPlan) -> StepMoves:
        cohorts = plan.view.cohorts
        self.set_rows(None if cohorts is None else cohorts.row)
        draws = plan.view.draws
        user_draws = UserDraws(
            draws.clock.tolist(), draws.word_of_mouth_by_user().tolist(),
            None if draws.pick is None else draws.pick.tolist(),
            None if draws.reconsider_mask is None else draws.reconsider_mask.tolist(),
        )  # fmt: skip
        moves: dict[Move, list[int]] = {move: [] for move in Move if move}
        # The methods themselves, not their names: no attribute lookup per agent (measured:
        # ~9% of a step of the agent engine at 10^4 users).
        self.agents.do(User.decide, plan.by_state, user_draws, moves)
        products = {
            move: np.array([self.users[node].next_product for node in users], dtype=np.int64)
            for move, users in moves.items()
            if move in PICKS and users and self.product is not None
        }
        table = plan.view.firm_quality if cohorts is None else cohorts.quality
        self.agents.do(User.apply, np.asarray(table, dtype=float).tolist())
        return StepMoves(
            moves={move: np.array(users, dtype=np.intp) for move, users in moves.items()},
            organic=len(moves[Move.ADOPT_WOM]),
            products=products,
        )

    def user_arrays(self) -> dict[str, np.ndarray]:
        users, n = self.users, len(self.users)
        return {
            "state": np.fromiter((u.state for u in users), dtype=np.int8, count=n),
            "tenure": np.fromiter((u.tenure for u in users), dtype=np.int64, count=n),
            "active_neighbours": np.fromiter(
                (u.active_neighbours for u in users), dtype=np.int64, count=n
            ),
            "satisfaction": np.fromiter(
                (u.satisfaction if u.state is ACTIVE else np.nan for u in users),
                dtype=float,
                count=n,
            ),
        } | ({} if self.product is None else {"product": self.product.astype(np.int64)})
