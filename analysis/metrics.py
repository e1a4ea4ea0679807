"""Structure metrics over the undirected simple view: igraph for the work, networkx as the reference.

Every function takes the ``igraph.Graph`` of a :class:`analysis.graph_view.GraphView` (undirected,
no self-loops, no parallel edges). Where the exact answer costs O(n m) (betweenness, average
shortest path) the functions sample source nodes with an explicit seed and say how many.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import igraph as ig
import numpy as np

__all__ = [
    "BETWEENNESS_BUDGET",
    "PATH_BUDGET",
    "Betweenness",
    "Components",
    "PathLengths",
    "articulation_points",
    "auto_sources",
    "average_shortest_path",
    "betweenness",
    "bridge_splits",
    "bridges",
    "clustering",
    "components",
    "degree_assortativity",
    "degree_histogram",
    "hoeffding_bound",
    "pagerank",
]

# One sampled source costs about m edge visits; these budgets keep each sampled step well under a
# second on one core for graphs the size of BioGraph (igraph: ~15M visits/s in Brandes' algorithm,
# BFS with distances about as fast), and the floors (64 and 32 sources) bound the error above 1M edges.
BETWEENNESS_BUDGET = 12_000_000
PATH_BUDGET = 5_000_000


@dataclass(frozen=True)
class Betweenness:
    """Normalised betweenness of every node, exact or estimated from sampled sources.

    Attributes
    ----------
    values : list of float
        Betweenness normalised as networkx does for undirected graphs (divided by (n-1)(n-2)/2).
    exact : bool
    sources : int
        Source nodes used (n when exact).
    seed : int
    error_bound : float
        With probability 0.95, ``|estimate - exact| <= error_bound`` for each node (Hoeffding);
        0 when exact.
    """

    values: list[float]
    exact: bool
    sources: int
    seed: int
    error_bound: float


@dataclass(frozen=True)
class PathLengths:
    """Average shortest-path length over reachable pairs, exact or from sampled sources.

    Attributes
    ----------
    average : float or None
        Mean distance over ordered pairs (s, t), s != t, t reachable from s; None if there are none.
    exact : bool
    sources : int
        Source nodes used (n when exact).
    seed : int
    pairs : int
        Reachable pairs the mean is over.
    max_distance : int
        Longest distance seen: the diameter (of the largest-diameter component) when exact, a
        lower bound on it when sampled.
    standard_error : float or None
        Standard error of the mean from the spread of per-source means (sampled only).
    """

    average: float | None
    exact: bool
    sources: int
    seed: int
    pairs: int
    max_distance: int
    standard_error: float | None


@dataclass(frozen=True)
class Components:
    """Connected components.

    Attributes
    ----------
    membership : list of int
        Component of each node; 0 is the largest.
    sizes : list of int
        Sizes, largest first.
    """

    membership: list[int]
    sizes: list[int]

    @property
    def count(self) -> int:
        """Number of components (isolated nodes included)."""
        return len(self.sizes)

    @property
    def largest_share(self) -> float:
        """Fraction of the nodes in the largest component (0 for an empty graph)."""
        total = sum(self.sizes)
        return self.sizes[0] / total if total else 0.0


def auto_sources(n: int, m: int, budget: int, low: int, high: int) -> int:
    """Sources to sample so that ``sources * m`` stays near ``budget``: clamp(budget // m, low, high), at most n.

    Examples
    --------
    >>> auto_sources(34, 78, 20_000_000, 64, 4096)  # small graph: every node, i.e. exact
    34
    >>> auto_sources(200_000, 1_000_000, 20_000_000, 64, 4096)
    64
    """
    return min(n, max(low, min(high, budget // max(m, 1))))


def hoeffding_bound(sources: int, n: int, confidence: float = 0.95) -> float:
    """Half-width of a ``confidence`` interval for one node's sampled normalised betweenness.

    Notes
    -----
    The estimate is the mean over k sampled sources of X_s = n delta_s(v) / ((n-1)(n-2)), each in
    [0, n/(n-1)]; Hoeffding's inequality (valid for sampling without replacement too) gives
    P(|estimate - exact| >= eps) <= 2 exp(-2 k eps^2 / R^2), R = n/(n-1). A per-node bound, loose by
    design: observed errors are an order of magnitude smaller (tests/unit/test_analysis_metrics.py).
    """
    if sources >= n or n < 3:
        return 0.0
    spread = n / (n - 1)
    return spread * math.sqrt(math.log(2 / (1 - confidence)) / (2 * sources))


def pagerank(graph: ig.Graph, damping: float = 0.85) -> list[float]:
    """PageRank of each node (undirected: each edge is a link both ways); sums to 1.

    Notes
    -----
    igraph's PRPACK solver, exact to machine precision; agrees with ``networkx.pagerank`` (tol
    1e-12) within 1e-9. Isolated nodes are dangling and redistribute uniformly, as in networkx.
    O(m) per power step; 0.5 s at 1M edges.
    """
    if graph.vcount() == 0:
        return []
    return list(graph.pagerank(directed=False, damping=damping))


def betweenness(graph: ig.Graph, sources: int | None = None, seed: int = 0) -> Betweenness:
    """Normalised betweenness centrality, exact or estimated from uniformly sampled sources.

    Parameters
    ----------
    graph : igraph.Graph
        Undirected simple graph.
    sources : int, optional
        Source nodes to sample; exact when ``sources >= n``. Default: ``auto_sources(n, m,
        BETWEENNESS_BUDGET, 64, 4096)``: exact up to about 3,000 nodes at BioGraph's density, 765
        sources on BioGraph, 120 at 100k edges, 64 from 190k edges up.
    seed : int
        Seed of the source sample.

    Returns
    -------
    Betweenness

    Notes
    -----
    Brandes' algorithm from k sources (Brandes & Pich 2007): O(k m) time, O(n + m) memory; the
    sum of the k single-source dependencies scaled by n/k is an unbiased estimate of the exact
    betweenness, exact when k = n (igraph's ``betweenness(sources=...)``). Exact betweenness is
    O(n m): 10.5 s on BioGraph (12k nodes), hours at 1M edges; 64 sources at 1M edges take 4 s.
    """
    n = graph.vcount()
    k = auto_sources(n, graph.ecount(), BETWEENNESS_BUDGET, 64, 4096) if sources is None else sources
    if n < 3:
        return Betweenness(values=[0.0] * n, exact=True, sources=n, seed=seed, error_bound=0.0)
    exact = k >= n
    if exact:
        raw = graph.betweenness(directed=False)
        k = n
    else:
        sample = random.Random(seed).sample(range(n), k)
        raw = graph.betweenness(directed=False, sources=sample)
    scale = (n / k) / ((n - 1) * (n - 2) / 2)
    return Betweenness(values=[b * scale for b in raw], exact=exact, sources=k, seed=seed,
                       error_bound=hoeffding_bound(k, n))


def average_shortest_path(graph: ig.Graph, sources: int | None = None, seed: int = 0) -> PathLengths:
    """Average shortest-path length over reachable pairs, exact or from uniformly sampled sources.

    Parameters
    ----------
    graph : igraph.Graph
        Undirected simple graph (disconnected allowed: only reachable pairs count).
    sources : int, optional
        Source nodes to sample; exact when ``sources >= n``. Default: ``auto_sources(n, m,
        PATH_BUDGET, 32, 1024)``: 318 sources on BioGraph, 50 at 100k edges, 32 at 1M.
    seed : int
        Seed of the source sample.

    Returns
    -------
    PathLengths

    Notes
    -----
    One BFS per source: O(k m) time; distances are read 8 sources at a time, so memory is O(8 n).
    Uniform sources make the pooled mean a ratio estimate of the mean over all reachable ordered
    pairs, the quantity networkx's ``average_shortest_path_length`` gives for a connected graph.
    Exact (all n sources) is O(n m): 6 s on BioGraph with ``path_length_hist``.
    """
    n = graph.vcount()
    k = auto_sources(n, graph.ecount(), PATH_BUDGET, 32, 1024) if sources is None else sources
    exact = k >= n
    chosen = list(range(n)) if exact else random.Random(seed).sample(range(n), k)
    total = 0.0
    pairs = 0
    longest = 0
    per_source: list[float] = []
    for start in range(0, len(chosen), 8):
        block = np.asarray(graph.distances(source=chosen[start:start + 8]), dtype=float)
        block[~np.isfinite(block)] = 0.0
        sums = block.sum(axis=1)
        counts = np.count_nonzero(block, axis=1)
        total += float(sums.sum())
        pairs += int(counts.sum())
        if block.size:
            longest = max(longest, int(block.max()))
        per_source.extend(float(s / c) for s, c in zip(sums, counts, strict=True) if c)
    average = total / pairs if pairs else None
    error = None
    if not exact and len(per_source) > 1:
        error = float(np.std(per_source, ddof=1) / math.sqrt(len(per_source)))
    return PathLengths(average=average, exact=exact, sources=len(chosen), seed=seed, pairs=pairs,
                       max_distance=longest, standard_error=error)


def components(graph: ig.Graph) -> Components:
    """Connected components, numbered by decreasing size.

    Notes
    -----
    O(n + m) (igraph BFS).
    """
    raw = graph.connected_components().membership
    size = Counter(raw)
    order = sorted(size, key=lambda c: (-size[c], c))
    new_id = {c: i for i, c in enumerate(order)}
    return Components(membership=[new_id[c] for c in raw], sizes=[size[c] for c in order])


def bridges(graph: ig.Graph) -> list[int]:
    """Ids of the bridge edges: those whose removal disconnects their endpoints.

    Notes
    -----
    Tarjan's DFS, O(n + m). Matches ``networkx.bridges`` (known answer: the barbell graph's path).
    """
    return list(graph.bridges())


def bridge_splits(graph: ig.Graph, bridge_ids: Sequence[int]) -> list[int]:
    """For each bridge, how many nodes its removal cuts off (the smaller side).

    Parameters
    ----------
    graph : igraph.Graph
    bridge_ids : sequence of int
        Bridge edge ids, from :func:`bridges`.

    Returns
    -------
    list of int
        Nodes on the smaller side of each bridge, in the order of ``bridge_ids``.

    Notes
    -----
    Removing all bridges leaves the 2-edge-connected components; with the bridges between them
    they form a forest (the bridge tree). One pass over each tree gives every subtree's node count,
    and a bridge splits its tree into a subtree and the rest. O(n + m).
    """
    if not bridge_ids:
        return []
    pruned = graph.copy()
    pruned.delete_edges(bridge_ids)
    comp = pruned.connected_components().membership
    weight = Counter(comp)
    ends = [edge.tuple for edge in graph.es.select(list(bridge_ids))]
    adjacency: dict[int, list[tuple[int, int]]] = {}
    for index, (u, v) in enumerate(ends):
        a, b = comp[u], comp[v]
        adjacency.setdefault(a, []).append((b, index))
        adjacency.setdefault(b, []).append((a, index))
    child_of_bridge = [0] * len(bridge_ids)
    subtree: dict[int, int] = {}
    tree_total: dict[int, int] = {}
    seen: set[int] = set()
    for root in adjacency:
        if root in seen:
            continue
        order, parent_bridge = [root], {root: -1}
        seen.add(root)
        for node in order:  # BFS; the list grows while it is walked
            for other, index in adjacency[node]:
                if other not in seen:
                    seen.add(other)
                    parent_bridge[other] = index
                    child_of_bridge[index] = other
                    order.append(other)
        for node in reversed(order):
            subtree[node] = subtree.get(node, 0) + weight[node]
            index = parent_bridge[node]
            if index >= 0:
                u, v = ends[index]
                parent = comp[u] if comp[v] == node else comp[v]
                subtree[parent] = subtree.get(parent, 0) + subtree[node]
        for node in order:
            tree_total[node] = subtree[root]
    return [min(subtree[child_of_bridge[i]], tree_total[child_of_bridge[i]] - subtree[child_of_bridge[i]])
            for i in range(len(bridge_ids))]


def articulation_points(graph: ig.Graph) -> list[int]:
    """Nodes whose removal increases the number of components, in increasing id order.

    Notes
    -----
    Tarjan's DFS, O(n + m). Matches ``networkx.articulation_points``.
    """
    return sorted(graph.articulation_points())


def clustering(graph: ig.Graph) -> tuple[float, float]:
    """Global transitivity and average local clustering coefficient.

    Returns
    -------
    transitivity : float
        3 x triangles / connected triples (``networkx.transitivity``).
    average_clustering : float
        Mean local clustering, nodes of degree < 2 counting 0 (``networkx.average_clustering``).

    Notes
    -----
    O(m d_max) via triangle listing; 0.2 s at 1M edges.
    """
    if graph.vcount() == 0:
        return 0.0, 0.0
    transitivity = graph.transitivity_undirected()
    average = graph.transitivity_avglocal_undirected(mode="zero")
    return (0.0 if math.isnan(transitivity) else float(transitivity),
            0.0 if math.isnan(average) else float(average))


def degree_assortativity(graph: ig.Graph) -> float | None:
    """Degree assortativity (Pearson correlation of the degrees at either end of an edge).

    Returns
    -------
    float or None
        None where it is undefined (no edges, or every edge joins nodes of equal degree).

    Notes
    -----
    O(m). Equals ``networkx.degree_assortativity_coefficient`` on the same (loop-free) graph.
    """
    if graph.ecount() == 0:
        return None
    value = graph.assortativity_degree(directed=False)
    return None if value is None or math.isnan(value) else float(value)


def degree_histogram(degrees: Sequence[int]) -> list[tuple[int, int]]:
    """(degree, number of nodes) for every degree that occurs, ascending.

    Examples
    --------
    >>> degree_histogram([1, 3, 1, 0])
    [(0, 1), (1, 2), (3, 1)]
    """
    return sorted(Counter(degrees).items())
