"""A reference fused kernel of the baseline step (Numba), the yardstick of issue #15.

Not part of the package: ``bench_engines.py`` runs it beside the array engine so that
their ratio is measured in the same run, on the same machine load. It has the baseline's
rules (Bass adoption with word of mouth and quality, satisfaction, hazard churn with
lock-in; a learning curve retrained every four weeks against an improving open model)
and the same kinds of draws as the simulator (one standard exponential clock per user
per step, a word-of-mouth clock per potential user, Poisson interactions per group), but
not the same stream, so its trajectories are statistically the same, not identical.

One step is two compiled passes: the first reads each user once, decides from the
start-of-step state (synchronous, like the simulator) and sums the active users'
interaction rates per group; the second tells the neighbours of this step's joiners and
churners. The churn ``exp`` is computed only when the user's clock is below an upper
bound on the hazard of its group (the least satisfied active user's, at no lock-in),
which leaves the decisions unchanged. The network is the simulator's own (its CSR
adjacency), built outside the timed loop.

    .venv/bin/python benchmarks/fused_kernel.py 1000000 156
"""

from __future__ import annotations

import math
import sys
import time

import numba
import numpy as np

POTENTIAL, ACTIVE, CHURNED = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def _decide(draws, state, tenure, satisfaction, active_nb, degree, group, rate, quality,
            attract, reference, p, q, c0, beta, mu, lock_table, dt, bound,
            movers, expected, min_sat):  # fmt: skip
    """Pass 1: every user's clocks and decision; returns the number of movers."""
    n_groups = len(quality)
    for g in range(n_groups):
        expected[g] = 0.0
        min_sat[g] = np.inf
    moved = 0
    for i in range(len(state)):
        clock = draws.standard_exponential()
        s = state[i]
        g = group[i]
        if s == POTENTIAL:
            wom = draws.standard_exponential()
            a = attract[g]
            spont_rate = p * a
            share = active_nb[i] / degree[i] if degree[i] > 0 else 0.0
            social_rate = q * share * a
            if spont_rate * dt > clock or social_rate * dt > wom:
                movers[moved] = i
                moved += 1
                state[i] = ACTIVE
                tenure[i] = 0
                satisfaction[i] = quality[g]
                if quality[g] < min_sat[g]:
                    min_sat[g] = quality[g]
        elif s == ACTIVE:
            expected[g] += rate[i]
            sat = satisfaction[i] + mu * (quality[g] - satisfaction[i])
            satisfaction[i] = sat
            churn = False
            if clock < bound[g]:  # else even the least satisfied, unlocked user stays
                hazard = c0 * math.exp(-beta * (sat - reference)) * lock_table[tenure[i]]
                churn = hazard * dt > clock
            if churn:
                movers[moved] = i
                moved += 1
                state[i] = CHURNED
            else:
                tenure[i] += 1
                if sat < min_sat[g]:
                    min_sat[g] = sat
    return moved


@numba.njit(cache=True, nogil=True)
def _tell(indptr, indices, state, movers, moved, active_nb):
    """Pass 2: joiners add one to their neighbours' counts, churners take one away."""
    for k in range(moved):
        i = movers[k]
        change = 1 if state[i] == ACTIVE else -1
        for position in range(indptr[i], indptr[i + 1]):
            active_nb[indices[position]] += change


