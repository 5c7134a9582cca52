"""``FlywheelModel``: a thin ``mesa.Model`` that wires the parts of a flywheel together.

It builds what exists before step 1 (the seeded streams, the population and its
network), the firm, the outside option and the user engine, and owns the
``DataCollector``. What happens in a step is written once, in
:func:`simulator.engines.step.run_step`; the engine named by the scenario (Mesa
agents or NumPy arrays) computes only the users' half of it.
"""

from __future__ import annotations

import os

import mesa
import networkx as nx
import numpy as np

from .engines import make_engine, resolve_engine, uses_agents
from .engines.draws import GroupOrder
from .engines.step import StepRecord, StepTally, run_step
from .firm import Firm
from .firm.pipeline import PipelineCounts
from .mechanisms import USER_MECHANISMS, UserMechanism, UserState
from .metrics.reporters import model_reporters
from .scenario import Scenario, load_scenario
from .world.market import OutsideOption
from .world.population import initial_population, uses_fast_network
from .world.resources import check_memory
from .world.streams import derive_streams


class FlywheelModel(mesa.Model):
    """One AI product, its users on a network, and its data flywheel.

    Parameters
    ----------
    scenario : Scenario, path or None
        The scenario to run; ``None`` runs the baseline (``Scenario()``).
    seed : int, optional
        Root seed; defaults to the scenario's ``seed``.
    engine : str, optional
        ``agent``, ``array`` or ``auto``; defaults to the scenario's ``engine``. The agent
        engine makes every user a Mesa agent; the array engine keeps users in NumPy
        arrays (no agents, same results).
    mechanisms : tuple of UserMechanism, optional
        The user-side mechanisms, in decision order (default:
        :data:`simulator.mechanisms.USER_MECHANISMS`).

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
        mechanisms: tuple[UserMechanism, ...] | None = None,
    ):
        if scenario is None:
            scenario = Scenario()
        elif not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        self.seed = scenario.seed if seed is None else int(seed)
        self.engine = resolve_engine(engine or scenario.engine, scenario.population.size)
        """The engine's name."""
        check_memory(scenario, self.engine, uses_networkx=not uses_fast_network(scenario))
        self.streams = derive_streams(self.seed)
        super().__init__(rng=self.streams.mesa_seed)

        self.params = scenario
        """The scenario in force (interventions replace it; the original is ``initial_params``)."""
        self.initial_params = scenario
        self.group_names = [group.name for group in scenario.population.groups]
        self.n_groups = len(self.group_names)
        self.mechanisms = USER_MECHANISMS if mechanisms is None else tuple(mechanisms)
        self._interventions = sorted(scenario.interventions, key=lambda iv: iv.at)

        population = initial_population(scenario, self.streams)
        self.user_group = population.group
        self.groups = GroupOrder.of(self.user_group, self.n_groups)
        """The users listed group by group, for per-group sums."""
        self.activity_multiplier = population.activity_multiplier
        self.adjacency = population.adjacency
        """The network as a CSR adjacency matrix (row i = user i's neighbours)."""
        self._graph = population.graph
        self._set_interaction_rate()

        self.firm = Firm(scenario, self.streams.pipeline)
        self.firms = [self.firm]
        """Every firm in the market (one: a scenario without ``firms:``)."""
        self.outside = OutsideOption.of(scenario)
        self.reference_quality = self.outside.quality(0)

        self.counts = np.zeros((3, self.n_groups), dtype=np.int64)
        """Users per state (rows: POTENTIAL, ACTIVE, CHURNED) and group."""
        np.add.at(self.counts[UserState.POTENTIAL], self.user_group, 1)
        moved = np.bincount(self.user_group[population.initial_adopters], minlength=self.n_groups)
        self.counts[UserState.POTENTIAL] -= moved
        self.counts[UserState.ACTIVE] += moved
        self.user_engine = make_engine(self.engine, self, population, self.firm.quality)
        """Computes the users' half of each step (``UserEngine`` protocol)."""

        self.record = StepRecord(
            step=0, time=0.0, counts=self.counts.copy(), tally=StepTally.empty(self.n_groups),
            pipeline=PipelineCounts.empty(self.n_groups), firm=self.firm.record(),
            reference_quality=self.reference_quality, deployed=False,
        )  # fmt: skip
        """The latest step's read-only record (what the reporters read)."""
        reporters = model_reporters(self.group_names, estimator=self.firm.learner.uses_points)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: _on_record(reporter) for name, reporter in reporters.items()}
        )
        self.datacollector.collect(self)

    @property
    def graph(self) -> nx.Graph:
        """The network as a NetworkX graph (built from the adjacency on first use if needed)."""
        if self._graph is None:
            self._graph = nx.from_scipy_sparse_array(self.adjacency)
        return self._graph

    @property
    def uses_agents(self) -> bool:
        """Whether every user is a Mesa agent (``model.agents``)."""
        return uses_agents(self.engine)

    def _set_interaction_rate(self) -> None:
        """Expected interactions per step of each user if active: ``activity_g * m_i * dt``."""
        activity = np.array([group.activity for group in self.params.population.groups])
        rate = activity[self.user_group] * self.activity_multiplier
        self.interaction_rate = rate * self.params.dt
        self.rate_in_order = self.interaction_rate[self.groups.order]

    # -- one step ----------------------------------------------------------------------

    def step(self) -> None:
        self.record = run_step(self)
        self.datacollector.collect(self)

    def apply_interventions(self, step: int) -> None:
        """Replace the scenario in force by the interventions scheduled for ``step``."""
        for intervention in self._interventions:
            if intervention.at == step:
                self.params = self.params.with_overrides(intervention.set)
                for firm in self.firms:
                    firm.update(self.params)
                self.outside = OutsideOption.of(self.params)
                self._set_interaction_rate()

    # -- per-user state, as arrays in user order (for audits and tests) -------------

    def user_arrays(self) -> dict[str, np.ndarray]:
        """Per-user state as arrays indexed by node.

        Keys: ``state``, ``tenure``, ``active_neighbours``, ``satisfaction`` (NaN for
        users who are not active: only an active user has one).
        """
        return self.user_engine.user_arrays()


def _on_record(reporter):
    """A DataCollector reporter (a function of the model) from one of the step record."""

    def report(model: FlywheelModel):
        return reporter(model.record)

    report.__name__ = getattr(reporter, "__name__", "reporter")
    return report
