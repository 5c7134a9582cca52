"""Random social networks generated directly as sparse adjacency arrays, for 10^5–10^6 users.

:func:`build_csr` draws the same random-graph models as :func:`.graphs.build_graph`
(Erdős–Rényi, Barabási–Albert, Watts–Strogatz, stochastic block model) but never builds a
NetworkX graph: every model is sampled with vectorised NumPy (no Python loop over nodes or
edges) and returned as a :class:`scipy.sparse.csr_array`, the format the array engine reads
(see :func:`.graphs.to_csr`). At n = 10^6 users and mean degree 6 each model takes
0.2–0.7 s and at most ~200 MB beyond its 34 MB result, where NetworkX's Barabási–Albert
takes ~25 s and more than 1 GB.

The graphs follow the same models as NetworkX's generators, not the same random streams:
the same ``rng`` state always gives the same arrays here, but not the same graph as
``build_graph``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse

from simulator.compiled import jit, worth_compiling

from .graphs import check_parameters, stochastic_block_edges

KINDS = ("erdos_renyi", "barabasi_albert", "watts_strogatz", "stochastic_block")
MAX_REDRAW_ROUNDS = 200
"""Rounds of redrawing for conflicting Watts–Strogatz rewirings and Barabási–Albert repeats."""

COMPILED_GRAPHS_FROM = 500_000
"""Users from which a Barabási–Albert graph's passes run compiled even if Numba is not
loaded yet (importing it costs less than it saves there); below, they run compiled once
it is loaded (the array engine loads it). Both give the same arrays (tested)."""


def build_csr(
    kind: str,
    n: int,
    *,
    mean_degree: float,
    rewire: float = 0.1,
    homophily: float = 0.0,
    groups: np.ndarray | None = None,
    rng: np.random.Generator,
) -> scipy.sparse.csr_array:
    """Draw a random social network on ``n`` users as a sparse adjacency matrix.

    Parameters
    ----------
    kind : {"erdos_renyi", "barabasi_albert", "watts_strogatz", "stochastic_block"}
        The network model (scenario key ``network.kind``).
    n : int
        Number of users, >= 1. Users are the nodes ``0 .. n-1``, isolated or not.
    mean_degree : float
        Target mean number of contacts per user, > 0; an even integer for
        ``watts_strogatz``. A target beyond ``n - 1`` gives the complete graph.
    rewire : float
        Watts–Strogatz rewiring probability, in [0, 1].
    homophily : float
        Stochastic block model: 0 = groups mix at random, 1 = no edges across groups.
    groups : ndarray of int, optional
        Group of each user, length ``n``; required by ``stochastic_block``.
    rng : numpy.random.Generator
        The only source of randomness, drawn from directly, in a fixed order: the same
        state gives identical arrays.

    Returns
    -------
    scipy.sparse.csr_array
        Symmetric ``n x n`` 0/1 adjacency matrix: ``data`` int8 ones, no self-loops, no
        duplicate entries, column indices sorted within each row. ``indices`` and
        ``indptr`` are int32 (SciPy gives both int64 only if ``nnz >= 2**31``).

    Raises
    ------
    ValueError
        Unknown ``kind`` or a parameter outside its range.
    TypeError
        ``rng`` is not a ``numpy.random.Generator``.

    Notes
    -----
    - ``erdos_renyi``: G(n, p) [1]_ with p = mean_degree / (n - 1): the number of edges
      is Binomial(n (n - 1) / 2, p), then that many distinct pairs are drawn uniformly,
      which is the same distribution as independent coin flips per pair, in time
      proportional to the number of edges. It is the stochastic block model with one
      block, sampled by the same code.
    - ``stochastic_block``: blocks are the groups [5]_, with the semantics of
      ``build_graph``: p_out = (1 - homophily) p_in and p_in set so the expected mean
      degree is ``mean_degree``; sampled by the block-pair sampler of ``graphs.py``
      (one Python iteration per pair of *groups*, none per node or edge).
    - ``barabasi_albert``: preferential attachment [2]_ with m = mean_degree / 2 edges per
      new user, grown from a star on m + 1 users (NetworkX's default seed graph). For
      non-integer m each new user brings floor(m) or ceil(m) edges, mixed so the
      expected mean degree is 2m (NetworkX's dual Barabási–Albert); every new user brings
      at least one edge. Sampled with Batagelj and Brandes' edge-copying method [3]_,
      see :func:`barabasi_albert_edges`. Repeated targets of one new user are redrawn,
      so the edge count is exactly NetworkX's.
    - ``watts_strogatz``: ring lattice with k = mean_degree, each user linked to the k/2
      nearest users on each side, then each lattice edge (u, u + j) rewired with
      probability ``rewire`` to (u, w), w uniform [4]_; see :func:`watts_strogatz_edges`.

    References
    ----------
    .. [1] P. Erdős and A. Rényi, "On random graphs I", Publicationes Mathematicae
       6, 290-297 (1959).
    .. [2] A.-L. Barabási and R. Albert, "Emergence of scaling in random networks",
       Science 286, 509-512 (1999).
    .. [3] V. Batagelj and U. Brandes, "Efficient generation of large random networks",
       Physical Review E 71, 036113 (2005).
    .. [4] D. J. Watts and S. H. Strogatz, "Collective dynamics of 'small-world'
       networks", Nature 393, 440-442 (1998).
    .. [5] P. W. Holland, K. B. Laskey and S. Leinhardt, "Stochastic blockmodels:
       first steps", Social Networks 5, 109-137 (1983).
    """
    n, mean_degree, rewire, homophily, groups = check_parameters(
        KINDS, kind, n, mean_degree, rewire, homophily, rng, groups,
        error=ValueError, prefix="", size_key="n",
    )  # fmt: skip

    if kind == "erdos_renyi":
        edges = stochastic_block_edges(n, mean_degree, 0.0, np.zeros(n, dtype=np.int8), rng)
        return edges_to_csr(n, edges[:, 0], edges[:, 1])
    if kind == "stochastic_block":
        edges = stochastic_block_edges(n, mean_degree, homophily, groups, rng)
        return edges_to_csr(n, edges[:, 0], edges[:, 1])
    if kind == "barabasi_albert":
        source, target = barabasi_albert_edges(n, mean_degree, rng)
        attached = n > max(1, math.ceil(mean_degree / 2))  # else the complete graph's edges
        if attached and _compiled_graph(n) and 2 * len(source) < 2**31:
            return _attachment_csr(n, source, target, mean_degree)
        return edges_to_csr(n, source, target)
    return edges_to_csr(n, *watts_strogatz_edges(n, int(mean_degree), rewire, rng))


def _compiled_graph(n: int) -> bool:
    return worth_compiling(n, COMPILED_GRAPHS_FROM)


def barabasi_albert_edges(
    n: int, mean_degree: float, rng: np.random.Generator, compiled: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a Barabási–Albert graph [1]_, by Batagelj–Brandes edge copying [2]_.

    Parameters
    ----------
    n : int
        Number of nodes, >= 1.
    mean_degree : float
        Expected mean degree 2m, > 0 (at least 2 in effect: a new node brings >= 1 edge).
    rng : numpy.random.Generator
        Draws, in order: the edge count of each new node (only if m is not an
        integer), one pointer per edge, then the redraws of repeated targets.

    Returns
    -------
    source, target : ndarray of int64
        Edge k joins ``source[k]`` to ``target[k] < source[k]``; sources nondecreasing.
        No self-loops; repeated edges only if a node's redraws all failed (never seen).

    Notes
    -----
    Nodes ``0 .. m2`` (m2 = ceil(m)) start as a star centred on 0, as in NetworkX. Each
    later node v brings m_v edges, m_v = m2 or m1 = floor(m) (``P(m1) = m2 - m`` so that
    E[m_v] = m). Write the edges as one endpoint list M, edge k occupying M[2k] (its new
    node) and M[2k + 1] (its target). Choosing a target with probability proportional
    to degree is choosing a uniform *position* among the endpoints already in M, so
    M[2k + 1] = M[r] with r uniform in [0, 2 K_v), K_v the number of edges before
    node v arrived. Batagelj and Brandes draw r in [0, 2k) (so a node can copy its own
    new endpoints, a self-loop); bounding r by 2 K_v instead chooses among the graph as
    it was before v, like NetworkX, so there are no self-loops.

    All pointers are drawn at once, then resolved by pointer jumping: a pointer to an
    odd position 2j + 1 is replaced by that position's own pointer, until every pointer
    names an even position (whose value is its edge's new node) or a seed edge's centre
    slot. A pointer lands on an odd position with probability 1/2, so copy chains have
    geometric length (mean 2, longest ~log2 E); since each jump also follows pointers
    already shortened in the same round (pointer doubling), ~log2 log2 E vectorised
    rounds resolve them all (4–5 at E = 3 x 10^6).

    A node drawing the same target twice would give a duplicate edge. NetworkX draws
    uniform slots until it has m distinct targets; here the repeats (all but the first
    edge of each repeated (node, target) pair) are redrawn, vectorised, in rounds,
    until every node's targets are distinct, so the edge count is m2 + sum(m_v),
    exactly NetworkX's (m (n - m) for integer m). Stopping at the first round in which
    a node reaches m distinct targets gives the same distribution as NetworkX's
    one-at-a-time rejection. Repeats are rare and concentrated on the first few
    nodes, whose slots are mostly the seed star's centre: measured over 5 seeds at
    mean degree 6 they are 0.17 % of edges at n = 10^4 and 0.0038 % at n = 10^6
    (0.29 % and 0.0061 % at mean degree 10), so dropping them instead would lower
    the mean degree by 0.010 at n = 10^4 and 0.0002 at n = 10^6. Redrawing takes 1–4
    rounds at mean degree 6 (up to ~17 at mean degree 10, for the first nodes). One
    approximation remains: a slot that was copied (resolved) before its edge's target
    was redrawn keeps the first value, so a handful of nodes carry attachment weight
    from edges that moved.

    References
    ----------
    .. [1] A.-L. Barabási and R. Albert, "Emergence of scaling in random networks",
       Science 286, 509-512 (1999).
    .. [2] V. Batagelj and U. Brandes, "Efficient generation of large random networks",
       Physical Review E 71, 036113 (2005).
    """
    half = mean_degree / 2
    fewer, more = max(1, math.floor(half)), max(1, math.ceil(half))
    if n <= more:  # too few nodes to attach `more` edges each: everyone knows everyone
        return _complete_edges(n)
    arrivals = n - more - 1  # the new nodes more + 1 .. n - 1
    if fewer == more:
        counts = np.full(arrivals, more, dtype=np.int64)
    else:  # P(fewer) = more - half gives E[count] = fewer p + more (1 - p) = half
        counts = np.where(rng.random(arrivals) < more - half, fewer, more)
    first_edge = np.cumsum(counts)  # K_v = more + cumsum - counts: edges before node v
    first_edge -= counts  # (in place: at 10^7 users each temporary costs ~0.3 s to fault in)
    first_edge += more
    n_edges = more + int(counts.sum())
    compiled = _compiled_graph(n) if compiled is None else compiled

    source = np.empty(n_edges, dtype=np.int64)
    source[:more] = np.arange(1, more + 1)  # seed star: leaf k+1 at M[2k], centre 0 at M[2k+1]
    if compiled:
        _fill_sources(source, counts, more)
    else:
        source[more:] = np.repeat(np.arange(more + 1, n, dtype=np.int64), counts)
    pointer = np.empty(n_edges, dtype=np.int64)
    pointer[:more] = 2 * np.arange(more) + 1  # a seed edge's odd slot holds the centre, 0
    if compiled:
        # The same draws in chunks of nodes (NumPy draws an array of bounds element by
        # element, so the stream is the same), then every pointer resolved into its
        # target in place and the repeats found node by node: fewer and smaller arrays,
        # each of which costs its page faults at 10^7 users (~1 s per 240 MB here).
        for start in range(0, arrivals, _DRAW_CHUNK):
            nodes = slice(start, start + _DRAW_CHUNK)
            first, last = first_edge[nodes][0], first_edge[nodes][-1] + counts[nodes][-1]
            pointer[first:last] = rng.integers(0, np.repeat(2 * first_edge[nodes], counts[nodes]))
        _resolve_into_targets(pointer, source, 2 * more)
        target = pointer
        del pointer
        repeated = np.empty(n_edges, dtype=np.int64)
        repeated = repeated[: _repeats_by_node(source, target, more, repeated)]
    else:
        pointer[more:] = rng.integers(0, np.repeat(2 * first_edge, counts))  # v: 2 K_v slots
        _resolve(pointer, 2 * more)
        target = _slot_values(pointer, source)
        del pointer
        repeated = _repeats(source * n + target)

    # Redraw repeated targets of one node (keep the first of each), a few rounds.
    for _ in range(MAX_REDRAW_ROUNDS):
        if not repeated.size:
            break
        slot = rng.integers(0, 2 * first_edge[source[repeated] - more - 1])
        target[repeated] = _slot_values(slot, source, target)
        # Check the nodes that were redrawn: all their edges, as (node, target) pairs.
        newcomer = np.unique(source[repeated]) - more - 1  # seed edges never repeat
        edges = _ranges(first_edge[newcomer], counts[newcomer])  # increasing
        repeated = edges[_repeats(source[edges] * n + target[edges])]
    return source, target


def watts_strogatz_edges(
    n: int, k: int, rewire: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a Watts–Strogatz small-world graph [1]_, rewired in vectorised rounds.

    Parameters
    ----------
    n : int
        Number of nodes, >= 1.
    k : int
        Even degree of the ring lattice, >= 2; k >= n gives the complete graph.
    rewire : float
        Probability that each lattice edge is rewired, in [0, 1].
    rng : numpy.random.Generator
        Draws, in order: one uniform per lattice edge (rewire or not), then one new
        endpoint per edge still to be rewired, round after round.

    Returns
    -------
    u, v : ndarray of int64
        The n k / 2 edges; possibly fewer after :func:`edges_to_csr` removes duplicates
        in the rare case described below.

    Notes
    -----
    As in NetworkX, lattice edge (u, u + j mod n) for j = 1 .. k/2 is rewired with
    probability ``rewire`` to (u, w), w uniform over all nodes, redrawn while w = u or
    (u, w) is already an edge (which includes w = u + j). NetworkX rewires one edge at
    a time, so "already an edge" means the graph at that moment. Here all rewired edges
    draw their w at once, then conflicts are redrawn in rounds: a draw is rejected if it
    is a self-loop, the edge's own old partner, an edge of the lattice that is not
    rewired, an edge accepted in an earlier round, or a repeat of an earlier draw of the
    same round. The one difference from NetworkX: w may be a lattice neighbour whose own
    edge to u is rewired away, which NetworkX allows only after that edge has moved.
    Conflicts have probability ~ k / n per draw, so two or three rounds clear them.
    NetworkX keeps the edge in place when u is already linked to every node; here, an
    edge still in conflict after ``MAX_REDRAW_ROUNDS`` rounds keeps its lattice place,
    and if that duplicates an accepted rewiring it is dropped (only possible when k is
    close to n).

    References
    ----------
    .. [1] D. J. Watts and S. H. Strogatz, "Collective dynamics of 'small-world'
       networks", Nature 393, 440-442 (1998).
    """
    if k >= n:
        return _complete_edges(n)
    half = k // 2
    u = np.tile(np.arange(n, dtype=np.int64), half)  # all j = 1 edges, then j = 2, ...
    v = (u + np.repeat(np.arange(1, half + 1, dtype=np.int64), n)) % n
    moved = rng.random(len(u)) < rewire
    kept = np.sort(_key(u[~moved], v[~moved], n))
    accepted = np.empty(0, dtype=np.int64)
    pending = np.flatnonzero(moved)
    partner = v.copy()
    for _ in range(MAX_REDRAW_ROUNDS):
        if not pending.size:
            break
        w = rng.integers(0, n, size=len(pending))
        key = _key(u[pending], w, n)
        ok = (w != u[pending]) & (w != v[pending]) & ~_isin_sorted(key, kept)
        ok &= ~_isin_sorted(key, accepted)
        candidates = np.flatnonzero(ok)
        _, first = np.unique(key[candidates], return_index=True)
        ok[:] = False
        ok[candidates[first]] = True
        partner[pending[ok]] = w[ok]
        accepted = np.sort(np.concatenate([accepted, key[ok]]))
        pending = pending[~ok]
    return u, partner


def edges_to_csr(n: int, u: np.ndarray, v: np.ndarray) -> scipy.sparse.csr_array:
    """Symmetric 0/1 adjacency matrix of the undirected edges (u[k], v[k]).

    Parameters
    ----------
    n : int
        Number of nodes; every entry of ``u`` and ``v`` is in ``0 .. n-1``.
    u, v : ndarray of int
        Edge endpoints, in any order; self-loops and repeated edges are dropped.

    Returns
    -------
    scipy.sparse.csr_array
        ``data`` int8 ones, int32 ``indices``/``indptr`` (int64 if ``nnz >= 2**31``),
        column indices sorted within rows, no duplicates.

    Notes
    -----
    One sort of the E edge keys low * n + high removes repeats and orders the edges by
    (low, high). Feeding the entries (high, low) for all edges, then (low, high), to
    SciPy's COO-to-CSR conversion, which is a stable counting sort by row, lists row i
    as its lower neighbours (ascending, as the keys are sorted by low) followed by its
    higher neighbours (ascending): sorted rows without a second sort.
    """
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    keys = _key(u, v, n)
    keys = np.sort(keys[u != v])
    keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if keys.size else keys
    low, high = np.divmod(keys, n)
    del keys
    index = np.int32 if n < 2**31 else np.int64
    rows, columns = np.empty(2 * len(low), dtype=index), np.empty(2 * len(low), dtype=index)
    rows[: len(low)], rows[len(low) :] = high, low
    columns[: len(low)], columns[len(low) :] = low, high
    del low, high
    data = np.ones(len(rows), dtype=np.int8)
    return scipy.sparse.coo_array((data, (rows, columns)), shape=(n, n)).tocsr()


def _resolve(pointer: np.ndarray, terminal_odd: int) -> None:
    """Pointer jumping, in place: every pointer ends even or odd below ``terminal_odd``.

    ``pointer[j]`` is the position that odd slot 2j + 1 copies; odd slots below
    ``terminal_odd`` hold known values and are not followed.
    """
    pending = np.flatnonzero((pointer & 1).astype(bool) & (pointer >= terminal_odd))
    while pending.size:
        pointer[pending] = pointer[pointer[pending] >> 1]  # reads before it writes
        now = pointer[pending]
        pending = pending[(now & 1).astype(bool) & (now >= terminal_odd)]


_DRAW_CHUNK = 1 << 20
"""New nodes whose pointers are drawn at once by the compiled path (bounds: 8 MB)."""


@jit
def _fill_sources(source, counts, more):
    """``source[more:] = repeat(arange(more + 1, n), counts)``, without the temporary."""
    k = more
    for v in range(len(counts)):
        for _ in range(counts[v]):
            source[k] = more + 1 + v
            k += 1


@jit
def _resolve_into_targets(pointer, source, terminal_odd):
    """:func:`_resolve` then :func:`_slot_values` (no ``target`` yet), in place: each
    pointer becomes the target it names.

    A new node's pointer names a slot of an edge before the node's first edge, so in edge
    order the slot it copies is resolved already: one look-up resolves each pointer to the
    same end of the same copy chain that pointer jumping reaches. Values are written in a
    second pass, once no pointer is read any more."""
    for j in range(len(pointer)):
        p = pointer[j]
        if p & 1 and p >= terminal_odd:
            pointer[j] = pointer[p >> 1]
    for j in range(len(pointer)):
        p = pointer[j]
        pointer[j] = 0 if p & 1 else source[p >> 1]


@jit
def _repeats_by_node(source, target, most, out):
    """:func:`_repeats` of the keys ``source * n + target`` for edges listed by
    nondecreasing ``source`` with at most ``most`` edges a node: the same indices in the
    same order (by key, then index), found node by node instead of by one sort of every
    key. Writes them into ``out``; returns how many."""
    order = np.empty(max(most, 1), dtype=np.int64)
    found = 0
    start = 0
    edges = len(source)
    while start < edges:
        end = start + 1
        while end < edges and source[end] == source[start]:
            end += 1
        size = end - start
        if size > 1:
            for k in range(size):  # insertion sort by target: stable, so ties keep index order
                edge = start + k
                q = k
                while q > 0 and target[order[q - 1]] > target[edge]:
                    order[q] = order[q - 1]
                    q -= 1
                order[q] = edge
            for k in range(1, size):
                if target[order[k]] == target[order[k - 1]]:
                    out[found] = order[k]
                    found += 1
        start = end
    return found


def _attachment_csr(
    n: int, source: np.ndarray, target: np.ndarray, mean_degree: float
) -> scipy.sparse.csr_array:
    """:func:`edges_to_csr` of a Barabási–Albert graph's edges, without sorting them:
    the same arrays (tested), in O(edges).

    Every edge joins a node to an earlier one (``target < source``) and ``source`` is
    nondecreasing, so row ``i`` is node ``i``'s own distinct targets, sorted (its lower
    neighbours), then the later nodes that picked ``i``, in edge order (its higher
    neighbours, ascending); a repeated edge can only be a node's own repeated target."""
    most = max(1, math.ceil(mean_degree / 2))
    indptr = np.zeros(n + 1, dtype=np.int32)
    indices = np.empty(2 * len(source), dtype=np.int32)
    used = _fill_attachment_csr(source, target, most, indptr, indices)
    if used < len(indices):  # a node's redraws all failed (never seen): fewer entries
        indices = indices[:used].copy()
    return scipy.sparse.csr_array((np.ones(used, dtype=np.int8), indices, indptr), shape=(n, n))


@jit
def _fill_attachment_csr(source, target, most, indptr, indices):
    """Fill ``indptr`` and ``indices`` (see :func:`_attachment_csr`); returns the entries."""
    n = len(indptr) - 1
    edges = len(source)
    first = np.zeros(edges, dtype=np.bool_)  # an edge's (source, target) not seen before
    own = np.zeros(n, dtype=np.int32)  # distinct targets of the node's own edges
    cursor = np.zeros(n, dtype=np.int32)  # later nodes' edges to it, then a write position
    start = 0
    while start < edges:
        end = start + 1
        while end < edges and source[end] == source[start]:
            end += 1
        for k in range(start, end):
            seen = False
            for earlier in range(start, k):
                if target[earlier] == target[k]:
                    seen = True
                    break
            if not seen:  # (no self-loops: every target is an earlier node)
                first[k] = True
                own[source[k]] += 1
                cursor[target[k]] += 1
        start = end
    for i in range(n):
        indptr[i + 1] = indptr[i] + own[i] + cursor[i]
        cursor[i] = indptr[i] + own[i]
    order = np.empty(max(most, 1), dtype=np.int64)
    start = 0
    while start < edges:
        end = start + 1
        while end < edges and source[end] == source[start]:
            end += 1
        size = 0
        for k in range(start, end):  # the node's distinct targets, sorted (insertion)
            if first[k]:
                q = size
                while q > 0 and order[q - 1] > target[k]:
                    order[q] = order[q - 1]
                    q -= 1
                order[q] = target[k]
                size += 1
        row = indptr[source[start]]
        for q in range(size):
            indices[row + q] = order[q]
        start = end
    for k in range(edges):  # later nodes, in edge order: ascending
        if first[k]:
            t = target[k]
            indices[cursor[t]] = source[k]
            cursor[t] += 1
    return indptr[n]


def _slot_values(
    position: np.ndarray, source: np.ndarray, target: np.ndarray | None = None
) -> np.ndarray:
    """Values M[position]: even 2j is ``source[j]``; odd 2j + 1 is ``target[j]``.

    Without ``target`` every odd position must be a seed edge's centre slot (value 0).
    """
    odd = (position & 1).astype(bool)
    value = source[position >> 1]
    value[odd] = 0 if target is None else target[position[odd] >> 1]
    return value


def _repeats(keys: np.ndarray) -> np.ndarray:
    """Indices of the keys equal to an earlier key (each first occurrence is not listed)."""
    order = np.argsort(keys, kind="stable")
    return order[1:][keys[order[1:]] == keys[order[:-1]]]


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for each start s and count c."""
    offsets = np.cumsum(counts) - counts
    return np.repeat(starts - offsets, counts) + np.arange(int(counts.sum()))


def _key(low: np.ndarray, high: np.ndarray, n: int) -> np.ndarray:
    """One int64 per unordered pair: min * n + max."""
    return np.minimum(low, high) * n + np.maximum(low, high)


def _isin_sorted(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Membership of each value in a sorted 1-D array."""
    if not table.size:
        return np.zeros(len(values), dtype=bool)
    where = np.minimum(np.searchsorted(table, values), len(table) - 1)
    return table[where] == values


def _complete_edges(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of ``n`` nodes (for degrees beyond reach: small n only)."""
    low, high = np.triu_indices(n, k=1)
    return low.astype(np.int64), high.astype(np.int64)


def complete_csr(n: int) -> scipy.sparse.csr_array:
    """The complete graph on ``n`` users as :func:`to_csr` would give it, without NetworkX.

    Row ``i`` holds every ``j != i`` in order. At n = 2,000 (4 million edge ends) this
    takes milliseconds where ``nx.complete_graph`` and :func:`to_csr` take over a second.
    """
    others = np.arange(max(n - 1, 0), dtype=np.int32)
    # In row i, column position j is user j below the diagonal and user j + 1 from it on.
    columns = others[None, :] + (others[None, :] >= np.arange(n, dtype=np.int32)[:, None])
    indptr = (np.arange(n + 1, dtype=np.int64) * max(n - 1, 0)).astype(np.int32)
    data = np.ones(n * max(n - 1, 0), dtype=np.int8)
    return scipy.sparse.csr_array((data, columns.ravel(), indptr), shape=(n, n))
