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

from . import numerics
from .engines import make_engine, resolve_engine, uses_agents
from .engines.cohorts import Cohorts, row_index, table
from .engines.draws import ActiveRates, GroupOrder
from .engines.prefetch import ClockPrefetch
from .engines.step import StepRecord, StepTally, run_step
from .firm import Firm
from .firm.abtest import uses_ab_test, uses_canary
from .firm.pairs import uses_preference
from .firm.pipeline import PipelineCounts
from .mechanisms import USER_MECHANISMS, UserMechanism, UserState
from .mechanisms.choice import is_plain
from .metrics.batch import FLUSH_EVERY, Batch, batch_columns, fields_of
from .metrics.reporters import collected_signals, model_reporters
from .regulation import TrustShock, apply_verbs
from .scenario import Scenario, load_scenario
from .world.market import OutsideOption
from .world.network.graphs import graph_from_csr
from .world.population import initial_population, uses_fast_network
from .world.resources import check_memory
from .world.streams import (
    DEPLOYMENT_STREAM,
    PREFERENCE_STREAM,
    SIGNALS_STREAM,
    derive_streams,
    privacy_stream,
)


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
        self.shocks: list = []
        """Privacy incidents so far (:class:`simulator.regulation.TrustShock`)."""

        population = initial_population(scenario, self.streams)
        self.user_group = population.group
        self.groups = GroupOrder.of(self.user_group, self.n_groups)
        """The users listed group by group, for per-group sums."""
        self.active_rates = ActiveRates(self.groups)
        """The active users' interaction rates in group order, kept from step to step."""
        self.clock_prefetch = ClockPrefetch.for_run(len(self.user_group))
        """Draws the next step's clocks on a second core during a step (large runs; the
        same numbers): :mod:`simulator.engines.prefetch`."""
        self.activity_multiplier = population.activity_multiplier
        self.adjacency = population.adjacency
        """The network as a CSR adjacency matrix (row i = user i's neighbours)."""
        self._graph = population.graph
        self._set_interaction_rate()

        self.firm_names = scenario.firm_names
        self.market_firms = None if is_plain(scenario) else len(self.firm_names)
        """A market of several firms (or network effects, tastes): how many firms; None for
        one plain product (the faster path of the mechanisms)."""
        self.firms = [
            Firm(scenario.for_firm(j), self.streams.firm_pipeline(j), name,
                 privacy_rng=(self.streams.firm_child(privacy_stream(scenario), j)
                              if scenario.privacy is not None else None),
                 preference_rng=self.streams.firm_child(PREFERENCE_STREAM, j))
            for j, name in enumerate(self.firm_names)
        ]  # fmt: skip
        """Every firm in the market (one: a scenario without ``firms:``)."""
        self.firm = self.firms[0]
        for j, firm in enumerate(self.firms):  # A/B tests: a stream of their own (no draws
            firm.deployment_rng = self.streams.firm_child(DEPLOYMENT_STREAM, j)  # otherwise)
            firm.signals_rng = self.streams.firm_child(SIGNALS_STREAM, j)  # top-K scores
        self._traffic_bucket: np.ndarray | None = None
        self._rows: tuple | None = None
        """Cohorts: the per cents in force and every user's row for them (cached)."""
        self.entered = np.zeros(len(self.firms), dtype=bool)
        """Which firms' products have been put on offer (and their first users seeded)."""
        self.outside = OutsideOption.of(scenario)
        self.reference_quality = self.outside.quality(0)

        self.counts = np.zeros((3, self.n_groups), dtype=np.int64)
        """Users per state (rows: POTENTIAL, ACTIVE, CHURNED) and group."""
        np.add.at(self.counts[UserState.POTENTIAL], self.user_group, 1)
        moved = np.bincount(self.user_group[population.initial_adopters], minlength=self.n_groups)
        self.counts[UserState.POTENTIAL] -= moved
        self.counts[UserState.ACTIVE] += moved
        self._firm_counts = np.zeros((len(self.firms), self.n_groups), dtype=np.int64)
        self._firm_counts[0] = moved
        self.user_engine = make_engine(self.engine, self, population, self.firm.quality)
        """Computes the users' half of each step (``UserEngine`` protocol)."""
        self.entered[0] = not scenario.firms or scenario.firms[0].enters_at == 0
        self.firms[0].served = len(population.initial_adopters)
        for j, firm in enumerate(self.firms):
            firm.active_before = int(self._firm_counts[j].sum())
            if firm.cold_start.free_tier.enabled:  # the first users start free too
                firm.ledger.free_users = firm.active_before
        self.lighthouse_users: dict[int, np.ndarray] = {}
        """Per firm, the users its lighthouse customer brought."""
        self.enter_firms(0)
        self.run_events(0)

        pipelines = tuple(PipelineCounts.empty(self.n_groups) for _ in self.firms)
        self.record = StepRecord(
            step=0, time=0.0, counts=self.counts.copy(),
            tally=StepTally.empty(self.n_groups, self.market_firms),
            pipeline=pipelines[0], firm=self.firm.record(),
            reference_quality=self.reference_quality, deployed=False,
            firms=tuple(firm.record() for firm in self.firms),
            firm_counts=self.firm_counts.copy(), firm_pipelines=pipelines,
            on_offer=self.on_offer(0), market=bool(scenario.firms),
        )  # fmt: skip
        """The latest step's read-only record (what the reporters read)."""
        reporters = model_reporters(
            self.group_names,
            estimator=self.firm.learner.uses_points,
            firms=self.firm_names if scenario.firms else None,
            sources=any(firm.cold_start.in_use for firm in self.firms),
            economics=any(firm.economics is not None for firm in self.firms),
            ab_test=uses_ab_test(scenario),
            preference=uses_preference(scenario),
            signals=collected_signals(scenario),
            canary=uses_canary(scenario),
        )
        batched = batch_columns(self.group_names) if len(self.firms) == 1 else None
        self.datacollector = RecordCollector(reporters, batched)
        self.datacollector.collect(self)

    @property
    def graph(self) -> nx.Graph:
        """The network as a NetworkX graph (built from the adjacency on first use if needed)."""
        if self._graph is None:
            self._graph = graph_from_csr(self.adjacency)
        return self._graph

    @property
    def uses_agents(self) -> bool:
        """Whether every user is a Mesa agent (``model.agents``)."""
        return uses_agents(self.engine)

    # -- the market ------------------------------------------------------------------

    @property
    def firm_counts(self) -> np.ndarray:
        """Active users per firm and group (firms, groups)."""
        if self.market_firms is None:
            return self.counts[UserState.ACTIVE][None, :]
        return self._firm_counts

    def on_offer(self, step: int) -> np.ndarray:
        """Which firms' products users can choose at ``step``."""
        if not self.params.firms:
            return _ONE_ON_OFFER
        params = self.params
        return np.array([params.entry_step(j) <= step for j in range(len(params.firms))])

    def reconsider_probability(self) -> float:
        """The chance that an active user compares products in one step."""
        rate = self.params.choice.reconsider_rate * self.params.dt
        return float(-numerics.expm1(-rate))

    def enter_firms(self, step: int) -> None:
        """Put on offer the products of the firms entering at ``step``, with their first users
        (a launch: people who try the new product). They are potential users first; if there
        are too few (a saturated market), churned users, then rivals' users. Within each
        pool they are chosen at random (market stream) or as the best-connected
        (``adoption.seeding: hubs``)."""
        for j in range(len(self.params.firms)):
            if self.entered[j] or self.params.entry_step(j) > step:
                continue
            self.entered[j] = True
            self._seed_firm(j, self.params.firm_initial_adopters(j), self.streams.market)

    def run_events(self, step: int) -> None:
        """A lighthouse customer's users joining or leaving together at ``step`` (the tactics'
        data blocks are added by each firm when it collects, :meth:`Firm.collect`)."""
        for j, firm in enumerate(self.firms):
            lighthouse = firm.cold_start.lighthouse
            if lighthouse.users and lighthouse.at == step:
                names = [group.name for group in self.params.population.groups]
                group = names.index(lighthouse.group) if lighthouse.group else 0
                self.lighthouse_users[j] = self._seed_firm(
                    j, lighthouse.users, self.streams.business, group=group
                )
            if lighthouse.leaves_at == step and j in self.lighthouse_users:
                self._leave(self.lighthouse_users[j], j)

    def _seed_firm(self, j: int, wanted: int, rng, group: int | None = None) -> np.ndarray:
        """Put ``wanted`` users on firm ``j``'s product (potential users first, then churned,
        then rivals' users; of one ``group`` if given); return them."""
        state, product = self.user_engine.state, self.user_engine.product
        mine = np.ones(len(state), dtype=bool) if group is None else self.user_group == group
        rivals = (
            (state == int(UserState.ACTIVE)) & (product != j)
            if product is not None
            else (np.zeros(len(state), dtype=bool))
        )
        chosen = []
        pools = (state == int(UserState.POTENTIAL), state == int(UserState.CHURNED), rivals)
        for pool in pools:
            if wanted == 0:
                break
            candidates = np.flatnonzero(pool & mine)
            take = min(wanted, len(candidates))
            if take == 0:
                continue
            if self.params.adoption.seeding == "hubs":
                degree = np.diff(self.adjacency.indptr)[candidates]
                chosen.append(candidates[np.lexsort((candidates, -degree))[:take]])
            else:
                chosen.append(rng.choice(candidates, size=take, replace=False))
            wanted -= take
        if not chosen:
            return np.zeros(0, dtype=np.intp)
        chosen = np.sort(np.concatenate(chosen))
        groups = self.user_group[chosen]
        before = state[chosen].copy()
        if product is not None:
            moving = chosen[before == int(UserState.ACTIVE)]
            np.add.at(self._firm_counts, (product[moving], self.user_group[moving]), -1)
        self.user_engine.seed(chosen, j, self.firms[j].quality)
        for previous in (UserState.POTENTIAL, UserState.CHURNED):
            moved = np.bincount(groups[before == previous], minlength=self.n_groups)
            self.counts[previous] -= moved
            self.counts[UserState.ACTIVE] += moved
        self._firm_counts[j] += np.bincount(groups, minlength=self.n_groups)
        firm = self.firms[j]
        firm.served += len(chosen)
        firm.active_before += len(chosen)
        if firm.cold_start.free_tier.enabled and group is None:  # launch users start free
            firm.ledger.free_users += len(chosen)
        return chosen

    def _leave(self, users: np.ndarray, j: int) -> None:
        """``users`` still active on firm ``j``'s product churn, all at once."""
        engine = self.user_engine
        on = engine.state[users] == int(UserState.ACTIVE)
        if engine.product is not None:
            on &= engine.product[users] == j
        leaving = users[on]
        if len(leaving) == 0:
            return
        engine.leave(leaving)
        moved = np.bincount(self.user_group[leaving], minlength=self.n_groups)
        self.counts[UserState.ACTIVE] -= moved
        self.counts[UserState.CHURNED] += moved
        self._firm_counts[j] -= moved
        self.firms[j].active_before -= len(leaving)

    def settle_accounts(self, tally, pipelines) -> None:
        """After learning: each firm counts the users it gained (its first users are
        curated while few), settles its free tier and books the step's revenue and costs."""
        for j, firm in enumerate(self.firms):
            if self.market_firms is None:
                joined, lost = numerics.total(tally.adoptions), numerics.total(tally.churns)
            else:
                joined = int(tally.firm_adoptions[j].sum())
                lost = int(tally.firm_losses[j].sum())
            firm.served += joined
            firm.settle_tiers(joined, lost, self.streams.business)
            if firm.economics is not None:
                active = int(self.firm_counts[j].sum())
                used = 0.0 if firm.curated_this_step else float(pipelines[j].new_examples.sum())
                firm.account(active, self.lighthouse_active(j), firm.retrained, used)
            firm.active_before = numerics.total(self.firm_counts[j])

    def lighthouse_share(self, j: int) -> np.ndarray | None:
        """Per group, the share of firm ``j``'s active users who came with its lighthouse
        customer (None without one): their share of the users' feedback this step."""
        users = self.lighthouse_users.get(j)
        if users is None or len(users) == 0:
            return None
        engine = self.user_engine
        on = engine.state[users] == int(UserState.ACTIVE)
        if engine.product is not None:
            on &= engine.product[users] == j
        members = np.bincount(self.user_group[users[on]], minlength=self.n_groups)
        active = self.firm_counts[j]
        return np.divide(members, active, out=np.zeros(self.n_groups), where=active > 0)

    def cohorts(self, firm_quality: np.ndarray, risks: list) -> Cohorts | None:
        """This step's cohorts (simulator/engines/cohorts.py): None unless a firm serves a
        candidate to some users (an A/B test or a canary running)."""
        exposures = [firm.exposure() for firm in self.firms]
        if not any(exposures):
            return None
        pcts = tuple(sorted({pct for pct, _ in filter(None, exposures)}))
        if self._rows is None or self._rows[0] != pcts:
            self._rows = (pcts, row_index(self.traffic_bucket(), self.user_group,
                                          self.n_groups, pcts))  # fmt: skip
        served = [None if e is None else (e[0], firm.served_quality(e[1]))
                  for firm, e in zip(self.firms, exposures, strict=True)]  # fmt: skip
        risk = None
        if risks[0] is not None:
            served_risk = [None if e is None else (e[0], e[1].risk) for e in exposures]
            risk = table(np.stack(risks), served_risk, pcts)
        return Cohorts(self._rows[1], table(firm_quality, served, pcts), risk)

    def traffic_bucket(self) -> np.ndarray:
        """Every user's stable bucket in 0..99 (simulator/firm/abtest.py)."""
        from .firm.abtest import traffic_bucket

        if self._traffic_bucket is None:
            self._traffic_bucket = traffic_bucket(len(self.user_group))
        return self._traffic_bucket

    def test_traffic(self, j: int, interactions: np.ndarray):
        """An A/B test's traffic this step (simulator/firm/abtest.py): firm ``j``'s
        interactions per group, and its active users per group in the treatment cohort
        (``hash(user) mod 100 < traffic_pct``) and in all."""
        engine = self.user_engine
        active = engine.state == int(UserState.ACTIVE)
        if engine.product is not None:
            active &= engine.product == j
        treated = active & (self.traffic_bucket() < self.firms[j].cohort_pct)
        count = np.bincount
        return (interactions, count(self.user_group[treated], minlength=self.n_groups),
                count(self.user_group[active], minlength=self.n_groups))  # fmt: skip

    def lighthouse_active(self, j: int) -> int:
        """Users of firm ``j``'s lighthouse customer still active on its product."""
        users = self.lighthouse_users.get(j)
        if users is None or len(users) == 0:
            return 0
        engine = self.user_engine
        on = engine.state[users] == int(UserState.ACTIVE)
        if engine.product is not None:
            on &= engine.product[users] == j
        return int(np.count_nonzero(on))

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
            if intervention.at != step:
                continue
            if intervention.set:
                self.params = self.params.with_overrides(intervention.set)
                for j, firm in enumerate(self.firms):
                    firm.update(self.params.for_firm(j))
                self.outside = OutsideOption.of(self.params)
                self._set_interaction_rate()
            if intervention.verbs:
                apply_verbs(self, intervention, step)

    def trust_shock(self, step: int):
        """The privacy incidents in force at ``step``, combined (None: no incident)."""
        return TrustShock.combined(self.shocks, step) if self.shocks else None

    # -- per-user state, as arrays in user order (for audits and tests) -------------

    def user_arrays(self) -> dict[str, np.ndarray]:
        """Per-user state as arrays indexed by node.

        Keys: ``state``, ``tenure``, ``active_neighbours``, ``satisfaction`` (NaN for
        users who are not active: only an active user has one).
        """
        return self.user_engine.user_arrays()


