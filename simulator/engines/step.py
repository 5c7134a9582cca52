"""One step of the flywheel, written once: the order of its phases and what flows between them.

::

    0 interventions   scheduled changes replace the scenario in force; firms whose
                      entry step it is put their product on offer with their first users;
                      cold-start tactics due now add their data (or a lighthouse's users)
    1 look            StepView: the start-of-step state every user decides against
    2 draw            StepDraws: the users' randomness, from the steps stream
    3 decide+commit   the engine runs the registered user mechanisms (adopt, stay,
                      rejoin, arrive) for every user, synchronously -> moves
    4 tally           StepTally: the moves and interactions counted per group
    5 collect         each firm's pipeline turns its users' interactions into its data
    6 learn           each firm retrains on its cadence and deploys after its latency;
                      free users convert, and each firm books its revenue and costs
    7 market          the outside option (open model) moves to this step's quality
    8 record          StepRecord: a read-only record of the step for the reporters

The two engines (Mesa agents, NumPy arrays) differ only in phase 3, behind the
:class:`UserEngine` protocol; everything else is the same code for both, which is
why they give identical results.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..frozen import quick_init
from ..mechanisms import USER_MECHANISMS, Members, Move, UserMechanism, UserState
from ..mechanisms.choice import MarketView
from ..mechanisms.states import JOINS, REJOINS
from .draws import StepDraws, draw_market, draw_step

if TYPE_CHECKING:
    from ..firm.firm import FirmRecord
    from ..firm.pipeline import PipelineCounts
    from ..regulation import TrustShock
    from ..scenario import Scenario
    from .cohorts import Cohorts


@quick_init
@dataclass(frozen=True)
class StepView:
    """What every user decides against: the scenario in force and start-of-step state."""

    step: int
    scenario: Scenario
    quality: np.ndarray
    """The (first) firm's deployed model quality per group."""
    risk: np.ndarray | None
    """The (first) firm's deployed estimator's risk per group (estimator learners only)."""
    reference_quality: float
    """The outside option's quality (the open model) at the start of the step."""
    user_state: np.ndarray
    """Every user's state at the start of the step (read only)."""
    user_group: np.ndarray
    draws: StepDraws
    firm_quality: np.ndarray | None = None
    """Every firm's deployed quality, shape (firms, groups)."""
    firm_risk: np.ndarray | None = None
    on_offer: np.ndarray | None = None
    """Which firms' products are on offer this step."""
    installed: np.ndarray | None = None
    """A market: active users per firm at the start of the step (None for one product)."""
    market: MarketView | None = None
    """A market of several firms (or network effects, tastes): what choice needs. None
    for one plain product."""
    trust: TrustShock | None = None
    """A privacy incident in force (simulator/regulation.py): churn up, word of mouth
    against the product. None: no incident."""
    cohorts: Cohorts | None = None
    """A candidate served to some users (an A/B test, a canary): every user's row and the
    quality per firm and row they experience (simulator/engines/cohorts.py). None: every
    user is served the deployed models (rows are groups)."""


_STATES = tuple(UserState)
"""Every start-of-step state, in order (iterating the enum itself costs ~1 us a step)."""


@quick_init
@dataclass(frozen=True)
class StepPlan:
    """The mechanisms in force this step, with their parameters, per start-of-step state."""

    view: StepView
    by_state: dict[UserState, list[tuple[UserMechanism, object]]]

    @classmethod
    def of(cls, view: StepView, mechanisms: tuple[UserMechanism, ...]) -> StepPlan:
        by_state: dict[UserState, list[tuple[UserMechanism, object]]] = {s: [] for s in _STATES}
        for mechanism in mechanisms:
            params = mechanism.prepare(view)
            if params is not None:
                for state in mechanism.states:
                    by_state[state].append((mechanism, params))
        return cls(view=view, by_state=by_state)


