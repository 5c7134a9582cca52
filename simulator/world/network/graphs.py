"""Social networks of users built with NetworkX: seeded graph builders and their adjacency.

Every builder is a pure function of its parameters and a NumPy ``Generator`` (the
NetworkX generator style): the same parameters and the same ``rng`` state give the
same graph, down to the order in which nodes and edges are iterated. Users are the
integers ``0 .. n-1`` and every user is a node, isolated or not.
"""

from __future__ import annotations

import functools
import math
import os
import random

import networkx as nx
import numpy as np
import scipy.sparse

from simulator.compiled import jit
from simulator.compiled import loaded as compiled_loaded
from simulator.errors import InputError

from .files import read_network_file

KINDS = ("complete", "erdos_renyi", "barabasi_albert", "watts_strogatz", "stochastic_block", "file")


def build_graph(
    kind: str,
    n: int,
    *,
    mean_degree: float = 6,
    rewire: float = 0.1,
    homophily: float = 0.0,
    groups: np.ndarray | None = None,
    path: str | os.PathLike | None = None,
    rng: np.random.Generator,
) -> nx.Graph:
    """Build the network on which ``n`` users talk to each other.

    Parameters
    ----------
    kind : {"complete", "erdos_renyi", "barabasi_albert", "watts_strogatz", \
"stochastic_block", "file"}
        The network model (scenario key ``network.kind``).
    n : int
        Number of users (``population.size``), >= 1.
    mean_degree : float
        Target mean number of contacts per user, > 0. Ignored by ``complete`` and
        ``file``; must be an even integer for ``watts_strogatz``. Capped at ``n - 1``:
        when the target cannot be reached the graph is complete.
    rewire : float
        Watts–Strogatz rewiring probability, in [0, 1].
    homophily : float
        Stochastic block model: 0 = groups mix at random, 1 = no edges across groups.
    groups : ndarray of int, optional
        Group index of each user, length ``n``; required by ``stochastic_block``.
    path : str or PathLike, optional
        Edge list or GraphML file (by suffix ``.graphml``/``.xml``); required by ``file``.
    rng : numpy.random.Generator
        The only source of randomness; exactly one integer is drawn from it.

    Returns
    -------
    networkx.Graph
        Undirected simple graph on nodes ``0 .. n-1``, nodes inserted in order and
        each node's neighbours in increasing order.

    Raises
    ------
    InputError
        A parameter breaks its rule (the message names the key, the rule and the
        value) or the network file is missing or malformed.

    Notes
    -----
    - ``complete``: everyone knows everyone, n(n-1)/2 edges; as a NetworkX graph that is
      practical up to a few thousand users (n = 5000: 12.5 million edges, ~8 s, 1.6 GB).
    - ``erdos_renyi``: G(n, p) with p = mean_degree / (n - 1) [1]_.
    - ``barabasi_albert``: preferential attachment [2]_ with m = mean_degree / 2 edges
      per new user. When mean_degree / 2 is not an integer, each new user brings
      floor(k/2) or ceil(k/2) edges (dual Barabási–Albert), mixed so the expected mean
      degree is k. A new user brings at least one edge, so for mean_degree < 2 the
      realised mean degree is about 2.
    - ``watts_strogatz``: ring lattice with k = mean_degree, each edge rewired with
      probability ``rewire`` [3]_.
    - ``stochastic_block``: blocks are the groups [4]_. The cross-group edge
      probability is p_out = (1 - homophily) * p_in, with p_in set so the expected
      mean degree is mean_degree given the group sizes. Sampled block pair by block
      pair in time proportional to the number of edges.
    - ``file``: node labels are renumbered 0 .. n-1 in sorted order (numerically if
      every label is an integer, else as strings); directions, weights, self-loops
      and parallel edges are dropped. Edge lists have no header line (comment it
      out with ``#``) and cannot name isolated users; GraphML can.

    References
    ----------
    .. [1] P. Erdős and A. Rényi, "On random graphs I", Publicationes Mathematicae
       6, 290-297 (1959).
    .. [2] A.-L. Barabási and R. Albert, "Emergence of scaling in random networks",
       Science 286, 509-512 (1999).
    .. [3] D. J. Watts and S. H. Strogatz, "Collective dynamics of 'small-world'
       networks", Nature 393, 440-442 (1998).
    .. [4] P. W. Holland, K. B. Laskey and S. Leinhardt, "Stochastic blockmodels:
       first steps", Social Networks 5, 109-137 (1983).
    """
    if kind == "complete":
        n = check_parameters(KINDS, kind, n, mean_degree, rewire, homophily, rng, groups)[0]
        rng.integers(2**63 - 1)  # the one integer every kind draws
        return nx.complete_graph(n)  # already canonical: nodes and edges in sorted order
    edges = build_edges(
        kind, n, mean_degree=mean_degree, rewire=rewire, homophily=homophily,
        groups=groups, path=path, rng=rng,
    )  # fmt: skip
    return _canonical(n, edges)


