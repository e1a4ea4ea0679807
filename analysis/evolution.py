"""A graph grown one delta at a time, and its structure measured after every step (agentic expansion).

:class:`EvolvingGraph` keeps the undirected simple view of a growing knowledge graph in memory: an
``igraph.Graph`` extended in place, per-node name/label/birth/focus counts, a union-find for the
components and a community membership that is re-optimised every few steps and extended to new
nodes in between. Nothing here is recomputed over the whole graph per step except what igraph does
in C in O(n + m); everything quadratic is sampled with a stated sample size and an explicit seed.

:func:`measure` turns the graph into one :class:`IterationMetrics` (the power-law fit is
:func:`kgweave.analysis.powerlaw_fit.alpha_from_degrees`); ``analysis/report_files.py`` draws the
evolution of a run from its records.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import igraph as ig
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from kgweave.analysis.communities import detect_communities
from kgweave.analysis.powerlaw_fit import MIN_POWER_LAW_NODES, alpha_from_degrees
from kgweave.graph_store.ids import normalize_name

__all__ = [
    "COMMUNITY_EVERY",
    "SMALL_EDGES",
    "EvolvingGraph",
    "IterationMetrics",
    "MetricOptions",
    "NamedDegree",
    "NamedScore",
    "measure",
    "step_seed",
]

COMMUNITY_EVERY = 10
# Below this many edges Leiden from scratch takes a few ms, so communities are re-optimised every step.
SMALL_EDGES = 20_000
LEIDEN_TWO_PASSES_MAX_EDGES = 100_000


def step_seed(seed: int, iteration: int, purpose: str) -> int:
    """A seed for one purpose at one iteration, independent of what ran before (resume-safe)."""
    return random.Random(f"{seed}:{iteration}:{purpose}").getrandbits(31)


class MetricOptions(BaseModel):
    """How much sampling the per-iteration metrics do; all seeded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=0, description="Seed of every sample and of Leiden.")
    top: int = Field(default=5, ge=1, le=50, description="Hubs and bridges listed per iteration.")
    betweenness_sources: int = Field(default=8, ge=1, description="Sampled sources of betweenness (exact if >= n).")
    path_sources: int = Field(default=4, ge=1, description="Sampled BFS sources of the average shortest path.")
    clustering_sample: int = Field(default=256, ge=1, description="Nodes whose local clustering is averaged.")
    community_every: int = Field(
        default=COMMUNITY_EVERY, ge=1,
        description=f"Re-run Leiden from scratch every this many iterations (every iteration below "
                    f"{SMALL_EDGES} edges); in between new nodes join their neighbours' community.")


class NamedDegree(BaseModel):
    """A hub: a node and its degree."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    degree: int


class NamedScore(BaseModel):
    """A bridge: a node, its sampled betweenness and how many communities it touches."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    betweenness: float
    communities: int


