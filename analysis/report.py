"""The whole structure analysis of a graph view, as one frozen report plus per-node metrics.

:func:`analyze` runs every step (timed) over a :class:`~analysis.graph_view.GraphView`;
:class:`AnalysisReport` is what ``kgweave analyze --json`` prints and the ``analyze-graph`` flow
returns; :func:`node_metrics_for_write_back` is what goes back into the store as node properties.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from kgweave.analysis.communities import CommunityAlgorithm, Partition, detect_communities
from kgweave.analysis.graph_view import GraphView, igraph_threads
from kgweave.analysis.metrics import (
    Betweenness,
    PathLengths,
    articulation_points,
    average_shortest_path,
    betweenness,
    bridge_splits,
    bridges,
    clustering,
    components,
    degree_assortativity,
    degree_histogram,
    pagerank,
)
from kgweave.analysis.powerlaw_fit import PowerLawFit, fit_power_law

__all__ = [
    "WRITE_BACK_METRICS",
    "AnalysisOptions",
    "AnalysisReport",
    "ArticulationPoint",
    "BridgeEdge",
    "BridgeNode",
    "GraphAnalysis",
    "Hub",
    "analyze",
    "analyze_graph",
    "hub_ranking",
    "hub_scores",
    "node_metrics_for_write_back",
    "write_back_batches",
]

WRITE_BACK_METRICS = ("degree", "pagerank", "betweenness", "community", "hub_score")
T = TypeVar("T")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AnalysisOptions(_Frozen):
    """Everything that decides the result; the same options on the same graph give the same report."""

    seed: int = Field(default=0, description="Seeds community detection and the source samples.")
    community_algorithm: CommunityAlgorithm = "leiden"
    resolution: float = Field(default=1.0, gt=0, description="Modularity resolution gamma.")
    leiden_iterations: int | None = Field(
        default=None, description="Leiden iterations; None: until stable up to 100k edges, else 2.")
    betweenness_sources: int | None = Field(
        default=None, ge=1, description="Sampled sources for betweenness; None: about 1.2e7/m (64-4096); "
                                        "exact when >= nodes.")
    path_sources: int | None = Field(
        default=None, ge=1, description="Sampled sources for the average shortest path; None: about "
                                        "5e6/m (32-1024); exact when >= nodes.")
    top: int = Field(default=10, ge=1, le=1000, description="Length of the top-hub/bridge lists.")
    hubs: int = Field(
        default=25, ge=0, le=10_000,
        description="How many top hubs (ranked as top_hubs) --write-back marks: metric hub_rank, and the :Hub "
                    "label in Neo4j, taken off the entities no longer among them; 0 = none.")
    exact_powerlaw: bool = Field(
        default=False, description="Exact discrete MLE for alpha instead of the closed-form approximation.")


class Hub(_Frozen):
    id: str
    name: str
    degree: int
    pagerank: float
    hub_score: float
    community: int


class BridgeNode(_Frozen):
    """A node on many shortest paths, and the communities it touches."""

    id: str
    name: str
    betweenness: float = Field(description="Normalised betweenness (estimated when sampled).")
    degree: int
    community: int
    community_count: int = Field(description="How many communities the node and its neighbours span.")
    communities: list[int] = Field(description="Those communities (ids as in community_detection).")


class BridgeEdge(_Frozen):
    """An edge whose removal disconnects the graph, and how many nodes it would cut off."""

    source_id: str
    source: str
    target_id: str
    target: str
    separated_nodes: int = Field(description="Nodes on the smaller side once the edge is removed.")


class ArticulationPoint(_Frozen):
    id: str
    name: str
    degree: int
    betweenness: float


class CommunitySummary(_Frozen):
    algorithm: CommunityAlgorithm
    objective: str
    resolution: float
    n_iterations: int
    seed: int
    count: int
    modularity: float
    largest_sizes: list[int] = Field(description="Sizes of the 20 largest communities.")
    singletons: int


class BetweennessSummary(_Frozen):
    exact: bool
    sources: int
    seed: int
    error_bound_95: float = Field(description="Per-node Hoeffding bound on the normalised estimate (0 if exact).")


class PathSummary(_Frozen):
    value: float | None = Field(description="Mean shortest-path length over reachable pairs.")
    exact: bool
    sources: int = Field(description="BFS sources (the sample size; all nodes when exact).")
    seed: int
    pairs: int
    max_distance: int = Field(description="Longest distance seen: the diameter when exact, a lower bound if sampled.")
    standard_error: float | None


class ClusteringSummary(_Frozen):
    transitivity: float = Field(description="3 x triangles / connected triples.")
    average_clustering: float = Field(description="Mean local clustering, degree < 2 counting 0.")


class BridgeSummary(_Frozen):
    count: int
    top: list[BridgeEdge]


class ArticulationSummary(_Frozen):
    count: int
    top: list[ArticulationPoint]


class AnalysisReport(_Frozen):
    """Structure of a graph: what ``kgweave analyze --json`` prints (one object)."""

    source: str
    nodes: int
    edges: int = Field(description="Distinct undirected node pairs, self-loops included (networkx.Graph's count).")
    input_edges: int = Field(description="Edges/relations before collapsing direction and parallel edges.")
    self_loops: int
    average_degree: float
    density: float
    isolated_nodes: int
    components: int
    largest_component_share: float
    component_sizes: list[int] = Field(description="Sizes of the 10 largest components.")
    communities: int
    modularity: float
    community_detection: CommunitySummary
    power_law: PowerLawFit | None
    top_hubs: list[Hub] = Field(description="Highest degree first (ties: PageRank).")
    top_bridges: list[BridgeNode] = Field(description="Highest betweenness first.")
    bridges: BridgeSummary
    articulation_points: ArticulationSummary
    betweenness: BetweennessSummary
    average_shortest_path: PathSummary
    clustering: ClusteringSummary
    assortativity: float | None = Field(description="Degree assortativity; None where undefined.")
    degree_histogram: list[tuple[int, int]] = Field(description="(degree, nodes) pairs, ascending.")
    options: AnalysisOptions
    seconds: dict[str, float] = Field(description="Wall time of each step, and total.")
    engine: dict[str, str] = Field(description="Library versions that produced the numbers.")
    written_nodes: int | None = Field(default=None, description="Nodes given metrics in the store (--write-back).")


@dataclass(frozen=True)
class GraphAnalysis:
    """The report and the per-node values behind it (index i = ``view.ids[i]``)."""

    report: AnalysisReport
    degree: list[int]
    pagerank: list[float]
    betweenness: list[float]
    community: list[int]


def hub_scores(pageranks: list[float]) -> list[float]:
    """PageRank divided by the largest PageRank: 1.0 for the top hub, in (0, 1] for the rest.

    A scale-free size for drawing (Neo4j Bloom/Explore can size nodes by ``hub_score``; Browser GraSS
    cannot style by property values, see deploy/neo4j/README.md), comparable across
    graphs of different sizes, where raw PageRank shrinks as 1/n.

    Examples
    --------
    >>> hub_scores([0.1, 0.4, 0.5])
    [0.2, 0.8, 1.0]
    """
    top = max(pageranks, default=0.0)
    return [p / top if top > 0 else 0.0 for p in pageranks]


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, step: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        result = work()
        self.seconds[step] = round(time.perf_counter() - started, 4)
        return result


@contextmanager
def _total(seconds: dict[str, float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    seconds["total"] = round(time.perf_counter() - started, 4)


def _versions() -> dict[str, str]:
    found = {}
    for package in ("igraph", "powerlaw"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "unknown"
    return found


def analyze(view: GraphView, options: AnalysisOptions | None = None) -> GraphAnalysis:
    """Run the whole analysis over a graph view.

    Parameters
    ----------
    view : GraphView
        The undirected simple view (see :mod:`analysis.graph_view`).
    options : AnalysisOptions, optional
        Seeds, sample sizes, community algorithm; defaults as documented on the model.

    Returns
    -------
    GraphAnalysis
        The report and per-node degree, PageRank, betweenness and community.

    Notes
    -----
    Steps and their cost (n nodes, m edges, k sampled sources): degrees, components, bridges,
    articulation points, assortativity O(n + m); PageRank O(m) per iteration; clustering O(m d_max);
    Leiden O(m) per iteration; betweenness and shortest paths O(k m), exact when k >= n; the
    power-law fit O(u n) for u distinct degrees. igraph runs on one OpenMP thread (see
    :func:`analysis.graph_view.igraph_threads`). Measured (benchmarks/analysis_speed.py, 2-core
    machine, noisy): BioGraph (12k nodes, 16k edges) 1.3 s plus 0.7-1.4 s to parse its GraphML, 20x
    faster than the same steps in networkx; Barabasi-Albert 100k edges 4.9 s (9x; Leiden to
    convergence is 3.9 s of it); 1M edges 12.9 s plus 0.4 s to build the view, peak RSS 414 MB.
    """
    options = options or AnalysisOptions()
    graph = view.graph
    timer = _Timer()
    seconds = timer.seconds
    with _total(seconds), igraph_threads():
        degree = timer.run("degree", view.degrees)
        comps = timer.run("components", lambda: components(graph))
        ranks = timer.run("pagerank", lambda: pagerank(graph))
        partition: Partition = timer.run("communities", lambda: detect_communities(
            graph, algorithm=options.community_algorithm, resolution=options.resolution, seed=options.seed,
            n_iterations=options.leiden_iterations))
        between: Betweenness = timer.run("betweenness", lambda: betweenness(
            graph, sources=options.betweenness_sources, seed=options.seed))
        paths: PathLengths = timer.run("shortest_paths", lambda: average_shortest_path(
            graph, sources=options.path_sources, seed=options.seed))
        bridge_ids = timer.run("bridges", lambda: bridges(graph))
        splits = timer.run("bridge_splits", lambda: bridge_splits(graph, bridge_ids))
        cut_nodes = timer.run("articulation_points", lambda: articulation_points(graph))
        transitivity, average_clustering = timer.run("clustering", lambda: clustering(graph))
        assortativity = timer.run("assortativity", lambda: degree_assortativity(graph))
        law = timer.run("power_law", lambda: fit_power_law(degree, estimate_discrete=not options.exact_powerlaw))
        report = timer.run("report", lambda: _report(
            view, options, degree, comps.sizes, ranks, partition, between, paths, bridge_ids, splits,
            cut_nodes, (transitivity, average_clustering), assortativity, law, seconds))
    report = report.model_copy(update={"seconds": dict(seconds)})
    return GraphAnalysis(report=report, degree=degree, pagerank=ranks, betweenness=between.values,
                         community=list(partition.membership))


def analyze_graph(view: GraphView, options: AnalysisOptions | None = None) -> AnalysisReport:
    """The :class:`AnalysisReport` of :func:`analyze` (see there for parameters and costs)."""
    return analyze(view, options).report


def _report(
    view: GraphView, options: AnalysisOptions, degree: list[int], component_sizes: list[int],
    ranks: list[float], partition: Partition, between: Betweenness, paths: PathLengths,
    bridge_ids: list[int], splits: list[int], cut_nodes: list[int], clust: tuple[float, float],
    assortativity: float | None, law: PowerLawFit | None, seconds: dict[str, float],
) -> AnalysisReport:
    graph, n, top = view.graph, view.nodes, options.top
    member = partition.membership
    scores = hub_scores(ranks)
    hubs = _hub_order(view, degree, ranks)[:top]
    central = sorted((i for i in range(n) if between.values[i] > 0),
                     key=lambda i: (-between.values[i], view.names[i]))[:top]
    ranked_bridges = sorted(zip(splits, bridge_ids, strict=True), key=lambda se: (-se[0], se[1]))[:top]
    bridge_ends = [graph.es[edge_id].tuple for _, edge_id in ranked_bridges]
    ranked_cuts = sorted(cut_nodes, key=lambda i: (-between.values[i], view.names[i]))[:top]
    edges = view.edges
    return AnalysisReport(
        source=view.source, nodes=n, edges=edges, input_edges=view.input_edges, self_loops=sum(view.self_loops),
        average_degree=2 * edges / n if n else 0.0,
        density=2 * edges / (n * (n - 1)) if n > 1 else 0.0,
        isolated_nodes=sum(1 for d in degree if d == 0),
        components=len(component_sizes),
        largest_component_share=component_sizes[0] / n if n else 0.0,
        component_sizes=component_sizes[:10],
        communities=partition.count, modularity=partition.modularity,
        community_detection=CommunitySummary(
            algorithm=partition.algorithm, objective=partition.objective, resolution=partition.resolution,
            n_iterations=partition.n_iterations, seed=partition.seed, count=partition.count,
            modularity=partition.modularity, largest_sizes=list(partition.sizes[:20]),
            singletons=sum(1 for s in partition.sizes if s == 1)),
        power_law=law,
        top_hubs=[Hub(id=view.ids[i], name=view.names[i], degree=degree[i], pagerank=ranks[i],
                      hub_score=scores[i], community=member[i]) for i in hubs],
        top_bridges=[_bridge_node(view, i, between.values[i], degree[i], member) for i in central],
        bridges=BridgeSummary(count=len(bridge_ids), top=[
            BridgeEdge(source_id=view.ids[u], source=view.names[u], target_id=view.ids[v], target=view.names[v],
                       separated_nodes=split)
            for (split, _), (u, v) in zip(ranked_bridges, bridge_ends, strict=True)]),
        articulation_points=ArticulationSummary(count=len(cut_nodes), top=[
            ArticulationPoint(id=view.ids[i], name=view.names[i], degree=degree[i], betweenness=between.values[i])
            for i in ranked_cuts]),
        betweenness=BetweennessSummary(exact=between.exact, sources=between.sources, seed=between.seed,
                                       error_bound_95=between.error_bound),
        average_shortest_path=PathSummary(
            value=paths.average, exact=paths.exact, sources=paths.sources, seed=paths.seed, pairs=paths.pairs,
            max_distance=paths.max_distance, standard_error=paths.standard_error),
        clustering=ClusteringSummary(transitivity=clust[0], average_clustering=clust[1]),
        assortativity=assortativity,
        degree_histogram=degree_histogram(degree),
        options=options, seconds=dict(seconds), engine=_versions(),
    )


def _bridge_node(view: GraphView, i: int, value: float, degree: int, member: tuple[int, ...]) -> BridgeNode:
    touched = sorted({member[i], *(member[j] for j in view.graph.neighbors(i))})
    return BridgeNode(id=view.ids[i], name=view.names[i], betweenness=value, degree=degree, community=member[i],
                      community_count=len(touched), communities=touched)


def _hub_order(view: GraphView, degree: Sequence[int], ranks: Sequence[float]) -> list[int]:
    return sorted(range(view.nodes), key=lambda i: (-degree[i], -ranks[i], view.names[i]))


def hub_ranking(view: GraphView, analysis: GraphAnalysis, count: int) -> list[str]:
    """Ids of the ``count`` top hubs, best first: by degree, then PageRank, then name (as ``top_hubs``).

    Notes
    -----
    O(n log n) for the sort.
    """
    return [view.ids[i] for i in _hub_order(view, analysis.degree, analysis.pagerank)[:count]]


def write_back_batches(
    view: GraphView, analysis: GraphAnalysis, batch_size: int = 10_000
) -> Iterator[dict[str, dict[str, float]]]:
    """:func:`node_metrics_for_write_back` in pieces of ``batch_size`` nodes (memory O(batch))."""
    scores = hub_scores(analysis.pagerank)
    for start in range(0, view.nodes, batch_size):
        yield {
            view.ids[i]: {
                "degree": float(analysis.degree[i]),
                "pagerank": analysis.pagerank[i],
                "betweenness": analysis.betweenness[i],
                "community": float(analysis.community[i]),
                "hub_score": scores[i],
            }
            for i in range(start, min(start + batch_size, view.nodes))
        }


def node_metrics_for_write_back(view: GraphView, analysis: GraphAnalysis) -> dict[str, dict[str, float]]:
    """Per-node metrics for ``GraphStore.write_node_metrics``: {entity id: {metric: value}}.

    Metrics (``WRITE_BACK_METRICS``): ``degree`` (self-loop counts 2), ``pagerank``,
    ``betweenness`` (normalised; estimated when the report says sampled), ``community`` (0 = largest
    community) and ``hub_score`` (:func:`hub_scores`: PageRank / the largest PageRank). Names match
    ``^[a-z][a-z0-9_]{0,63}$`` and none is an entity's own property, so Neo4j keeps them as node
    properties for styling (size by ``hub_score``, colour by ``community``).

    Notes
    -----
    O(n) time and memory (about 0.5 kB per node as Python dicts: use :func:`write_back_batches`
    for large graphs).
    """
    merged: dict[str, dict[str, float]] = {}
    for batch in write_back_batches(view, analysis, batch_size=max(view.nodes, 1)):
        merged.update(batch)
    return merged