@dataclass
class StepMoves:
    """The users who moved this step, per move (ascending index arrays), and how many
    adoptions were by word of mouth."""

    moves: dict[Move, np.ndarray] = field(default_factory=dict)
    organic: int = 0
    products: dict[Move, np.ndarray] = field(default_factory=dict)
    """For moves that pick a product: each mover's firm, aligned with ``moves``."""
    counts: np.ndarray | None = None
    """The users who joined, churned and rejoined, per group (rows; int64), if the engine
    counted them as it committed the moves (else :class:`StepTally` counts them)."""

    def users(self, *moves: Move) -> np.ndarray:
        parts = [self.moves[m] for m in moves if m in self.moves and len(self.moves[m])]
        if not parts:
            return np.zeros(0, dtype=np.intp)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def chosen(self, *moves: Move) -> np.ndarray:
        """The products picked by the users of :meth:`users` (firm 0 where none is set)."""
        parts = [
            self.products[m] if m in self.products else np.zeros(len(self.moves[m]), np.int64)
            for m in moves
            if m in self.moves and len(self.moves[m])
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


class UserEngine(Protocol):
    """How the users' half of a step is computed (phase 3): Mesa agents or arrays."""

    state: np.ndarray
    """Every user's state, kept current (the draws read it at the start of a step)."""

    def step_users(self, plan: StepPlan) -> StepMoves:
        """Decide every user's move from the start-of-step state, then commit them all."""

    def user_arrays(self) -> dict[str, np.ndarray]:
        """Per-user ``state``, ``tenure``, ``active_neighbours``, ``satisfaction`` (NaN if
        not active), indexed by user (and ``product`` in a market of firms)."""

    def seed(self, users: np.ndarray, firm: int, quality: np.ndarray) -> None:
        """Make ``users`` active on ``firm``'s product (an entrant's first users)."""

    def leave(self, users: np.ndarray) -> None:
        """Make active ``users`` churn at once (a lighthouse customer leaving)."""


@quick_init
@dataclass(frozen=True)
class StepTally:
    """Counts of what users did in one step, per group (int arrays)."""

    adoptions: np.ndarray
    churns: np.ndarray
    rejoins: np.ndarray
    interactions: np.ndarray
    organic_adoptions: int = 0
    """Adoptions by word of mouth (the imitation / threshold clock fired first)."""
    firm_interactions: np.ndarray | None = None
    """A market: interactions per firm and group, shape (firms, groups)."""
    firm_adoptions: np.ndarray | None = None
    """A market: users who joined each firm's product this step (adopting, returning or
    switching to it), per firm and group."""
    firm_losses: np.ndarray | None = None
    """A market: users each firm lost this step (churning or switching away), per firm and
    group."""
    switches: int = 0

    @classmethod
    def empty(cls, n_groups: int, n_firms: int | None = None) -> StepTally:
        zeros = np.zeros(n_groups, dtype=np.int64)
        if n_firms is None:
            return cls(zeros, zeros, zeros, zeros, 0)
        firms = np.zeros((n_firms, n_groups), dtype=np.int64)
        return cls(zeros, zeros, zeros, zeros, 0, firms, firms, firms)

    @classmethod
    def of(
        cls, moves: StepMoves, group: np.ndarray, n_groups: int, draws: StepDraws,
        left: np.ndarray | None = None, n_firms: int | None = None,
    ) -> StepTally:  # fmt: skip
        """Count the moves per group (and, in a market, per firm: ``left`` is the product
        each churner and switcher was on before the step)."""

        def count(users: np.ndarray) -> np.ndarray:
            if not len(users):  # most steps have no rejoins, some no churns
                return np.zeros(n_groups, dtype=np.int64)
            return np.bincount(group[users], minlength=n_groups).astype(np.int64, copy=False)

        if moves.counts is None:
            joins = count(moves.users(*JOINS))
            churns = count(moves.users(Move.CHURN))
            rejoins = count(moves.users(*REJOINS))
        else:
            joins, churns, rejoins = moves.counts
        tally = cls(
            adoptions=joins, churns=churns, rejoins=rejoins,
            interactions=np.asarray(draws.interactions, dtype=np.int64),
            organic_adoptions=int(moves.organic),
        )  # fmt: skip
        if n_firms is None:
            return tally

        def by_firm(products: np.ndarray, users: np.ndarray) -> np.ndarray:
            key = np.asarray(products, dtype=np.int64) * n_groups + group[users]
            counts = np.bincount(key, minlength=n_firms * n_groups)
            return counts.reshape(n_firms, n_groups).astype(np.int64)

        joined = by_firm(moves.chosen(*JOINS, Move.SWITCH), moves.users(*JOINS, Move.SWITCH))
        lost = by_firm(left, moves.users(Move.CHURN, Move.SWITCH))
        return replace(
            tally, firm_interactions=draws.firm_interactions, firm_adoptions=joined,
            firm_losses=lost, switches=len(moves.users(Move.SWITCH)),
        )  # fmt: skip

    @property
    def spontaneous_adoptions(self) -> int:
        return int(self.adoptions.sum()) - self.organic_adoptions


@quick_init
@dataclass(frozen=True)
class StepRecord:
    """A read-only record of one step: what the reporters, metrics and plots read."""

    step: int
    time: float
    counts: np.ndarray
    """Users per state (rows: POTENTIAL, ACTIVE, CHURNED) and group, after the step."""
    tally: StepTally
    pipeline: PipelineCounts
    """The pipeline's counts summed over firms."""
    firm: FirmRecord
    """The (first) firm; every firm is in ``firms``."""
    reference_quality: float
    deployed: bool
    """Whether a new model went live this step (at any firm)."""
    firms: tuple[FirmRecord, ...] = ()
    """Every firm, in the scenario's order."""
    firm_counts: np.ndarray | None = None
    """A market: active users per firm and group after the step, shape (firms, groups)."""
    firm_pipelines: tuple[PipelineCounts, ...] = ()
    on_offer: np.ndarray | None = None
    market: bool = False
    """Whether the scenario is a market of firms (``firms:``): per-firm columns."""


def run_step(model) -> StepRecord:
    """Advance ``model`` (a :class:`~simulator.model.FlywheelModel`) by one step."""
    step = model.steps
    model.apply_interventions(step)  # 0
    model.enter_firms(step)
    model.run_events(step)
    engine, firms, market = model.user_engine, model.firms, model.market_firms
    product = None if market is None else engine.product
    prefetch = model.clock_prefetch
    if market is not None:  # the market stream's draws, beside the steps stream's if prefetching
        market_args = (model.streams.market, engine.state, model.reconsider_probability())
        picking = None if prefetch is None else prefetch.beside(draw_market, *market_args)
    draws = draw_step(  # 2
        model.streams.steps, engine.state, model.groups, model.rate_in_order,
        product, market or 1, model.active_rates, model.interaction_rate, prefetch,
    )  # fmt: skip
    # One firm: its quality array as a (1, groups) view, not a copy (a step's fixed cost).
    firm_quality = (np.stack([firm.quality for firm in firms]) if len(firms) > 1
                    else np.asarray(firms[0].quality)[None, :])  # fmt: skip
    risks = [firm.risk for firm in firms]
    on_offer = model.on_offer(step)  # the view's and the record's (the same step)
    view = StepView(  # 1
        step=step, scenario=model.params, quality=firms[0].quality, risk=firms[0].risk,
        reference_quality=model.reference_quality, user_state=engine.state,
        user_group=model.user_group, draws=draws, firm_quality=firm_quality,
        firm_risk=None if risks[0] is None else np.stack(risks),
        on_offer=on_offer,
        installed=None if market is None else model.firm_counts.sum(axis=1),
        trust=model.trust_shock(step), cohorts=model.cohorts(firm_quality, risks),
    )  # fmt: skip
    if market is not None:
        pick, reconsider = draw_market(*market_args) if picking is None else picking.result()
        draws = replace(draws, pick=pick, reconsider_mask=reconsider)
        view = replace(view, draws=draws)
        view = replace(view, market=MarketView.of(view))
    left = None if market is None else engine.product.copy()
    moves = engine.step_users(StepPlan.of(view, model.mechanisms))  # 3
    if left is not None:
        left = left[moves.users(Move.CHURN, Move.SWITCH)]
    tally = StepTally.of(moves, model.user_group, model.n_groups, draws, left, market)  # 4
    model.counts[UserState.POTENTIAL] += tally.rejoins - tally.adoptions
    model.counts[UserState.ACTIVE] += tally.adoptions - tally.churns
    model.counts[UserState.CHURNED] += tally.churns - tally.rejoins
    if market is not None:
        model.firm_counts[:] += tally.firm_adoptions - tally.firm_losses
    interactions = [tally.interactions] if market is None else list(tally.firm_interactions)
    pipelines = tuple(  # 5
        firm.collect(
            interactions[j], model.streams.firm_pipeline(j), step, model.lighthouse_share(j)
        )  # fmt: skip
        for j, firm in enumerate(firms)
    )
    deployed = [  # 6
        firm.learn(step, partial(model.test_traffic, j, interactions[j]))
        for j, firm in enumerate(firms)
    ]
    model.settle_accounts(tally, pipelines)
    model.reference_quality = model.outside.quality(step)  # 7
    records = tuple(firm.record() for firm in firms)
    return StepRecord(  # 8
        step=step, time=step * model.initial_params.dt, counts=model.counts.copy(),
        tally=tally, pipeline=pipelines[0] if len(pipelines) == 1 else sum_pipelines(pipelines),
        firm=records[0], reference_quality=model.reference_quality, deployed=any(deployed),
        firms=records, firm_counts=model.firm_counts.copy(), firm_pipelines=pipelines,
        on_offer=on_offer, market=bool(model.params.firms),
    )  # fmt: skip


def sum_pipelines(pipelines) -> PipelineCounts:
    """The pipeline counts of several firms added up, per group."""
    from ..firm.pipeline import PipelineCounts

    fields = ("signals", "wrong_signals", "kept", "new_examples", "new_wrong_examples")
    summed = PipelineCounts(**{f: sum(getattr(p, f) for p in pipelines) for f in fields})
    if all(p.by_signal is None for p in pipelines):
        return summed
    from ..firm.signals import merge_by_signal

    return merge_by_signal(summed, pipelines)


def decide_with_kernels(engine, plan: StepPlan) -> StepMoves:
    """Phase 3 for engines with vector kernels: each state's mechanisms in order, the first
    move wins; returns the moves before they are committed."""
    result = StepMoves()
    draws = plan.view.draws
    for state, mechanisms in plan.by_state.items():
        if not mechanisms:  # e.g. nobody rejoins
            continue
        # Potential users are listed by the draws already (their word-of-mouth clocks).
        if state is UserState.POTENTIAL:
            members = Members(state, engine.state, draws.potential, whole=True)
        else:
            members = Members(state, engine.state)
        for position, (mechanism, params) in enumerate(mechanisms):
            decision = mechanism.decide_all(engine, members, params, draws)
            if decision.satisfaction is not None:
                engine.next_satisfaction = decision.satisfaction
            result.organic += decision.organic
            for move, users in decision.moves.items():
                earlier = result.moves.get(move)
                chosen = decision.products.get(move)
                if earlier is None:
                    result.moves[move] = users
                    if chosen is not None:
                        result.products[move] = chosen
                    continue
                # Two mechanisms gave the same move to different users: keep user order.
                merged = np.concatenate([earlier, users])
                order = np.argsort(merged, kind="stable")
                result.moves[move] = merged[order]
                if move in result.products or chosen is not None:
                    before = result.products.get(move, np.zeros(len(earlier), np.int64))
                    now = chosen if chosen is not None else np.zeros(len(users), np.int64)
                    result.products[move] = np.concatenate([before, now])[order]
            if position + 1 == len(mechanisms):  # nobody left to decide for
                continue
            decided = decision.decided()
            if decided:
                taken = decided[0] if len(decided) == 1 else np.concatenate(decided)
                left = np.setdiff1d(members.index, taken, assume_unique=True)
                members = Members(state, engine.state, left)
    return result


def default_mechanisms() -> tuple[UserMechanism, ...]:
    return USER_MECHANISMS