class IterationMetrics(BaseModel):
    """The structure of the graph after one iteration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nodes: int
    edges: int = Field(description="Connected node pairs (the undirected simple view).")
    relations: int = Field(description="Typed, directed relations.")
    new_nodes: int
    new_edges: int
    modularity: float | None
    communities: int
    communities_refreshed: bool = Field(description="Leiden ran from scratch at this iteration.")
    top_hubs: list[NamedDegree]
    top_bridges: list[NamedScore]
    power_law_alpha: float | None = Field(description=f"Discrete MLE over the fitted tail; None below "
                                                      f"{MIN_POWER_LAW_NODES} nodes.")
    power_law_xmin: int | None
    average_shortest_path: float | None = Field(description="Mean BFS distance from sampled sources.")
    path_sources: int
    clustering: float = Field(description="Mean local clustering of sampled nodes (degree < 2 counts 0).")
    clustering_sample: int
    transitivity: float
    largest_component_share: float
    components: int


@dataclass
class _UnionFind:
    parent: list[int] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    largest: int = 0
    count: int = 0

    def add(self) -> None:
        self.parent.append(len(self.parent))
        self.size.append(1)
        self.largest = max(self.largest, 1)
        self.count += 1

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        self.largest = max(self.largest, self.size[ra])
        self.count -= 1


class EvolvingGraph:
    """The undirected simple graph of an expansion run, grown in place by :meth:`add`.

    Vertex ``i`` is entity ``ids[i]``; vertices are numbered in the order they arrive, so the
    numbering (and every tie broken by it) is the same whenever the same deltas are added in the
    same order, e.g. after a resume that replays a run's recorded iterations.
    """

    def __init__(self) -> None:
        self.graph = ig.Graph(directed=False)
        self.ids: list[str] = []
        self.names: list[str] = []
        self.labels: list[str] = []
        self.born: list[int] = []
        self.focus_count: list[int] = []
        self.index: dict[str, int] = {}
        self.by_key: dict[str, int] = {}
        self.relation_ids: set[str] = set()
        self.pair_relation: dict[tuple[int, int], tuple[int, str, int]] = {}
        self.membership: list[int] = []
        self.community_count = 0
        self._next_community = 0
        self._components = _UnionFind()
        self._frontier: list[tuple[int, int, int]] = []
        self._structure_key: tuple[int, int, int] | None = None
        self._betweenness = np.zeros(0)

    @property
    def nodes(self) -> int:
        return len(self.ids)

    @property
    def edges(self) -> int:
        return len(self.pair_relation)

    def lookup(self, name: str) -> int | None:
        """The vertex whose normalised name equals ``name``'s (the first one that arrived), or None."""
        return self.by_key.get(normalize_name(name))

    def add(
        self,
        nodes: Iterable[tuple[str, str, str]],
        relations: Iterable[tuple[str, str, str, str]],
        iteration: int,
    ) -> tuple[int, int]:
        """Add nodes ``(id, name, label)`` and relations ``(id, source id, type, target id)``.

        Known ids are ignored; a relation's ends must be known (or among ``nodes``). Returns the
        numbers of new nodes and of new connected pairs. O(delta) in Python plus one igraph
        ``add_edges`` (O(n + m) in C).
        """
        first_new = len(self.ids)
        for node_id, name, label in nodes:
            if node_id in self.index:
                continue
            i = len(self.ids)
            self.index[node_id] = i
            self.ids.append(node_id)
            self.names.append(name)
            self.labels.append(label)
            self.born.append(iteration)
            self.focus_count.append(0)
            self.membership.append(-1)
            self.by_key.setdefault(normalize_name(name), i)
            self._components.add()
            heapq.heappush(self._frontier, (0, -iteration, -i))
        new_vertices = len(self.ids) - first_new
        if new_vertices:
            self.graph.add_vertices(new_vertices)
        new_pairs: list[tuple[int, int]] = []
        for rel_id, source, rel_type, target in relations:
            if rel_id in self.relation_ids:
                continue
            self.relation_ids.add(rel_id)
            u, v = self.index[source], self.index[target]
            if u == v:
                continue
            pair = (u, v) if u < v else (v, u)
            if pair not in self.pair_relation:
                self.pair_relation[pair] = (u, rel_type, v)
                new_pairs.append(pair)
                self._components.union(u, v)
        if new_pairs:
            self.graph.add_edges(new_pairs)
        self._extend_membership(first_new)
        return new_vertices, len(new_pairs)

    def mark_focused(self, vertices: Sequence[int]) -> None:
        """Count one more exploration of each vertex (frontier and hub policies prefer the least explored)."""
        for v in vertices:
            self.focus_count[v] += 1
            heapq.heappush(self._frontier, (self.focus_count[v], -self.born[v], -v))

    def least_explored(self) -> int:
        """The least-explored vertex, newest first among equals (then the highest index). O(log n) amortised."""
        heap = self._frontier
        while heap:
            count, neg_born, neg_v = heap[0]
            if count == self.focus_count[-neg_v]:
                return -neg_v
            heapq.heappop(heap)  # stale: the vertex was focused since this entry was pushed
        raise ValueError("the graph has no nodes")

    # -- structure -------------------------------------------------------------------------------

    def refresh_communities(self, seed: int) -> None:
        """Leiden (modularity) from scratch, seeded: 2 iterations up to ``LEIDEN_TWO_PASSES_MAX_EDGES``
        edges, 1 above (0.4 s instead of 0.6 s at 200k edges). O(m) per Leiden iteration."""
        passes = 2 if self.graph.ecount() <= LEIDEN_TWO_PASSES_MAX_EDGES else 1
        partition = detect_communities(self.graph, "leiden", seed=seed, n_iterations=passes)
        self.membership = list(partition.membership)
        self.community_count = partition.count
        self._next_community = partition.count

    def _extend_membership(self, first_new: int) -> None:
        """New vertices join the most common community among their neighbours (else a new one)."""
        for v in range(first_new, len(self.ids)):
            seen = Counter(self.membership[u] for u in self.graph.neighbors(v) if self.membership[u] >= 0)
            if seen:
                self.membership[v] = min(seen, key=lambda c: (-seen[c], c))
            else:
                self.membership[v] = self._next_community
                self._next_community += 1
                self.community_count += 1

    def modularity(self) -> float | None:
        """Newman modularity of the current membership; None without edges. O(m) in C."""
        if self.graph.ecount() == 0:
            return None
        return float(self.graph.modularity(self.membership))

    def betweenness(self, sources: int, seed: int) -> np.ndarray:
        """Sampled betweenness (Brandes from ``sources`` seeded sources; exact when sources >= n).

        Cached per (nodes, edges, seed): the policy and the metrics of one state share one run.
        O(sources * m).
        """
        key = (self.nodes, self.edges, seed)
        if key != self._structure_key:
            n = self.nodes
            if n < 3:
                values = np.zeros(n)
            elif sources >= n:
                values = np.asarray(self.graph.betweenness(directed=False), dtype=float)
            else:
                sample = random.Random(seed).sample(range(n), sources)
                values = np.asarray(self.graph.betweenness(directed=False, sources=sample), dtype=float)
                values *= n / sources
            self._betweenness, self._structure_key = values, key
        return self._betweenness

    def touched_communities(self, v: int) -> int:
        """Distinct communities among a vertex and its neighbours."""
        return len({self.membership[v], *(self.membership[u] for u in self.graph.neighbors(v))})

    def largest_component_share(self) -> float:
        return self._components.largest / self.nodes if self.nodes else 0.0

    def component_count(self) -> int:
        return self._components.count

    def context(self, focus: Sequence[int], hops: int, limit: int) -> list[tuple[str, str, str]]:
        """Up to ``limit`` relations ``(source name, type, target name)`` within ``hops`` of the focus.

        Breadth first from the focus, neighbours in vertex order (oldest first), so the prompt is a
        deterministic function of the graph. O(limit + visited degrees).
        """
        seen = set(focus)
        frontier = list(focus)
        listed: set[tuple[int, int]] = set()
        out: list[tuple[str, str, str]] = []
        for _ in range(hops):
            following: list[int] = []
            for v in frontier:
                for u in self.graph.neighbors(v):
                    pair = (u, v) if u < v else (v, u)
                    if pair not in listed:
                        listed.add(pair)
                        s, rel_type, t = self.pair_relation[pair]
                        out.append((self.names[s], rel_type, self.names[t]))
                        if len(out) >= limit:
                            return out
                    if u not in seen:
                        seen.add(u)
                        following.append(u)
            frontier = following
        return out


