"""``FlywheelModel``: one AI product, its users on a network, and its data flywheel.

One step (one ``dt``, a week by default):

1. interventions scheduled for this step change the scenario;
2. users decide against the start-of-step state: potential users may **adopt**,
   active users **use** the product and may **churn**, churned users may rejoin;
3. every user applies their decision (the step is synchronous);
4. the company **collects** the step's interactions into training data and
   **learns**: every ``retrain_every`` steps it retrains, and the new model goes
   live ``latency`` steps later;
5. the outside market's baseline model improves; metrics are collected.

All randomness of a step is drawn once, at model level, from streams derived
from the scenario's seed (see ``draws.py`` and ``streams.py``).
"""

from __future__ import annotations

import os
from typing import NamedTuple

import mesa
import networkx as nx
import numpy as np
from mesa.discrete_space import Network

from . import rules
from .agents import User, UserState
from .company import Company, PipelineCounts
from .draws import GroupOrder, StepDraws, draw_step
from .engine import resolve_engine
from .engine.array import ArrayUsers
from .environment import StepEnvironment, StepTally
from .metrics import model_reporters
from .population import initial_population, uses_fast_network
from .resources import check_memory
from .scenario import Scenario, load_scenario
from .streams import derive_streams


class FlywheelModel(mesa.Model):
    """The agent engine: every user is a Mesa ``FixedAgent`` on a network cell.

    Parameters
    ----------
    scenario : Scenario, path or None
        The scenario to run; ``None`` runs the baseline (``Scenario()``).
    seed : int, optional
        Root seed; defaults to the scenario's ``seed``.
    engine : {"agent", "array", "auto"}, optional
        Defaults to the scenario's ``engine``. ``agent`` makes every user a Mesa
        agent; ``array`` keeps users in NumPy arrays (no agents, same results).

    Examples
    --------
    >>> model = FlywheelModel()
    >>> model.run_for(10)
    >>> model.datacollector.get_model_vars_dataframe()["active_users"].iloc[-1] > 0
    True
    """

    def __init__(
        self,
        scenario: Scenario | str | os.PathLike | None = None,
        *,
        seed: int | None = None,
        engine: str | None = None,
    ):
        if scenario is None:
            scenario = Scenario()
        elif not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        self.seed = scenario.seed if seed is None else int(seed)
        self.engine = resolve_engine(engine or scenario.engine, scenario.population.size)
        check_memory(scenario, self.engine, uses_networkx=not uses_fast_network(scenario))
        self.streams = derive_streams(self.seed)
        super().__init__(rng=self.streams.mesa_seed)

        self.params = scenario
        """The scenario in force (interventions replace it; the original is ``initial_params``)."""
        self.initial_params = scenario
        self.group_names = [group.name for group in scenario.population.groups]
        self.n_groups = len(self.group_names)
        self._interventions = sorted(scenario.interventions, key=lambda iv: iv.at)

        population = initial_population(scenario, self.streams)
        self.user_group = population.group
        self._groups = GroupOrder.of(self.user_group, self.n_groups)
        self.activity_multiplier = population.activity_multiplier
        self.adjacency = population.adjacency
        """The network as a CSR adjacency matrix (row i = user i's neighbours)."""
        self._graph = population.graph
        self._set_interaction_rate()

        self.company = Company(scenario, self.streams.pipeline)
        self.reference_quality = float(self._market_baseline(0))
        self.pipeline = _empty_pipeline(self.n_groups)
        self.tally = StepTally(self.n_groups)
        self.deployed = False
        self.draws: StepDraws | None = None
        self.user_draws: UserDraws | None = None
        """Agent engine: this step's per-user clocks as lists indexed by node."""
        self.env: StepEnvironment | None = None

        self.counts = np.zeros((3, self.n_groups), dtype=np.int64)
        """Users per state (rows: POTENTIAL, ACTIVE, CHURNED) and group."""
        np.add.at(self.counts[UserState.POTENTIAL], self.user_group, 1)
        adopters = population.initial_adopters
        moved = np.bincount(self.user_group[adopters], minlength=self.n_groups)
        self.counts[UserState.POTENTIAL] -= moved
        self.counts[UserState.ACTIVE] += moved
        if self.engine == "agent":
            self.user_state = np.zeros(len(self.user_group), dtype=np.int8)
            """Every user's state, kept current by the agents (model-level draws need it)."""
            self._create_users(adopters)
        else:
            self.users = ArrayUsers(
                self.adjacency, self.user_group, self.n_groups, adopters, self.company.quality
            )
            self.user_state = self.users.state

        self.arriving: list[bool] = []
        """Agent engine, ``adoption.rule: arrivals``: which users arrive this step."""
        reporters = model_reporters(self.group_names, estimator=self.company.estimates)
        self.datacollector = mesa.DataCollector(model_reporters=reporters)
        self.datacollector.collect(self)

    @property
    def graph(self) -> nx.Graph:
        """The network as a NetworkX graph (built from the adjacency on first use if needed)."""
        if self._graph is None:
            self._graph = nx.from_scipy_sparse_array(self.adjacency)
        return self._graph

    # -- construction ----------------------------------------------------------------

    def _create_users(self, initial_adopters: np.ndarray) -> None:
        self.grid = Network(self.graph, layout=None, random=self.random)
        self.users = [
            User(self, self.grid[node], node, int(group))
            for node, group in enumerate(self.user_group.tolist())
        ]
        for user in self.users:
            user.cache_neighbours()
        quality = self.company.quality.tolist()
        for node in initial_adopters.tolist():
            user = self.users[node]
            user.state = user.next_state = UserState.ACTIVE
            self.user_state[node] = UserState.ACTIVE
            user.satisfaction = quality[user.group]
            user._tell_neighbours(+1)

    def _set_interaction_rate(self) -> None:
        """Expected interactions per step of each user if active: ``activity_g * m_i * dt``."""
        activity = np.array([group.activity for group in self.params.population.groups])
        rate = activity[self.user_group] * self.activity_multiplier
        self.interaction_rate = rate * self.params.dt
        self._rate_in_order = self.interaction_rate[self._groups.order]

    def _market_baseline(self, step: int) -> float:
        baseline = self.params.market.baseline
        return float(
            rules.market_baseline(step, baseline.start, baseline.ceiling, baseline.time_constant)
        )

    # -- one step ----------------------------------------------------------------------

    def step(self) -> None:
        step = self.steps
        self._apply_interventions(step)
        self.env = StepEnvironment.build(
            self.params, self.company.quality, self.reference_quality, self.company.risk
        )
        self.draws = draw_step(
            self.streams.steps, self.user_state, self._groups,
            self._rate_in_order,
        )  # fmt: skip
        self.tally = StepTally(self.n_groups)
        self.tally.interactions[:] = self.draws.interactions
        self._step_users()
        self._update_counts()
        self.pipeline = self.company.collect(self.tally.interactions, self.streams.pipeline)
        self.deployed = self.company.learn(step)
        self.reference_quality = self._market_baseline(step)
        self.datacollector.collect(self)

    def _step_users(self) -> None:
        """Decide, then apply, for every user."""
        if self.engine == "array":
            self.users.step(self.env, self.draws, self.tally)
            return
        draws = self.draws
        if self.env.rule == "arrivals":
            eligible = self.user_state != UserState.ACTIVE
            arrivals = np.asarray(self.env.arrivals)
            arriving = rules.choose_arrivals(eligible, self.user_group, draws.clock, arrivals)
            self.arriving = arriving.tolist()
        # Python lists index faster per agent than arrays; the values are the same doubles.
        self.user_draws = UserDraws(draws.clock.tolist(), draws.word_of_mouth_by_user().tolist())
        self.agents.do("decide")
        self.agents.do("apply")

    def _update_counts(self) -> None:
        tally = self.tally
        self.counts[UserState.POTENTIAL] += tally.rejoins - tally.adoptions
        self.counts[UserState.ACTIVE] += tally.adoptions - tally.churns
        self.counts[UserState.CHURNED] += tally.churns - tally.rejoins

    def _apply_interventions(self, step: int) -> None:
        for intervention in self._interventions:
            if intervention.at == step:
                self.params = self.params.with_overrides(intervention.set)
                self.company.update(self.params)
                self._set_interaction_rate()

    # -- per-user state, as arrays in user order (for audits and tests) -------------

    def user_arrays(self) -> dict[str, np.ndarray]:
        """Per-user state as arrays indexed by node.

        Keys: ``state``, ``tenure``, ``active_neighbours``, ``satisfaction`` (NaN for
        users who are not active: only an active user has one).
        """
        if self.engine == "array":
            return self.users.arrays()
        users = self.users
        return {
            "state": np.fromiter((u.state for u in users), dtype=np.int8, count=len(users)),
            "tenure": np.fromiter((u.tenure for u in users), dtype=np.int64, count=len(users)),
            "active_neighbours": np.fromiter(
                (u.active_neighbours for u in users), dtype=np.int64, count=len(users)
            ),
            "satisfaction": np.fromiter(
                (u.satisfaction if u.state is UserState.ACTIVE else np.nan for u in users),
                dtype=float,
                count=len(users),
            ),
        }


class UserDraws(NamedTuple):
    """A step's per-user draws as Python lists indexed by node (agent engine)."""

    clock: list[float]
    word_of_mouth: list[float]


def _empty_pipeline(n_groups: int) -> PipelineCounts:
    zeros = np.zeros(n_groups, dtype=np.int64)
    return PipelineCounts(zeros, zeros, zeros, zeros, zeros)