class FusedFlywheel:
    """The baseline flywheel on a CSR adjacency (``indptr``, ``indices``) and groups."""

    def __init__(self, indptr, indices, group, seed=42, initial_adopters=10, steps_hint=2000):
        size = len(group)
        self.indptr, self.indices = indptr, indices
        self.group = group.astype(np.int64)
        self.degree = np.diff(indptr).astype(np.int32)
        self.p, self.q, self.kappa = 0.002, 0.3, 4.0
        self.c0, self.beta, self.mu, self.lock_in, self.lock_in_time = 0.01, 5.0, 0.3, 0.5, 26
        self.activity, self.feedback, self.recall, self.false_accept = 3.0, 0.3, 0.9, 0.3
        self.noise, self.dt = 0.1, 1.0
        rng = np.random.default_rng(seed)
        self.rng = rng
        self.draws = np.random.default_rng([seed, 1])  # the users' clocks (NumPy's ziggurat)
        # Activity multipliers: gamma with mean 1 and CV 0.5, as the simulator's.
        multiplier = rng.gamma(4.0, 0.25, size)
        self.rate = self.activity * multiplier * self.dt
        self.state = np.zeros(size, dtype=np.int8)
        self.tenure = np.zeros(size, dtype=np.int32)
        self.satisfaction = np.zeros(size)
        self.active_nb = np.zeros(size, dtype=np.int32)
        self.movers = np.empty(size, dtype=np.int64)
        self.quality = np.array([0.5, 0.5])
        self.pending = None
        self.examples = np.zeros(2)
        self.reference = 0.5
        self.steps = 0
        self.expected = np.zeros(2)
        self.min_sat = np.full(2, 0.5)
        self.lock_table = 1.0 - self.lock_in * (
            1.0 - np.exp(-(np.arange(steps_hint + 2) / self.lock_in_time))
        )
        first = np.sort(rng.choice(size, size=initial_adopters, replace=False))
        self.state[first] = ACTIVE
        self.satisfaction[first] = 0.5
        _tell(indptr, indices, self.state, first.astype(np.int64), len(first), self.active_nb)
        self.active_history = []

    def step(self):
        self.steps += 1
        attract = np.exp(self.kappa * (self.quality - self.reference))
        # Upper bound on any active user's hazard this step: the least satisfied user of
        # the group after this step's update is at least min(last minimum, quality).
        lowest = np.minimum(self.min_sat, self.quality)
        bound = self.c0 * np.exp(-self.beta * (lowest - self.reference)) * self.dt
        moved = _decide(
            self.draws, self.state, self.tenure, self.satisfaction, self.active_nb, self.degree,
            self.group, self.rate, self.quality, attract, self.reference, self.p, self.q,
            self.c0, self.beta, self.mu, self.lock_table, self.dt, bound, self.movers,
            self.expected, self.min_sat,
        )  # fmt: skip
        _tell(self.indptr, self.indices, self.state, self.movers, moved, self.active_nb)
        # The firm: interactions per group, feedback, the filter, ageing data, the curve.
        interactions = self.rng.poisson(self.expected)
        signals = self.rng.binomial(interactions, self.feedback)
        wrong = self.rng.binomial(signals, self.noise)
        kept = self.rng.binomial(signals - wrong, self.recall)
        kept_wrong = self.rng.binomial(wrong, self.false_accept)
        self.examples = self.examples * 2 ** (-1 / 104) + kept + kept_wrong
        if self.pending is not None:  # one step of latency, then an A/B test
            self.quality = np.maximum(self.quality, self.pending)
            self.pending = None
        if self.steps % 4 == 0:
            data = self.examples + 0.5 * self.examples[::-1]
            error = 0.05 + 0.45 * (1 + data / 2000) ** -0.3 + 0.5 * self.noise * 0.3
            self.pending = np.clip(1 - error, 0.0, 1.0)
        self.reference = 0.5 + 0.3 * (1 - math.exp(-self.steps / 156))
        self.active_history.append(int(np.count_nonzero(self.state == ACTIVE)))


def run(indptr, indices, group, steps: int, seed: int = 42) -> tuple[float, FusedFlywheel]:
    """Build, warm up the compiled passes (a step on a tiny copy), run ``steps``: returns
    (wall seconds for the steps, the model; its ``sim_cpu_s`` is their CPU time)."""
    tiny = FusedFlywheel(np.zeros(2, indptr.dtype), indices[:0], group[:1], seed, 1)
    tiny.step()
    model = FusedFlywheel(indptr, indices, group, seed, steps_hint=steps)
    cpu = time.process_time()
    started = time.perf_counter()
    for _ in range(steps):
        model.step()
    model.sim_cpu_s = time.process_time() - cpu
    return time.perf_counter() - started, model


def simulator_network(size: int):
    """The baseline's network and groups for ``size`` users, as the simulator builds them."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    from simulator import load_scenario
    from simulator.world.population import initial_population
    from simulator.world.streams import derive_streams

    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    scenario = load_scenario(root / "scenarios" / "baseline.yaml",
                             overrides={"population.size": size})  # fmt: skip
    population = initial_population(scenario, derive_streams(scenario.seed))
    adjacency = population.adjacency
    return adjacency.indptr.astype(np.int64), adjacency.indices, population.group


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 156
    indptr, indices, group = simulator_network(size)
    seconds, model = run(indptr, indices, group, steps)
    print(f"{size * steps / seconds:,.0f} agent-steps/s ({seconds:.2f} s); "
          f"active users at the end: {model.active_history[-1]:,}")  # fmt: skip