def measure(graph: EvolvingGraph, new_nodes: int, new_edges: int, iteration: int, refreshed: bool,
            options: MetricOptions) -> IterationMetrics:
    """Every per-iteration metric of the graph, sampled where exact would be quadratic.

    Notes
    -----
    Degrees, modularity of the current membership and transitivity: O(n + m) in C. Betweenness:
    ``betweenness_sources`` Brandes passes, O(k m). Average shortest path: ``path_sources`` BFS,
    O(k (n + m)). Local clustering: ``clustering_sample`` nodes. Power law: O(u^2) over the u
    distinct degrees. Components: kept by union-find as edges arrive. At 100k nodes the whole
    call takes a few hundred milliseconds (benchmarks/expansion_overhead.py).
    """
    n = graph.nodes
    g = graph.graph
    degrees = np.asarray(g.degree(), dtype=np.int64)
    top = options.top
    hubs: list[NamedDegree] = []
    bridges: list[NamedScore] = []
    if n:
        order = sorted(_top_indices(degrees, top), key=lambda v: (-degrees[v], v))
        hubs = [NamedDegree(name=graph.names[v], degree=int(degrees[v])) for v in order]
        between = graph.betweenness(options.betweenness_sources, step_seed(options.seed, iteration, "betweenness"))
        scores = np.where(degrees > 1, between, 0.0)
        picked = [v for v in sorted(_top_indices(scores, 4 * top), key=lambda v: (-scores[v], v)) if scores[v] > 0]
        scale = (n - 1) * (n - 2) / 2 if n > 2 else 1.0
        for v in picked:
            touched = graph.touched_communities(v)
            if touched > 1:
                bridges.append(NamedScore(name=graph.names[v], betweenness=round(float(between[v]) / scale, 6),
                                          communities=touched))
            if len(bridges) == top:
                break
    fit = alpha_from_degrees(degrees)
    path, used_sources = _sampled_path_length(g, options.path_sources, step_seed(options.seed, iteration, "paths"))
    sample = list(range(n)) if n <= options.clustering_sample else sorted(
        random.Random(step_seed(options.seed, iteration, "clustering")).sample(range(n), options.clustering_sample))
    local = g.transitivity_local_undirected(vertices=sample, mode="zero") if sample else []
    transitivity = g.transitivity_undirected() if g.ecount() else 0.0
    modularity = graph.modularity()
    return IterationMetrics(
        nodes=n, edges=graph.edges, relations=len(graph.relation_ids), new_nodes=new_nodes, new_edges=new_edges,
        modularity=None if modularity is None else round(modularity, 6), communities=graph.community_count,
        communities_refreshed=refreshed, top_hubs=hubs, top_bridges=bridges,
        power_law_alpha=None if fit is None else round(fit[0], 6), power_law_xmin=None if fit is None else fit[1],
        average_shortest_path=None if path is None else round(path, 6), path_sources=used_sources,
        clustering=round(float(np.mean(local)) if local else 0.0, 6), clustering_sample=len(sample),
        transitivity=round(0.0 if math.isnan(transitivity) else float(transitivity), 6),
        largest_component_share=round(graph.largest_component_share(), 6), components=graph.component_count(),
    )


def _top_indices(values: np.ndarray, k: int) -> list[int]:
    """Indices of the k largest values and of every value tied with the k-th (sort them after). O(n)."""
    n = len(values)
    if n <= k:
        return list(range(n))
    cut = np.partition(values, n - k)[n - k]
    return [int(i) for i in np.flatnonzero(values >= cut)]


def _sampled_path_length(g: ig.Graph, sources: int, seed: int) -> tuple[float | None, int]:
    """Mean distance over reachable pairs from ``sources`` seeded BFS roots. O(sources (n + m))."""
    n = g.vcount()
    if n < 2 or g.ecount() == 0:
        return None, 0
    roots = list(range(n)) if sources >= n else random.Random(seed).sample(range(n), sources)
    total = pairs = 0
    for root in roots:
        _, layers, _ = g.bfs(root)
        for depth in range(1, len(layers) - 1):
            size = layers[depth + 1] - layers[depth]
            total += depth * size
            pairs += size
    return (total / pairs if pairs else None), len(roots)