def build_edges(
    kind: str,
    n: int,
    *,
    mean_degree: float = 6,
    rewire: float = 0.1,
    homophily: float = 0.0,
    groups: np.ndarray | None = None,
    path: str | os.PathLike | None = None,
    rng: np.random.Generator,
) -> np.ndarray:
    """The edges (an E x 2 int64 array, in no particular order, possibly with repeats) of
    the graph :func:`build_graph` returns for the same arguments and ``rng`` state:
    ``_canonical(n, build_edges(...))`` is that graph, and ``csr.edges_to_csr`` of them
    its adjacency, without building NetworkX objects (``kind`` is not ``complete``)."""
    n, mean_degree, rewire, homophily, groups = check_parameters(
        KINDS, kind, n, mean_degree, rewire, homophily, rng, groups
    )
    seed = int(rng.integers(2**63 - 1))
    if kind == "erdos_renyi":
        p = min(1.0, mean_degree / (n - 1)) if n > 1 else 0.0
        graph = nx.fast_gnp_random_graph(n, p, seed=seed)
    elif kind == "barabasi_albert":
        graph = _barabasi_albert(n, mean_degree, seed)
        if isinstance(graph, np.ndarray):
            return graph
    elif kind == "watts_strogatz":
        k = int(mean_degree)
        graph = nx.complete_graph(n) if k >= n else nx.watts_strogatz_graph(n, k, rewire, seed)
    elif kind == "stochastic_block":
        sampler = np.random.default_rng(seed)
        return stochastic_block_edges(n, mean_degree, homophily, groups, sampler)
    else:
        if path is None:
            raise InputError("network.path is required when network.kind is 'file'")
        n_file, edges = read_network_file(path)
        if n_file != n:
            raise InputError(
                f"network.path: file '{path}' has {n_file} nodes but population.size is {n}; "
                f"set population.size: {n_file}"
            )
        return _edge_array(edges)
    return _edge_array(graph.edges())


def check_parameters(
    kinds: tuple[str, ...],
    kind: str,
    n: object,
    mean_degree: object,
    rewire: object,
    homophily: object,
    rng: object,
    groups: object = None,
    *,
    error: type[Exception] = InputError,
    prefix: str = "network.",
    size_key: str = "population.size",
) -> tuple[int, float, float, float, np.ndarray | None]:
    """Check a graph generator's parameters; return ``n``, the three numbers and ``groups``.

    Raises ``error`` naming the key (``prefix`` + name; ``size_key`` for ``n``), the
    rule and the value given: :class:`InputError` for scenario input (the default),
    ``ValueError`` for direct calls of :func:`simulator.world.network.csr.build_csr`. A
    ``watts_strogatz`` degree must be an even integer; ``stochastic_block`` needs an
    integer ``groups`` array of length ``n``.
    """
    if kind not in kinds:
        raise error(f"{prefix}kind must be one of {', '.join(kinds)}; got {kind!r}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise error(f"{size_key} must be an integer >= 1, got {n!r}")
    numbers = []
    for name, value, rule, check in (
        ("mean_degree", mean_degree, "> 0", lambda x: x > 0),
        ("rewire", rewire, "in [0, 1]", lambda x: 0 <= x <= 1),
        ("homophily", homophily, "in [0, 1]", lambda x: 0 <= x <= 1),
    ):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and check(number)):
            raise error(f"{prefix}{name} must be a number {rule}, got {value!r}")
        numbers.append(number)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    degree = numbers[0]
    if kind == "watts_strogatz" and (degree != int(degree) or int(degree) % 2):
        raise error(
            f"{prefix}mean_degree must be an even integer for {prefix}kind 'watts_strogatz' "
            f"(each user links to k/2 neighbours on each side of the ring), got {degree:g}"
        )
    if kind == "stochastic_block":
        if groups is None:
            raise error(f"{prefix}kind 'stochastic_block' needs the users' groups, got None")
        groups = np.asarray(groups)
        if groups.shape != (n,) or not np.issubdtype(groups.dtype, np.integer):
            raise error(
                f"groups must be an integer array of length {size_key} = {n}, "
                f"got dtype {groups.dtype} and shape {groups.shape}"
            )
    return int(n), *numbers, groups


