"""The structure view that every analysis function reads: an undirected simple igraph graph.

A knowledge graph is a directed multigraph (several typed relations between two entities, in either
direction, sometimes from an entity to itself). Structure metrics are about who is connected to whom,
so the view collapses it: one undirected edge per connected pair, self-loops set aside and counted
per node (a self-loop adds 2 to a node's degree, as in networkx and in the published BioGraph
figures, but takes no part in paths, centralities, clustering or communities). Node order is the
snapshot's (or file's) order, so results index back to entity ids and names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

import igraph as ig
import networkx as nx

from kgweave.graph_store.models import GraphSnapshot

__all__ = [
    "GraphView",
    "GraphViewError",
    "igraph_threads",
    "view_from_edges",
    "view_from_graphml",
    "view_from_networkx",
    "view_from_snapshot",
]

_NAME_ATTRS = ("name", "title", "label")  # the same order as graph_store.exchange's GraphML import


class GraphViewError(ValueError):
    """The input cannot be turned into a graph view (unreadable file, edge to an unknown node)."""


@dataclass(frozen=True, eq=False)
class GraphView:
    """An undirected simple graph over the entities, with what collapsing it set aside.

    Attributes
    ----------
    graph : igraph.Graph
        Undirected, no self-loops, no parallel edges; vertex ``i`` is node ``ids[i]``.
    ids, names : tuple of str
        Entity id and display name of each vertex.
    self_loops : tuple of int
        1 where the node has a self-loop in the input, else 0.
    input_edges : int
        Edges (relations) in the input before collapsing, self-loops and parallel edges included.
    source : str
        Where the graph came from (store URL, file path, or a short description).
    """

    graph: ig.Graph
    ids: tuple[str, ...]
    names: tuple[str, ...]
    self_loops: tuple[int, ...]
    input_edges: int
    source: str

    @property
    def nodes(self) -> int:
        """Number of nodes."""
        return self.graph.vcount()

    @property
    def edges(self) -> int:
        """Distinct undirected node pairs, self-loops included (what ``networkx.Graph`` counts)."""
        return self.graph.ecount() + sum(self.self_loops)

    def degrees(self) -> list[int]:
        """Degree of each node in the collapsed graph, a self-loop counting 2 (networkx convention)."""
        return [d + 2 * loop for d, loop in zip(self.graph.degree(), self.self_loops, strict=True)]


def view_from_edges(
    ids: Sequence[str],
    edges: Iterable[tuple[int, int]],
    names: Sequence[str] | None = None,
    source: str = "edge list",
) -> GraphView:
    """Build the view from node ids and an edge list of vertex indices (any direction, any multiplicity).

    Parameters
    ----------
    ids : sequence of str
        Node ids; vertex ``i`` is ``ids[i]``. Must be distinct.
    edges : iterable of (int, int)
        Edges as index pairs into ``ids``; direction, repeats and self-loops are allowed.
    names : sequence of str, optional
        Display names (default: the ids).
    source : str
        Recorded in the view for reports.

    Returns
    -------
    GraphView

    Raises
    ------
    GraphViewError
        If ids repeat, names and ids differ in length, or an edge names an index out of range.

    Notes
    -----
    O(n + m) time and memory; collapsing is igraph's ``simplify`` (C), so a 1M-edge list takes about
    a second, most of it in building the Python edge list.
    """
    ids = tuple(ids)
    names = ids if names is None else tuple(names)
    if len(names) != len(ids):
        raise GraphViewError(f"{len(names)} names for {len(ids)} ids")
    if len(set(ids)) != len(ids):
        raise GraphViewError("node ids must be distinct")
    edge_list = edges if isinstance(edges, list) else list(edges)
    n = len(ids)
    try:
        graph = ig.Graph(n=n, edges=edge_list, directed=False)
    except (ig.InternalError, ValueError, TypeError) as exc:
        raise GraphViewError(f"bad edge list for {n} nodes: {exc}") from exc
    if graph.vcount() != n:  # igraph silently adds vertices for indices >= n
        raise GraphViewError(f"an edge refers to a vertex index >= {n}")
    loops = [0] * n
    for u, v in edge_list:
        if u == v:
            loops[u] = 1
    input_edges = graph.ecount()
    graph.simplify(multiple=True, loops=True)
    return GraphView(graph=graph, ids=ids, names=names, self_loops=tuple(loops),
                     input_edges=input_edges, source=source)


def view_from_snapshot(snapshot: GraphSnapshot, source: str = "snapshot") -> GraphView:
    """Build the view from a store snapshot (entity ids, names; relations in either direction).

    Raises
    ------
    GraphViewError
        If an edge refers to a node that the snapshot does not contain.

    Notes
    -----
    O(n + m). Edge direction, relation type and support are dropped: the view is about structure.
    """
    ids = [node.id for node in snapshot.nodes]
    index = {node_id: i for i, node_id in enumerate(ids)}
    try:
        edges = [(index[e.source], index[e.target]) for e in snapshot.edges]
    except KeyError as exc:
        raise GraphViewError(f"edge refers to unknown node {exc.args[0]!r}") from exc
    return view_from_edges(ids, edges, names=[node.name for node in snapshot.nodes], source=source)


def view_from_networkx(graph: nx.Graph, source: str = "networkx graph") -> GraphView:
    """Build the view from any networkx graph; node names from ``name``/``title``/``label``, else the node.

    Notes
    -----
    O(n + m). Node ids are ``str(node)``.
    """
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    names = []
    for node in nodes:
        attrs = graph.nodes[node]
        names.append(next((str(attrs[a]).strip() for a in _NAME_ATTRS if str(attrs.get(a, "")).strip()),
                          str(node)))
    edges = [(index[u], index[v]) for u, v in graph.edges()]
    return view_from_edges([str(node) for node in nodes], edges, names=names, source=source)


def view_from_graphml(path: str | Path) -> GraphView:
    """Read a GraphML file (directed or not, multigraph or not) into the view.

    Node ids are the file's node ids; names come from the ``name``, ``title`` or ``label`` attribute
    when present (as ``kgweave import`` names entities), else the node id.

    Raises
    ------
    GraphViewError
        If the file is missing or is not readable GraphML.

    Notes
    -----
    O(n + m); parsing (networkx's reader) dominates: about 1 s for the 12k-node BioGraph.
    """
    path = Path(path)
    try:
        graph = nx.read_graphml(path)
    except (OSError, ParseError, nx.NetworkXError, KeyError, ValueError) as exc:
        raise GraphViewError(f"{path} is not readable GraphML: {exc}") from exc
    return view_from_networkx(graph, source=str(path))


@contextmanager
def igraph_threads(threads: int = 1) -> Iterator[int | None]:
    """Limit the OpenMP threads igraph may use (its PageRank is OpenMP-parallel) inside the block.

    Parameters
    ----------
    threads : int
        Threads to allow (default 1).

    Yields
    ------
    int or None
        The limit applied; None when the user set ``OMP_NUM_THREADS``, which then wins.

    Notes
    -----
    A second OpenMP thread gives igraph nothing here and costs a lot whenever the cores are busy:
    PageRank on a 2k-node graph took 2 ms with one thread and 40 ms with two while another process
    kept a core busy (108x slower in MEASURED.md), and on a 1M-edge graph one thread was as fast as
    two (0.46-0.71 s vs 1.0-1.4 s). ``OMP_NUM_THREADS`` only works when set before igraph is loaded;
    this sets the limit at run time through threadpoolctl and restores it afterwards.
    """
    if os.environ.get("OMP_NUM_THREADS"):
        yield None
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="openmp"):
        yield threads
