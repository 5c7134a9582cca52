"""The Mesa ``User`` agent: one person who may adopt, use and leave the product.

A step is synchronous: every user first ``decide``s from the state at the start
of the step (nobody sees a neighbour's decision of the same step), then every
user ``apply``s their decision. Randomness comes from the model's per-step draws
(``model.user_draws``), indexed by the user's node, never from the agent itself.
"""

from __future__ import annotations

from enum import IntEnum

from mesa.discrete_space import FixedAgent

from . import rules


class UserState(IntEnum):
    """Where a user is in the product's life cycle."""

    POTENTIAL = 0
    """Has not adopted (or came back after churning)."""
    ACTIVE = 1
    """Uses the product and produces data."""
    CHURNED = 2
    """Left the product; may rejoin at ``churn.rejoin_rate``."""


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
        How many neighbours are active (kept up to date by neighbours' ``apply``).
    """

    def __init__(self, model, cell, node: int, group: int) -> None:
        super().__init__(model)
        self.cell = cell
        self.node = node
        self.group = group
        self.state = UserState.POTENTIAL
        self.satisfaction = 0.0
        self.tenure = 0
        self.active_neighbours = 0
        self.neighbours: list[User] = []
        self.next_state = UserState.POTENTIAL
        self.next_satisfaction = 0.0

    def cache_neighbours(self) -> None:
        """Remember the neighbouring users (the graph does not change during a run).

        Reads ``cell.connections`` rather than ``cell.neighborhood``: Mesa 3.5 caches
        ``Cell.get_neighborhood`` with a class-level ``functools.cache``, which keeps
        every cell, agent and model alive for the life of the process.
        """
        self.neighbours = [user for cell in self.cell.connections.values() for user in cell.agents]

    # -- decide: read the start-of-step state, write only next_* -------------------

    def decide(self) -> None:
        self.next_state = self.state
        if self.state is UserState.POTENTIAL:
            self.try_to_adopt()
        elif self.state is UserState.ACTIVE:
            self.consider_churning()
        else:
            self.consider_rejoining()

    def try_to_adopt(self) -> None:
        """Adopt spontaneously or by word of mouth (bass or threshold rule), or arrive."""
        model, env = self.model, self.model.env
        if env.rule == "arrivals":  # chosen at model level (rules.choose_arrivals)
            if model.arriving[self.node]:
                self.next_state = UserState.ACTIVE
                self.next_satisfaction = env.quality[self.group]
                model.tally.record_adoption(self.group, False)
            return
        share = rules.adopted_neighbour_share(self.active_neighbours, len(self.neighbours))
        adopts, by_word_of_mouth = rules.adoption_events(
            env.rule,
            share,
            env.attractiveness[self.group],
            env.innovation,
            env.imitation,
            env.threshold,
            env.dt,
            model.user_draws.clock[self.node],
            model.user_draws.word_of_mouth[self.node],
        )
        if adopts:
            self.next_state = UserState.ACTIVE
            self.next_satisfaction = env.quality[self.group]
            model.tally.record_adoption(self.group, bool(by_word_of_mouth))

    def consider_churning(self) -> None:
        """Update satisfaction from the quality experienced, then maybe leave."""
        env = self.model.env
        self.next_satisfaction = rules.updated_satisfaction(
            self.satisfaction, env.quality[self.group], env.satisfaction_rate
        )
        if env.retention == "risk":  # stay with probability exp(-R_g dt)
            hazard = env.risk[self.group]
        else:
            hazard = rules.churn_hazard(
                self.next_satisfaction,
                env.reference_quality,
                self.tenure,
                env.churn_base_rate,
                env.churn_sensitivity,
                env.lock_in,
                env.lock_in_time,
            )
        if rules.fires(hazard, env.dt, self.model.user_draws.clock[self.node]):
            self.next_state = UserState.CHURNED
            self.model.tally.churns[self.group] += 1

    def consider_rejoining(self) -> None:
        """A churned user becomes a potential user again at ``churn.rejoin_rate``.

        Under ``adoption.rule: arrivals`` a churned user may be chosen to arrive: they
        rejoin and adopt in the same step (counted as both).
        """
        env = self.model.env
        if env.rule == "arrivals" and self.model.arriving[self.node]:
            self.next_state = UserState.ACTIVE
            self.next_satisfaction = env.quality[self.group]
            self.model.tally.rejoins[self.group] += 1
            self.model.tally.record_adoption(self.group, False)
            return
        if rules.fires(env.rejoin_rate, env.dt, self.model.user_draws.clock[self.node]):
            self.next_state = UserState.POTENTIAL
            self.model.tally.rejoins[self.group] += 1

    # -- apply: commit the decision ----------------------------------------------

    def apply(self) -> None:
        previous, self.state = self.state, self.next_state
        if self.state is not previous:
            self.model.user_state[self.node] = self.state
        if self.state is UserState.ACTIVE:
            self.satisfaction = self.next_satisfaction
            self.tenure = 0 if previous is not UserState.ACTIVE else self.tenure + 1
            if previous is not UserState.ACTIVE:
                self._tell_neighbours(+1)
        elif previous is UserState.ACTIVE:  # churned this step
            self.satisfaction = self.next_satisfaction
            self._tell_neighbours(-1)

    def _tell_neighbours(self, change: int) -> None:
        for neighbour in self.neighbours:
            neighbour.active_neighbours += change