def _barabasi_albert(n: int, mean_degree: float, seed: int) -> nx.Graph | np.ndarray:
    """Preferential attachment with expected mean degree ``mean_degree`` (at least 2): a
    graph, or the edges of one (an E x 2 array) when the graph is NetworkX's
    ``barabasi_albert_graph``."""
    half = mean_degree / 2
    fewer, more = max(1, math.floor(half)), max(1, math.ceil(half))
    if n <= more:  # too few users to attach `more` edges each: everyone knows everyone
        return nx.complete_graph(n)
    if fewer == more:
        return barabasi_albert_edges(n, fewer, seed)
    # A new user brings `fewer` edges with probability p, else `more` (= fewer + 1):
    # expected edges per user p * fewer + (1 - p) * more = half  =>  p = more - half.
    return nx.dual_barabasi_albert_graph(n, fewer, more, more - half, seed=seed)


def barabasi_albert_edges(n: int, m: int, seed: int) -> np.ndarray:
    """The edges of ``nx.barabasi_albert_graph(n, m, seed=seed)`` (``1 <= m < n``), drawn
    the same way (the same ``random.Random(seed)`` calls in the same order, the same
    ``set`` of targets per new node, so the same edges) without building the graph: at
    10^4 users a tenth of the time (``tests/test_network.py`` checks they are the same).

    NetworkX starts from a star on nodes ``0 .. m`` (``repeated_nodes`` lists each node
    once per edge end: ``[0] * m + [1 .. m]``), then each new node picks ``m`` distinct
    targets uniformly from ``repeated_nodes`` and both ends are appended.
    """
    generator = random.Random(seed)
    fast = m <= SET_OF_EIGHT and 2 * m * n < 2**31 and compiled_loaded()
    if fast and _choice_is_getrandbits():
        # The same draws replayed by a compiled loop (at 10^4 users 1 ms instead of 18), once
        # Numba is loaded (by the array engine): importing it for a graph alone would cost more.
        _, state, _ = generator.getstate()
        mt = np.array(state[:-1], dtype=np.uint32)
        chosen = _attach(mt, state[-1], n, m)
        sources = np.concatenate([np.zeros(m, np.int64), np.repeat(np.arange(m + 1, n), m)])
        targets = np.concatenate([np.arange(1, m + 1, dtype=np.int64), chosen])
        return np.column_stack([sources, targets])
    repeated = [0] * m + list(range(1, m + 1))
    extend = repeated.extend
    sources, targets = [0] * m, list(range(1, m + 1))
    if not _choice_is_getrandbits():  # pragma: no cover - another Python's random module
        choice = generator.choice
        for source in range(m + 1, n):
            chosen = set()
            while len(chosen) < m:
                chosen.add(choice(repeated))
            extend(chosen)
            extend([source] * m)
            targets.extend(chosen)
    else:
        # ``random.choice(seq)`` inlined: ``seq[r]`` with ``r`` the first ``getrandbits(k)``
        # below ``len(seq)``, ``k = len(seq).bit_length()`` (CPython's _randbelow).
        getrandbits = generator.getrandbits
        for source in range(m + 1, n):
            size = len(repeated)
            k = size.bit_length()
            chosen = set()
            while len(chosen) < m:
                r = getrandbits(k)
                while r >= size:
                    r = getrandbits(k)
                chosen.add(repeated[r])
            extend(chosen)
            extend([source] * m)
            targets.extend(chosen)
    sources.extend(np.repeat(np.arange(m + 1, n), m).tolist() if n > m + 1 else [])
    return np.column_stack([np.asarray(sources, dtype=np.int64), np.asarray(targets, np.int64)])