_ONE_ON_OFFER = np.ones(1, dtype=bool)
"""One product, always on offer: the same read-only array every step (``np.ones`` each
step costs ~1.5 us)."""
_ONE_ON_OFFER.flags.writeable = False


class RecordCollector(mesa.DataCollector):
    """Mesa's ``DataCollector`` over reporters of the step record (:mod:`.metrics.reporters`).

    Its ``model_reporters`` are functions of the model, as Mesa expects, and its columns and
    values are what Mesa's ``collect`` would give; ``collect`` calls each reporter on the
    record directly, without Mesa's per-value ``deepcopy`` (every value is a Python int or
    float): Mesa's loop was a third of a step's fixed cost (measured at 100 users).

    ``batched`` columns (:func:`.metrics.batch.batch_columns`, a run of one firm) are not
    computed at each step: ``collect`` keeps the record and the fields those columns read
    off it, and the columns of the steps kept are computed together, as arrays over the
    steps, when ``model_vars`` is read (or every :data:`~.metrics.batch.FLUSH_EVERY`
    steps), with the same values.
    """

    def __init__(self, reporters: dict, batched: dict | None = None) -> None:
        self._pending: list[tuple] = []
        """The steps whose batched columns are not computed yet: (fields, record) each."""
        super().__init__(
            model_reporters={name: _on_record(reporter) for name, reporter in reporters.items()}
        )
        batched = {name: column for name, column in (batched or {}).items() if name in reporters}
        self._batched = tuple((self._columns[name], column) for name, column in batched.items())
        self._appends = tuple(
            (self._columns[name].append, reporter)
            for name, reporter in reporters.items()
            if name not in batched
        )

    @property
    def model_vars(self) -> dict[str, list]:
        """Each column's values, one per collected step (Mesa's attribute)."""
        if self._pending:
            self._compute_pending()
        return self._columns

    @model_vars.setter
    def model_vars(self, columns: dict[str, list]) -> None:
        self._columns = columns

    def collect(self, model) -> None:
        if self.agent_reporters or self.agenttype_reporters:  # pragma: no cover - none here
            super().collect(model)
            return
        self._collection_steps.append(model.time)
        record = model.record
        for append, reporter in self._appends:  # each column's list, bound once
            append(reporter(record))
        if self._batched:
            self._pending.append((fields_of(record), record))
            if len(self._pending) >= FLUSH_EVERY:
                self._compute_pending()

    def _compute_pending(self) -> None:
        rows, records = zip(*self._pending, strict=True)
        self._pending = []
        batch = Batch(list(rows), list(records))
        for values, column in self._batched:
            values.extend(column(batch))


def _on_record(reporter):
    """A DataCollector reporter (a function of the model) from one of the step record."""

    def report(model: FlywheelModel):
        return reporter(model.record)

    report.__name__ = getattr(reporter, "__name__", "reporter")
    return report
