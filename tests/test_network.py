"""Tests for simulator.network: seeded graph builders, network files, sparse adjacency."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from simulator.errors import InputError
from simulator.world.network import KINDS, build_graph, complete_csr, realised_mean_degree, to_csr

DATA = Path(__file__).parent / "data" / "networks"
GENERATED = [kind for kind in KINDS if kind != "file"]
RANDOM = [kind for kind in GENERATED if kind != "complete"]
N = 5000
SEEDS = [0, 1, 2]


def groups_for(n: int, seed: int = 0) -> np.ndarray:
    """Three groups (60/30/10 %) in random order with gaps in the labels."""
    return np.random.default_rng(seed).choice([0, 2, 5], size=n, p=[0.6, 0.3, 0.1])


def build(kind: str, n: int = 300, seed: int = 0, **params) -> nx.Graph:
    if kind == "stochastic_block":
        params.setdefault("groups", groups_for(n))
    if kind == "file":
        params.setdefault("path", DATA / "int_labels.txt")
    return build_graph(kind, n, rng=np.random.default_rng(seed), **params)


def assert_canonical(graph: nx.Graph, n: int) -> None:
    """Simple, undirected, nodes 0..n-1 in order, every neighbour list sorted."""
    assert type(graph) is nx.Graph
    assert list(graph.nodes()) == list(range(n))
    assert nx.number_of_selfloops(graph) == 0
    assert all(type(node) is int for edge in graph.edges() for node in edge)
    for node in graph:
        assert list(graph.adj[node]) == sorted(graph.adj[node])
    assert list(graph.edges()) == sorted(graph.edges())


# --- structure and reproducibility -------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_gives_canonical_simple_graph(kind):
    n = 4 if kind == "file" else 300
    assert_canonical(build(kind, n), n)


@pytest.mark.parametrize("kind", GENERATED)
def test_single_user_is_a_lone_node(kind):
    graph = build(kind, n=1)
    assert list(graph.nodes()) == [0] and graph.number_of_edges() == 0


@pytest.mark.parametrize("kind", RANDOM)
def test_same_seed_same_graph_different_seed_different_graph(kind):
    first, again, other = build(kind, seed=7), build(kind, seed=7), build(kind, seed=8)
    assert list(first.edges()) == list(again.edges())
    assert [list(first.adj[i]) for i in first] == [list(again.adj[i]) for i in again]
    assert list(first.edges()) != list(other.edges())


@pytest.mark.parametrize("kind", KINDS)
def test_draws_exactly_one_integer_from_rng(kind):
    rng, reference = np.random.default_rng(3), np.random.default_rng(3)
    params = {"groups": groups_for(4), "path": DATA / "int_labels.txt"}
    build_graph(kind, 4, rng=rng, **params)
    reference.integers(2**63 - 1)
    assert rng.random() == reference.random()


# --- realised mean degree -----------------------------------------------------------
# Erdős–Rényi: E ~ Binomial(n(n-1)/2, p), Var E <= E[E] = n k / 2, so the mean degree
# 2E/n has sd <= 2 sqrt(n k / 2) / n = sqrt(2k / n) (0.049 for k = 6, n = 5000). The
# SBM's E is a sum of independent binomials with the same bound. We allow 4 sd.


def sd_mean_degree(k: float, n: int = N) -> float:
    return math.sqrt(2 * k / n)


@pytest.mark.parametrize("kind", ["erdos_renyi", "stochastic_block"])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_graph_mean_degree_within_sampling_error(kind, seed):
    graph = build(kind, N, seed, mean_degree=6, homophily=0.5)
    assert abs(realised_mean_degree(graph) - 6) < 4 * sd_mean_degree(6)


@pytest.mark.parametrize("k", [2, 6, 5, 3.2])
@pytest.mark.parametrize("seed", SEEDS)
def test_barabasi_albert_mean_degree(k, seed):
    # Even k: a star on m + 1 nodes then m edges per new node, E = m(n - m) exactly, so
    # 2E/n = k - k^2 / (2n). Otherwise each new node brings m2 - Bernoulli(p) edges:
    # sd of 2E/n <= 2 sqrt(n / 4) / n = 1 / sqrt(n), plus the seed star's bias <= k^2 / n.
    mean = realised_mean_degree(build("barabasi_albert", N, seed, mean_degree=k))
    assert abs(mean - k) <= 4 / math.sqrt(N) + k**2 / N


def test_barabasi_albert_below_two_gives_one_edge_per_user():
    mean = realised_mean_degree(build("barabasi_albert", N, mean_degree=1))
    assert mean == pytest.approx(2 * (N - 1) / N)  # documented: mean degree about 2


@pytest.mark.parametrize("seed", SEEDS)
def test_watts_strogatz_mean_degree_is_exact(seed):
    # Rewiring moves edges, it never adds or removes them: E = n k / 2.
    graph = build("watts_strogatz", N, seed, mean_degree=6, rewire=0.3)
    assert realised_mean_degree(graph) == 6


# --- model signatures ---------------------------------------------------------------


def test_watts_strogatz_is_more_clustered_than_erdos_renyi():
    small_world = nx.average_clustering(build("watts_strogatz", 2000, mean_degree=6))
    random_graph = nx.average_clustering(build("erdos_renyi", 2000, mean_degree=6))
    assert small_world > 0.3 > 10 * random_graph


def test_barabasi_albert_has_hubs():
    # BA's largest degree grows like m sqrt(n) (~200 here); ER's stays near log n.
    hubs = max(d for _, d in build("barabasi_albert", N, mean_degree=6).degree())
    flat = max(d for _, d in build("erdos_renyi", N, mean_degree=6).degree())
    assert hubs > 4 * flat


@pytest.mark.parametrize("homophily", [0.0, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("seed", SEEDS)
def test_stochastic_block_cross_group_share(homophily, seed):
    groups = groups_for(N, seed)
    graph = build("stochastic_block", N, seed, groups=groups, homophily=homophily)
    edges = np.array(graph.edges())
    crossing = float(np.mean(groups[edges[:, 0]] != groups[edges[:, 1]]))
    # Expected share of crossing edges: p_out X / (p_in W + p_out X), p_out = (1 - h) p_in,
    # with W, X the numbers of within- and cross-group pairs. Given the edge count E the
    # crossing count is about Binomial(E, share) (edges are rare): sd sqrt(s(1 - s) / E).
    sizes = np.bincount(groups)
    within = float(np.sum(sizes * (sizes - 1) / 2))
    across = N * (N - 1) / 2 - within
    share = (1 - homophily) * across / (within + (1 - homophily) * across)
    assert abs(crossing - share) <= 4 * math.sqrt(share * (1 - share) / len(edges)) + 1e-12


def test_stochastic_block_full_homophily_gives_a_clique_per_group():
    # Mean degree beyond reach: p_in is capped at 1, so every within-group pair is an
    # edge (this checks the pair sampler draws each pair once) and none crosses.
    groups = groups_for(60)
    graph = build("stochastic_block", 60, groups=groups, homophily=1, mean_degree=100)
    expected = {(i, j) for i in range(60) for j in range(i + 1, 60) if groups[i] == groups[j]}
    assert set(graph.edges()) == expected


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("erdos_renyi", {"mean_degree": 50}),
        ("barabasi_albert", {"mean_degree": 40}),
        ("watts_strogatz", {"mean_degree": 40}),
        ("stochastic_block", {"mean_degree": 50}),
    ],
)
def test_degree_beyond_population_gives_complete_graph(kind, params):
    graph = build(kind, 12, **params)
    assert_canonical(graph, 12)
    assert graph.number_of_edges() == 12 * 11 // 2


def test_complete_graph():
    graph = build("complete", 50)
    assert_canonical(graph, 50)
    assert graph.number_of_edges() == 50 * 49 // 2


@pytest.mark.parametrize("n", [1, 2, 3, 50])
def test_complete_csr_is_the_networkx_complete_graph_array_for_array(n):
    direct, reference = complete_csr(n), to_csr(nx.complete_graph(n))
    for part in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(direct, part), getattr(reference, part))
        assert getattr(direct, part).dtype == getattr(reference, part).dtype, part
    assert direct.shape == (n, n)


# --- bad parameters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "n", "params", "message"),
    [
        ("lattice", 10, {}, r"network.kind must be one of .*got 'lattice'"),
        ("erdos_renyi", 0, {}, r"population.size must be an integer >= 1, got 0"),
        ("erdos_renyi", 2.5, {}, r"population.size must be an integer >= 1, got 2.5"),
        ("erdos_renyi", 10, {"mean_degree": 0}, r"network.mean_degree must be .*> 0, got 0"),
        ("complete", 10, {"mean_degree": -1}, r"network.mean_degree .*got -1"),
        ("erdos_renyi", 10, {"mean_degree": float("nan")}, r"mean_degree .*got nan"),
        ("watts_strogatz", 10, {"rewire": 1.5}, r"network.rewire .*\[0, 1\], got 1.5"),
        ("stochastic_block", 10, {"homophily": -0.1}, r"network.homophily .*got -0.1"),
        ("watts_strogatz", 10, {"mean_degree": 5}, r"even integer .*got 5"),
        ("watts_strogatz", 10, {"mean_degree": 4.5}, r"even integer .*got 4.5"),
        ("stochastic_block", 10, {"groups": None}, r"needs the users' groups"),
        ("stochastic_block", 10, {"groups": np.zeros(9, int)}, r"length .* 10, .*\(9,\)"),
        ("stochastic_block", 10, {"groups": np.zeros(10)}, r"integer array .*float64"),
        ("file", 10, {"path": None}, r"network.path is required"),
    ],
)
def test_bad_parameters_state_rule_and_value(kind, n, params, message):
    with pytest.raises(InputError, match=message):
        build_graph(kind, n, rng=np.random.default_rng(0), **params)


def test_rng_must_be_a_generator():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        build_graph("erdos_renyi", 10, rng=42)


# --- network files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "n", "edges"),
    [
        # 10, 20, 30, 40 -> 0..3 numerically; weights, self-loop and repeat dropped
        ("int_labels.txt", 4, [(0, 1), (0, 2), (1, 2), (2, 3)]),
        # alice 0, bob 1, carol 2, dave 3
        ("string_labels.txt", 4, [(0, 1), (0, 2), (2, 3)]),
        ("commas.csv", 4, [(0, 1), (1, 2), (2, 3)]),
        # directed, weighted, a self-loop and an isolated user (n4)
        ("directed.graphml", 5, [(0, 1), (0, 3), (1, 2)]),
    ],
)
def test_reads_network_files(name, n, edges):
    graph = build_graph("file", n, path=str(DATA / name), rng=np.random.default_rng(0))
    assert_canonical(graph, n)
    assert list(graph.edges()) == edges


def test_integer_labels_sort_numerically(tmp_path):
    file = tmp_path / "numbers.txt"
    file.write_text("9 10\n10 100\n")  # as strings "10" < "100" < "9"
    graph = build_graph("file", 3, path=file, rng=np.random.default_rng(0))
    assert list(graph.edges()) == [(0, 1), (1, 2)]


def test_node_count_mismatch_says_how_to_fix():
    with pytest.raises(InputError) as error:
        build_graph("file", 5000, path=DATA / "int_labels.txt", rng=np.random.default_rng(0))
    assert str(error.value) == (
        f"network.path: file '{DATA / 'int_labels.txt'}' has 4 nodes but population.size "
        "is 5000; set population.size: 4"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("one_token.txt", r"line 3: expected 'source target \[weight\]'.*got '3'"),
        ("four_fields.txt", r"line 2: expected .*got '2 3 1.0 extra'"),
        ("bad_weight.csv", r"line 1: expected .*got '1,2,heavy'"),
        ("empty_field.csv", r"line 2: expected .*got '1,,3'"),
        ("empty.txt", r"is empty; expected an edge list"),
        ("only_comments.txt", r"has no nodes"),
        ("broken.graphml", r"line 6, column \d+: not well-formed XML \(mismatched tag\)"),
        ("not_graphml.xml", r"not valid GraphML"),
        ("binary.txt", r"is not UTF-8 text"),
        ("missing.txt", r"does not exist"),
        ("", r"is a directory"),
    ],
)
def test_malformed_files_name_file_line_and_expectation(name, message):
    path = DATA / name
    with pytest.raises(InputError, match=message) as error:
        build_graph("file", 4, path=path, rng=np.random.default_rng(0))
    assert str(error.value).startswith(f"network.path: file '{path}'")


# --- helpers ------------------------------------------------------------------------


def test_realised_mean_degree():
    assert realised_mean_degree(nx.path_graph(4)) == 1.5
    assert realised_mean_degree(nx.Graph()) == 0.0


@pytest.mark.parametrize("kind", ["erdos_renyi", "barabasi_albert", "stochastic_block"])
def test_to_csr_matches_graph(kind):
    graph = build(kind, 500, mean_degree=3)  # sparse enough to leave some users isolated
    matrix = to_csr(graph)
    assert matrix.shape == (500, 500)
    assert matrix.nnz == 2 * graph.number_of_edges()
    assert (matrix != matrix.T).nnz == 0
    assert matrix.indices.dtype == np.int32 and matrix.indptr.dtype == np.int32
    assert matrix.data.dtype == np.int8 and np.all(matrix.data == 1)
    assert matrix.has_canonical_format
    for node in graph:
        start, stop = matrix.indptr[node], matrix.indptr[node + 1]
        assert matrix.indices[start:stop].tolist() == sorted(graph.adj[node])


def test_to_csr_follows_node_order_of_any_graph():
    graph = nx.Graph([("b", "a"), ("a", "c")])  # node order: b, a, c
    assert to_csr(graph).toarray().tolist() == [[0, 1, 0], [1, 0, 1], [0, 1, 0]]


def test_triangle_pair_numbering_is_exact_for_huge_blocks():
    from simulator.world.network.graphs import triangle_pair

    small = np.arange(10)
    assert np.column_stack(triangle_pair(small)).tolist() == [
        [1, 0], [2, 0], [2, 1], [3, 0], [3, 1], [3, 2], [4, 0], [4, 1], [4, 2], [4, 3]
    ]  # fmt: skip
    rows = np.array([10**8, 3 * 10**8 + 7, 10**9 + 9, 2**31 - 1], dtype=np.int64)
    starts = rows * (rows - 1) // 2  # first pair of each row, and the last of the row before
    row, column = triangle_pair(np.concatenate([starts, starts - 1]))
    assert row.tolist() == rows.tolist() + (rows - 1).tolist()
    assert column.tolist() == [0] * 4 + (rows - 2).tolist()


@pytest.mark.parametrize(
    ("n", "m", "seed"), [(5, 1, 3), (12, 3, 1), (400, 2, 5), (3000, 3, 2**62 + 17)]
)
def test_barabasi_albert_edges_are_networkx_graph_edges(n, m, seed):
    from simulator.world.network.graphs import barabasi_albert_edges

    edges = barabasi_albert_edges(n, m, seed)
    reference = nx.barabasi_albert_graph(n, m, seed=seed)
    assert sorted(map(tuple, np.sort(edges, axis=1).tolist())) == sorted(
        tuple(sorted(edge)) for edge in reference.edges()
    )


@pytest.mark.parametrize(
    ("n", "m", "seed"),
    [(2, 1, 0), (6, 4, 9), (700, 1, 11), (2500, 2, 2**63 - 2), (5000, 3, 4), (3000, 4, 8)],
)
def test_compiled_barabasi_albert_replays_the_python_draws(n, m, seed, monkeypatch):
    """The compiled loop (m <= 4) gives the Python loop's edges in the same order (every
    getrandbits and every set's iteration order replayed), and NetworkX's graph."""
    import numba  # noqa: F401 - loaded, as the array engine loads it: the compiled loop

    from simulator.world.network import graphs

    compiled = graphs.barabasi_albert_edges(n, m, seed)
    monkeypatch.setattr(graphs, "SET_OF_EIGHT", 0)  # every m takes the Python loop
    python = graphs.barabasi_albert_edges(n, m, seed)
    assert compiled.dtype == python.dtype and compiled.tolist() == python.tolist()
    reference = nx.barabasi_albert_graph(n, m, seed=seed)
    assert sorted(map(tuple, np.sort(compiled, axis=1).tolist())) == sorted(
        tuple(sorted(edge)) for edge in reference.edges()
    )


@pytest.mark.parametrize("kind", RANDOM + ["file"])
@pytest.mark.parametrize("mean_degree", [6, 5])
def test_edges_give_build_graphs_adjacency_and_graph(kind, mean_degree):
    """The model's path (edges -> CSR -> graph on demand) gives build_graph's network."""
    from simulator.world.network import read_network_file
    from simulator.world.network.csr import edges_to_csr
    from simulator.world.network.graphs import build_edges, graph_from_csr

    n = 600
    params = {"mean_degree": mean_degree if kind != "watts_strogatz" else 4}
    if kind == "stochastic_block":
        params["groups"] = groups_for(n)
    if kind == "file":
        params["path"] = DATA / "int_labels.txt"
        n = read_network_file(params["path"])[0]
    reference = build_graph(kind, n, rng=np.random.default_rng(7), **params)
    edges = build_edges(kind, n, rng=np.random.default_rng(7), **params)
    adjacency, expected = edges_to_csr(n, edges[:, 0], edges[:, 1]), to_csr(reference)
    for field in ("indptr", "indices", "data"):
        got, want = getattr(adjacency, field), getattr(expected, field)
        assert got.dtype == want.dtype and np.array_equal(got, want), field
    graph = graph_from_csr(adjacency)
    assert list(graph.nodes()) == list(reference.nodes())
    assert list(graph.edges()) == list(reference.edges())
    assert all(list(graph.adj[v]) == list(reference.adj[v]) for v in reference)