SET_OF_EIGHT = 4
"""Up to 4 targets a new user, CPython keeps a ``set`` of ints in its smallest table (8
slots, resized at 5 entries): :func:`_attach` replays that table's order."""


@jit
def _attach(mt, index, n, m):
    """The targets :func:`barabasi_albert_edges` draws for the users ``m + 1 .. n - 1``, in
    the order it appends them, from a ``random.Random``'s Mersenne Twister state (``mt``,
    ``index``: what ``getstate`` gives).

    Each ``getrandbits(k)`` (``k <= 32``) is CPython's ``genrand_uint32() >> (32 - k)``;
    each new user's distinct targets are collected in CPython's 8-slot set table (an int
    hashes to itself; a taken slot sends the probe to ``(5 i + 1 + perturb) & 7``, with
    ``perturb`` the hash shifted right by 5 at each probe) and read in slot order, as
    iterating the ``set`` does. ``tests/test_network.py`` checks the edges against
    NetworkX's graph, and this loop against the Python one.
    """
    upper, lower = np.uint32(0x80000000), np.uint32(0x7FFFFFFF)
    out = np.empty(m * (n - m - 1), dtype=np.int64)
    repeated = np.empty(2 * m * n, dtype=np.int64)
    repeated[:m] = 0
    for j in range(1, m + 1):
        repeated[m + j - 1] = j
    size = 2 * m
    slots = np.empty(8, dtype=np.int64)
    written = 0
    for source in range(m + 1, n):
        k = 0
        while (1 << k) <= size:  # size.bit_length()
            k += 1
        slots[:] = -1
        held = 0
        while held < m:
            while True:
                if index >= 624:  # the twister's next 624 words
                    for kk in range(624):
                        y = (mt[kk] & upper) | (mt[(kk + 1) % 624] & lower)
                        word = mt[(kk + 397) % 624] ^ (y >> np.uint32(1))
                        if y & np.uint32(1):
                            word ^= np.uint32(0x9908B0DF)
                        mt[kk] = word
                    index = 0
                y = mt[index]
                index += 1
                y ^= y >> np.uint32(11)
                y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
                y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
                y ^= y >> np.uint32(18)
                r = np.int64(y >> np.uint32(32 - k))
                if r < size:
                    break
            value = repeated[r]
            i = value & 7
            perturb = value
            while slots[i] != -1 and slots[i] != value:
                perturb >>= 5
                i = (i * 5 + 1 + perturb) & 7
            if slots[i] == -1:
                slots[i] = value
                held += 1
        for i in range(8):
            if slots[i] != -1:
                repeated[size] = slots[i]
                out[written] = slots[i]
                size += 1
                written += 1
        for _ in range(m):
            repeated[size] = source
            size += 1
    return out


@functools.cache
def _choice_is_getrandbits() -> bool:
    """Whether ``random.Random.choice`` picks ``seq[r]`` with ``r`` drawn by rejection from
    ``getrandbits(len(seq).bit_length())`` (CPython 3.12, 3.13), checked on 2,000 picks."""
    if random.Random._randbelow is not random.Random._randbelow_with_getrandbits:
        return False
    seq = list(range(1, 300))
    reference, inlined = random.Random(1), random.Random(1)
    for size in range(1, 2001):
        part = seq[: 1 + size % 299]
        k = len(part).bit_length()
        r = inlined.getrandbits(k)
        while r >= len(part):
            r = inlined.getrandbits(k)
        if reference.choice(part) != part[r]:
            return False
    return True


