"""A plain Mesa model of the baseline flywheel, written the way a newcomer would.

The yardstick for the array engine at small sizes (``bench_engines.py``: the array engine
should be at least 100 times faster at 10^4 users). It follows Mesa's own examples
(virus_on_network): a NetworkX graph, a ``Network`` space, one ``CellAgent`` per user
whose ``step`` looks at its neighbours, ``shuffle_do("step")``, and a ``DataCollector``.
The rules are the baseline's (Bass adoption with word of mouth and quality, satisfaction,
churn with lock-in, a learning curve retrained every four weeks against an improving
open model), with the usual newcomer's shortcuts: agents update in random order and see
their neighbours' moves of the same step, each draws its own random numbers, and the
firm counts every interaction. Its trajectories are statistically similar to the
simulator's, not identical; only its speed is used.

    .venv/bin/python benchmarks/plain_mesa.py 10000 156
"""

from __future__ import annotations

import math
import sys
import time

import mesa
import networkx as nx
from mesa.discrete_space import CellAgent, Network

POTENTIAL, ACTIVE, CHURNED = "potential", "active", "churned"


class User(CellAgent):
    """One user: potential, active or churned."""

    def __init__(self, model, cell, group):
        super().__init__(model)
        self.cell = cell
        self.group = group
        self.state = POTENTIAL
        self.satisfaction = 0.0
        self.tenure = 0

    def step(self):
        if self.state == POTENTIAL:
            self.try_to_adopt()
        elif self.state == ACTIVE:
            self.use_and_maybe_churn()

    def try_to_adopt(self):
        model = self.model
        neighbours = list(self.cell.neighborhood.agents)
        active = sum(1 for n in neighbours if n.state == ACTIVE)
        share = active / len(neighbours) if neighbours else 0.0
        attract = math.exp(model.kappa * (model.quality[self.group] - model.reference))
        hazard = (model.p + model.q * share) * attract
        if self.random.random() < 1 - math.exp(-hazard):
            self.state = ACTIVE
            self.satisfaction = model.quality[self.group]
            self.tenure = 0

    def use_and_maybe_churn(self):
        model = self.model
        model.interactions[self.group] += model.rng.poisson(model.activity)
        self.satisfaction += model.mu * (model.quality[self.group] - self.satisfaction)
        lock = 1 - model.lock_in * (1 - math.exp(-self.tenure / model.lock_in_time))
        hazard = model.c0 * math.exp(-model.beta * (self.satisfaction - model.reference)) * lock
        if self.random.random() < 1 - math.exp(-hazard):
            self.state = CHURNED
        else:
            self.tenure += 1


class PlainFlywheel(mesa.Model):
    """The baseline flywheel on ``n`` users."""

    def __init__(self, n=5000, seed=42):
        super().__init__(rng=seed)
        self.p, self.q, self.kappa = 0.002, 0.3, 4.0
        self.c0, self.beta, self.mu, self.lock_in, self.lock_in_time = 0.01, 5.0, 0.3, 0.5, 26
        self.activity, self.feedback, self.recall, self.false_accept = 3.0, 0.3, 0.9, 0.3
        self.noise = 0.1
        self.quality = [0.5, 0.5]
        self.reference = 0.5
        self.examples = [0.0, 0.0]
        self.interactions = [0, 0]
        graph = nx.barabasi_albert_graph(n, 3, seed=seed)
        self.grid = Network(graph, layout=None, random=self.random)
        for node in graph.nodes:
            User(self, self.grid[node], 0 if self.random.random() < 0.8 else 1)
        for agent in self.random.sample(list(self.agents), 10):
            agent.state = ACTIVE
            agent.satisfaction = 0.5
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "active_users": lambda m: sum(1 for a in m.agents if a.state == ACTIVE),
                "quality": lambda m: sum(m.quality) / 2,
                "moat": lambda m: sum(m.quality) / 2 - m.reference,
            }
        )

    def step(self):
        self.interactions = [0, 0]
        self.agents.shuffle_do("step")
        for g in (0, 1):
            signals = self.rng.binomial(self.interactions[g], self.feedback)
            wrong = self.rng.binomial(signals, self.noise)
            kept = self.rng.binomial(signals - wrong, self.recall)
            kept += self.rng.binomial(wrong, self.false_accept)
            self.examples[g] = self.examples[g] * 2 ** (-1 / 104) + kept
        if self.steps % 4 == 0:
            for g in (0, 1):
                data = self.examples[g] + 0.5 * self.examples[1 - g]
                error = 0.05 + 0.45 * (1 + data / 2000) ** -0.3 + 0.5 * self.noise * 0.3
                self.quality[g] = min(1.0, max(0.0, 1 - error))
        self.reference = 0.5 + 0.3 * (1 - math.exp(-self.steps / 156))
        self.datacollector.collect(self)


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 156
    model = PlainFlywheel(size)
    started = time.perf_counter()
    for _ in range(steps):
        model.step()
    elapsed = time.perf_counter() - started
    print(f"{size * steps / elapsed:,.0f} agent-steps/s ({elapsed:.2f} s)")
