"""One step of the flywheel, written once: the order of its phases and what flows between them.

::

    0 interventions   scheduled changes replace the scenario in force
    1 look            StepView: the start-of-step state every user decides against
    2 draw            StepDraws: the users' randomness, from the steps stream
    3 decide+commit   the engine runs the registered user mechanisms (adopt, stay,
                      rejoin, arrive) for every user, synchronously -> moves
    4 tally           StepTally: the moves and interactions counted per group
    5 collect         the firm's pipeline turns interactions into training data
    6 learn           the firm retrains on its cadence and deploys after its latency
    7 market          the outside option (open model) moves to this step's quality
    8 record          StepRecord: a read-only record of the step for the reporters

The two engines (Mesa agents, NumPy arrays) differ only in phase 3, behind the
:class:`UserEngine` protocol; everything else is the same code for both, which is
why they give identical results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..mechanisms import USER_MECHANISMS, Members, Move, UserMechanism, UserState
from ..mechanisms.states import JOINS, REJOINS
from .draws import StepDraws, draw_step

if TYPE_CHECKING:
    from ..firm.firm import FirmRecord
    from ..firm.pipeline import PipelineCounts
    from ..scenario import Scenario


@dataclass(frozen=True)
class StepView:
    """What every user decides against: the scenario in force and start-of-step state."""

    step: int
    scenario: Scenario
    quality: np.ndarray
    """The deployed model's quality per group."""
    risk: np.ndarray | None
    """The deployed estimator's risk per group (estimator learners only)."""
    reference_quality: float
    """The outside option's quality (the open model) at the start of the step."""
    user_state: np.ndarray
    """Every user's state at the start of the step (read only)."""
    user_group: np.ndarray
    draws: StepDraws


@dataclass(frozen=True)
class StepPlan:
    """The mechanisms in force this step, with their parameters, per start-of-step state."""

    view: StepView
    by_state: dict[UserState, list[tuple[UserMechanism, object]]]

    @classmethod
    def of(cls, view: StepView, mechanisms: tuple[UserMechanism, ...]) -> StepPlan:
        by_state: dict[UserState, list[tuple[UserMechanism, object]]] = {s: [] for s in UserState}
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

    def users(self, *moves: Move) -> np.ndarray:
        parts = [self.moves[m] for m in moves if m in self.moves and len(self.moves[m])]
        if not parts:
            return np.zeros(0, dtype=np.intp)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


class UserEngine(Protocol):
    """How the users' half of a step is computed (phase 3): Mesa agents or arrays."""

    state: np.ndarray
    """Every user's state, kept current (the draws read it at the start of a step)."""

    def step_users(self, plan: StepPlan) -> StepMoves:
        """Decide every user's move from the start-of-step state, then commit them all."""

    def user_arrays(self) -> dict[str, np.ndarray]:
        """Per-user ``state``, ``tenure``, ``active_neighbours``, ``satisfaction`` (NaN if
        not active), indexed by user."""


@dataclass(frozen=True)
class StepTally:
    """Counts of what users did in one step, per group (int arrays)."""

    adoptions: np.ndarray
    churns: np.ndarray
    rejoins: np.ndarray
    interactions: np.ndarray
    organic_adoptions: int = 0
    """Adoptions by word of mouth (the imitation / threshold clock fired first)."""

    @classmethod
    def empty(cls, n_groups: int) -> StepTally:
        zeros = np.zeros(n_groups, dtype=np.int64)
        return cls(zeros, zeros, zeros, zeros, 0)

    @classmethod
    def of(cls, moves: StepMoves, group: np.ndarray, n_groups: int, interactions) -> StepTally:
        def count(users: np.ndarray) -> np.ndarray:
            return np.bincount(group[users], minlength=n_groups).astype(np.int64)

        return cls(
            adoptions=count(moves.users(*JOINS)),
            churns=count(moves.users(Move.CHURN)),
            rejoins=count(moves.users(*REJOINS)),
            interactions=np.asarray(interactions, dtype=np.int64),
            organic_adoptions=int(moves.organic),
        )

    @property
    def spontaneous_adoptions(self) -> int:
        return int(self.adoptions.sum()) - self.organic_adoptions


@dataclass(frozen=True)
class StepRecord:
    """A read-only record of one step: what the reporters, metrics and plots read."""

    step: int
    time: float
    counts: np.ndarray
    """Users per state (rows: POTENTIAL, ACTIVE, CHURNED) and group, after the step."""
    tally: StepTally
    pipeline: PipelineCounts
    firm: FirmRecord
    reference_quality: float
    deployed: bool
    """Whether a new model went live this step."""


def run_step(model) -> StepRecord:
    """Advance ``model`` (a :class:`~simulator.model.FlywheelModel`) by one step."""
    step = model.steps
    model.apply_interventions(step)  # 0
    firm = model.firm
    draws = draw_step(
        model.streams.steps, model.user_engine.state, model.groups, model.rate_in_order
    )
    view = StepView(  # 1, 2
        step=step, scenario=model.params, quality=firm.quality, risk=firm.risk,
        reference_quality=model.reference_quality, user_state=model.user_engine.state,
        user_group=model.user_group, draws=draws,
    )  # fmt: skip
    moves = model.user_engine.step_users(StepPlan.of(view, model.mechanisms))  # 3
    tally = StepTally.of(moves, model.user_group, model.n_groups, draws.interactions)  # 4
    model.counts[UserState.POTENTIAL] += tally.rejoins - tally.adoptions
    model.counts[UserState.ACTIVE] += tally.adoptions - tally.churns
    model.counts[UserState.CHURNED] += tally.churns - tally.rejoins
    pipeline = firm.collect(tally.interactions, model.streams.pipeline)  # 5
    deployed = firm.learn(step)  # 6
    model.reference_quality = model.outside.quality(step)  # 7
    return StepRecord(  # 8
        step=step, time=step * model.initial_params.dt, counts=model.counts.copy(),
        tally=tally, pipeline=pipeline, firm=firm.record(),
        reference_quality=model.reference_quality, deployed=deployed,
    )  # fmt: skip


def decide_with_kernels(engine, plan: StepPlan) -> StepMoves:
    """Phase 3 for engines with vector kernels: each state's mechanisms in order, the first
    move wins; returns the moves before they are committed."""
    result = StepMoves()
    draws = plan.view.draws
    for state, mechanisms in plan.by_state.items():
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
                result.moves[move] = users if earlier is None else np.union1d(earlier, users)
            decided = decision.decided()
            if decided and position + 1 < len(mechanisms):
                taken = decided[0] if len(decided) == 1 else np.concatenate(decided)
                left = np.setdiff1d(members.index, taken, assume_unique=True)
                members = Members(state, engine.state, left)
    return result


def default_mechanisms() -> tuple[UserMechanism, ...]:
    return USER_MECHANISMS
