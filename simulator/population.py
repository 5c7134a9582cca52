"""The initial population: who belongs to which group, how active they are, who adopts first.

Both engines start from the same :class:`InitialPopulation`, built from the
scenario and its seeded streams, so they start from the same state.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from .network import build_graph
from .streams import Streams


@dataclass(frozen=True)
class InitialPopulation:
    """Per-user arrays (indexed by user = graph node 0..N-1) and the network."""

    group: np.ndarray
    """Group index of each user (order of ``population.groups``)."""
    activity_multiplier: np.ndarray
    """Each user's activity relative to their group's mean (mean 1)."""
    initial_adopters: np.ndarray
    """Users who are active at step 0, sorted."""
    graph: nx.Graph
    """The social network; node i is user i."""

    @property
    def size(self) -> int:
        return len(self.group)


def group_sizes(shares: list[float], size: int) -> np.ndarray:
    """Users per group: ``share * size`` rounded by largest remainder, so they sum to ``size``."""
    exact = np.asarray(shares, dtype=float) * size
    counts = np.floor(exact).astype(np.int64)
    remainder = size - int(counts.sum())
    # Ties go to the earlier group (stable sort), so the result is deterministic.
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:remainder]] += 1
    return counts


def activity_multipliers(rng: np.random.Generator, size: int, cv: float) -> np.ndarray:
    """Gamma-distributed activity multipliers with mean 1 and coefficient of variation ``cv``.

    ``cv = 0`` gives every user exactly their group's mean activity.
    """
    variance = cv * cv
    if variance == 0:  # also for a cv so small that its square underflows
        return np.ones(size)
    shape = 1.0 / variance
    return rng.gamma(shape, 1.0 / shape, size)


def choose_initial_adopters(
    rng: np.random.Generator, graph: nx.Graph, count: int, seeding: str
) -> np.ndarray:
    """The first ``count`` users: at random, or the best-connected ones (``hubs``)."""
    size = graph.number_of_nodes()
    count = min(count, size)
    if seeding == "hubs":
        degree = np.fromiter((d for _, d in graph.degree()), dtype=np.int64, count=size)
        # Highest degree first; ties broken by the lower user id.
        chosen = np.lexsort((np.arange(size), -degree))[:count]
    else:
        chosen = rng.choice(size, size=count, replace=False)
    return np.sort(chosen)


def initial_population(scenario, streams: Streams) -> InitialPopulation:
    """Draw groups, activity levels, the network and the initial adopters, in that order."""
    population = scenario.population
    size = population.size
    counts = group_sizes([g.share for g in population.groups], size)
    group = streams.population.permutation(np.repeat(np.arange(len(counts)), counts))
    group = group.astype(np.int16)
    multiplier = activity_multipliers(streams.population, size, population.activity_cv)
    net = scenario.network
    graph = build_graph(
        net.kind,
        size,
        mean_degree=net.mean_degree,
        rewire=net.rewire,
        homophily=net.homophily,
        groups=group,
        path=net.path,
        rng=streams.graph,
    )
    adopters = choose_initial_adopters(
        streams.population, graph, scenario.adoption.initial_adopters, scenario.adoption.seeding
    )
    return InitialPopulation(
        group=group, activity_multiplier=multiplier, initial_adopters=adopters, graph=graph
    )