def stochastic_block_edges(
    n: int,
    mean_degree: float,
    homophily: float,
    groups: np.ndarray,
    sampler: np.random.Generator,
) -> np.ndarray:
    """Edges (an E x 2 array) of a stochastic block model whose blocks are the groups.

    ``sampler`` is drawn from directly (also by ``csr.py``, which samples
    Erdős–Rényi graphs as the one-block case). ``groups`` was checked by
    :func:`check_parameters`.
    """
    blocks = [np.flatnonzero(groups == label) for label in np.unique(groups)]
    sizes = np.array([len(members) for members in blocks], dtype=np.int64)
    pairs_within = int(np.sum(sizes * (sizes - 1) // 2))
    pairs_across = n * (n - 1) // 2 - pairs_within
    # Expected edges = p_in * pairs_within + p_out * pairs_across = n * mean_degree / 2.
    weighted_pairs = pairs_within + (1 - homophily) * pairs_across
    p_in = min(1.0, n * mean_degree / 2 / weighted_pairs) if weighted_pairs > 0 else 0.0
    p_out = (1 - homophily) * p_in
    # Each pair of users is an edge independently with p_in or p_out. Drawing the number
    # of edges of a block pair, Binomial(pairs, p), then that many distinct pairs
    # uniformly is the same distribution in O(edges), where nx.stochastic_block_model
    # walks all n^2 / 2 pairs (31 s at n = 100 000).
    ends = [np.empty((0, 2), dtype=np.int64)]
    for b, members in enumerate(blocks):
        for c in range(b, len(blocks)):
            others, within = blocks[c], b == c
            pairs = len(members) * (len(members) - 1) // 2 if within else len(members) * len(others)
            count = sampler.binomial(pairs, p_in if within else p_out) if pairs else 0
            chosen = sampler.choice(pairs, size=count, replace=False) if count else np.empty(0, int)
            if within:
                row, column = triangle_pair(chosen)
            else:
                row, column = np.divmod(chosen, len(others))
            ends.append(np.column_stack([members[row], others[column]]))
    return np.concatenate(ends)


def triangle_pair(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair number t of a block, in the order (1, 0), (2, 0), (2, 1), (3, 0), ...

    t = row (row - 1) / 2 + column with column < row.
    """
    row = ((1 + np.sqrt(1 + 8 * index.astype(float))) // 2).astype(np.int64)
    row -= row * (row - 1) // 2 > index  # undo floating-point rounding for huge blocks
    row += (row + 1) * row // 2 <= index
    return row, index - row * (row - 1) // 2


def _edge_array(edges) -> np.ndarray:
    """The (u, v) pairs of an iterable of edges as an E x 2 int64 array."""
    flat = np.fromiter((node for edge in edges for node in edge[:2]), dtype=np.int64)
    return flat.reshape(-1, 2)


def _canonical(n: int, edges: np.ndarray) -> nx.Graph:
    """Graph on 0..n-1 with nodes in order and edges sorted (self-loops, duplicates dropped)."""
    low, high = np.minimum(edges[:, 0], edges[:, 1]), np.maximum(edges[:, 0], edges[:, 1])
    low, high = np.divmod(np.unique((low * n + high)[low != high]), n)  # sorted by (low, high)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(low.tolist(), high.tolist(), strict=True))  # Python ints as nodes
    return graph


def graph_from_csr(adjacency: scipy.sparse.csr_array) -> nx.Graph:
    """The graph of a symmetric adjacency, as :func:`build_graph` returns it (nodes
    ``0 .. n-1`` in order, edges sorted): ``graph_from_csr(edges_to_csr(n, *edges.T))`` is
    ``_canonical(n, edges)``."""
    n = adjacency.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(adjacency.indptr))
    columns = adjacency.indices.astype(np.int64)
    upper = rows < columns
    return _canonical(n, np.column_stack([rows[upper], columns[upper]]))


def realised_mean_degree(graph: nx.Graph) -> float:
    """Mean number of contacts per user, 2E / n (0 for an empty graph)."""
    n = graph.number_of_nodes()
    return 2 * graph.number_of_edges() / n if n else 0.0


def to_csr(graph: nx.Graph) -> scipy.sparse.csr_array:
    """Adjacency matrix of ``graph`` for the array engine.

    Returns
    -------
    scipy.sparse.csr_array
        Symmetric n x n matrix with int8 ones at (i, j) and (j, i) for each edge; row i
        is the i-th node in the graph's node order; int32 indices, sorted within rows.
    """
    n = graph.number_of_nodes()
    position = {node: i for i, node in enumerate(graph)}
    ends = np.fromiter(
        (position[node] for edge in graph.edges() for node in edge), dtype=np.int32
    ).reshape(-1, 2)
    ends = ends[ends[:, 0] != ends[:, 1]]
    rows = np.concatenate([ends[:, 0], ends[:, 1]])
    columns = np.concatenate([ends[:, 1], ends[:, 0]])
    order = np.lexsort((columns, rows))
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    data = np.ones(len(rows), dtype=np.int8)
    return scipy.sparse.csr_array((data, columns[order], indptr), shape=(n, n))
