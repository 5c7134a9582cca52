"""The initial population: who belongs to which group, how active they are, who adopts first.

Both engines start from the same :class:`InitialPopulation`, built from the
scenario and its seeded streams, so they start from the same state.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse

from .network import csr
from .network.csr import complete_csr
from .network.graphs import build_edges
from .streams import Streams

FAST_NETWORK_FROM = 50_000
"""From this many users on, random networks are generated directly as sparse arrays
(``simulator.world.network.csr``: the same random-graph models, without NetworkX objects).
Which generator is used depends only on the scenario, never on the engine, so both
engines always see the same network."""


@dataclass(frozen=True)
class InitialPopulation:
    """Per-user arrays (indexed by user = graph node 0..N-1) and the network."""

    group: np.ndarray
    """Group index of each user (order of ``population.groups``)."""
    activity_multiplier: np.ndarray
    """Each user's activity relative to their group's mean (mean 1)."""
    initial_adopters: np.ndarray
    """Users who are active at step 0, sorted."""
    adjacency: scipy.sparse.csr_array
    """The social network as a symmetric 0/1 sparse matrix; row i is user i."""
    graph: nx.Graph | None
    """The same network as a NetworkX graph (None when it was generated as arrays)."""

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
    shape = 1.0 / variance if variance else np.inf
    if not np.isfinite(shape):  # cv = 0, or so small (< ~1e-154) that 1 / cv^2 overflows
        return np.ones(size)
    return rng.gamma(shape, 1.0 / shape, size)


def choose_initial_adopters(
    rng: np.random.Generator, adjacency: scipy.sparse.csr_array, count: int, seeding: str
) -> np.ndarray:
    """The first ``count`` users: at random, or the best-connected ones (``hubs``)."""
    size = adjacency.shape[0]
    count = min(count, size)
    if seeding == "hubs":
        degree = np.diff(adjacency.indptr)
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
    adjacency, graph = build_network(scenario, group, streams.graph)
    # The first firm's first users (a market's other firms draw theirs when they enter).
    first = scenario.firm_initial_adopters(0)
    if scenario.firms and scenario.firms[0].enters_at > 0:
        first = 0
    adopters = choose_initial_adopters(
        streams.population, adjacency, first, scenario.adoption.seeding
    )
    return InitialPopulation(
        group=group,
        activity_multiplier=multiplier,
        initial_adopters=adopters,
        adjacency=adjacency,
        graph=graph,
    )


def uses_fast_network(scenario) -> bool:
    """Whether the scenario's network is generated as arrays (no NetworkX graph).

    Complete graphs always are (they involve no randomness, so nothing differs);
    the random kinds from ``FAST_NETWORK_FROM`` users.
    """
    kind = scenario.network.kind
    large = scenario.population.size >= FAST_NETWORK_FROM
    return kind == "complete" or (large and kind in csr.KINDS)


def build_network(
    scenario, group: np.ndarray, rng: np.random.Generator
) -> tuple[scipy.sparse.csr_array, nx.Graph | None]:
    """The scenario's network as a CSR adjacency (and no NetworkX graph: ``None``, kept for
    callers that unpack two values; ``FlywheelModel.graph`` builds it when needed)."""
    net, size = scenario.network, scenario.population.size
    model = {"mean_degree": net.mean_degree, "rewire": net.rewire, "homophily": net.homophily}
    if net.kind == "complete":
        return complete_csr(size), None
    if uses_fast_network(scenario):
        return csr.build_csr(net.kind, size, **model, groups=group, rng=rng), None
    # NetworkX's generators, the same graph as ``build_graph``'s, as a CSR adjacency without
    # building NetworkX objects; the model builds the graph from it when asked (agent engine).
    edges = build_edges(net.kind, size, **model, groups=group, path=net.path, rng=rng)
    return csr.edges_to_csr(size, edges[:, 0], edges[:, 1]), None
