"""Shortest paths between two concepts, with relation labels (Buehler's copper -> ... -> silk)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import networkx as nx
from pydantic import BaseModel, ConfigDict

from kgweave.graph_store.ids import normalize_name
from kgweave.graph_store.models import GraphSnapshot

__all__ = [
    "NoPathError",
    "PathResult",
    "PathStep",
    "UnknownNameError",
    "path_graph_from_graphml",
    "path_graph_from_snapshot",
    "path_steps",
    "shortest_path",
]

_EDGE_LABELS = ("type", "title", "label", "relation")
# (names) -> (n, d) L2-normalised vectors; e.g. agents.embeddings.MiniLMEmbedder().embed
EmbedFn = Callable[[Sequence[str]], object]


class UnknownNameError(ValueError):
    """No node matches the name; ``suggestions`` holds the closest names."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f" (closest: {', '.join(suggestions)})" if suggestions else ""
        super().__init__(f"no entity named {name!r}{hint}")
        self.suggestions = suggestions


class NoPathError(ValueError):
    """The two nodes are in different components."""


class PathStep(BaseModel):
    """One hop: ``source -[relation]-> target`` (``forward`` False: the stored edge points back)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    relation: str
    target: str
    forward: bool


class PathResult(BaseModel):
    """A shortest path between two matched nodes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    target: str
    matched_by: dict[str, str]
    length: int
    nodes: list[str]
    steps: list[PathStep]

    def text(self) -> str:
        """``copper --[SUCH_AS]--> nanoparticles --[INTERACT]--> cells ...``."""
        parts = [self.nodes[0]]
        for step in self.steps:
            arrow = f"--[{step.relation}]-->" if step.forward else f"<--[{step.relation}]--"
            parts += [arrow, step.target]
        return " ".join(parts)


def path_graph_from_snapshot(snapshot: GraphSnapshot) -> nx.MultiGraph:
    """Undirected multigraph of a store snapshot: node ``name``; edge ``relation``, ``tail``."""
    graph = nx.MultiGraph()
    for node in snapshot.nodes:
        graph.add_node(node.id, name=node.name)
    for edge in snapshot.edges:
        graph.add_edge(edge.source, edge.target, relation=edge.type, tail=edge.source)
    return graph


def path_graph_from_graphml(path: str | Path) -> nx.MultiGraph:
    """The same from a GraphML file, in file order (node name: ``name`` attribute, else the node id).

    Edges of an undirected file have no tail: every step along them reads forward.
    """
    source = nx.read_graphml(path)
    graph = nx.MultiGraph()
    for node, attrs in source.nodes(data=True):
        graph.add_node(node, name=str(attrs.get("name") or node))
    directed = source.is_directed()
    for tail, head, attrs in source.edges(data=True):
        relation = next((str(attrs[k]) for k in _EDGE_LABELS if attrs.get(k)), "RELATED_TO")
        graph.add_edge(tail, head, relation=relation, tail=tail if directed else None)
    return graph


def _match(graph: nx.MultiGraph, query: str, embed: EmbedFn | None,
           stored: Mapping[str, object] | None = None) -> tuple[str, str]:
    wanted = normalize_name(query)
    names = {node: str(data["name"]) for node, data in graph.nodes(data=True)}
    exact = sorted((node for node, name in names.items() if normalize_name(name) == wanted),
                   key=lambda node: -graph.degree(node))
    if exact:
        return exact[0], "exact"
    if embed is not None and names:
        import numpy as np

        nodes = list(names)
        stored = stored or {}
        missing = [n for n in nodes if n not in stored]
        fresh = dict(zip(missing, np.asarray(embed([names[n] for n in missing])), strict=True)) if missing else {}
        vectors = np.stack([np.asarray(stored[n] if n in stored else fresh[n], dtype=np.float32) for n in nodes])
        query_vector = np.asarray(embed([query]), dtype=np.float32)[0]
        best = int(np.argmax(vectors @ query_vector))
        return nodes[best], f"embedding (cosine {float(vectors[best] @ query_vector):.2f})"
    raise UnknownNameError(query, difflib.get_close_matches(query, list(names.values()), n=3, cutoff=0.6))


def shortest_path(graph: nx.MultiGraph, source: str, target: str, embed: EmbedFn | None = None,
                  vectors: Mapping[str, object] | None = None) -> PathResult:
    """The shortest path between the nodes named ``source`` and ``target``.

    Names match exactly after normalisation (case, punctuation, plural), the best-connected node
    first; otherwise, given ``embed``, the most similar node by cosine. ``vectors`` (node id ->
    unit vector of the same model, e.g. those ``kgweave embed`` stored) stand for the nodes they
    cover; the other nodes' names are embedded. Edges are followed in either direction and each step
    says which way the stored relation points.

    Raises
    ------
    UnknownNameError
        A name matches no node (and no ``embed`` was given).
    NoPathError
        The nodes are in different components.

    Notes
    -----
    Breadth-first search, O(V + E); an embedding match adds one pass over all names.
    """
    a, how_a = _match(graph, source, embed, vectors)
    b, how_b = _match(graph, target, embed, vectors)
    try:
        nodes = nx.shortest_path(graph, a, b)
    except nx.NetworkXNoPath as exc:
        raise NoPathError(f"no path between {source!r} and {target!r}: they are in different components") from exc
    name = nx.get_node_attributes(graph, "name")
    steps = path_steps(graph, nodes)
    return PathResult(source=name[a], target=name[b], matched_by={source: how_a, target: how_b},
                      length=len(nodes) - 1, nodes=[name[n] for n in nodes], steps=steps)


def path_steps(graph: nx.MultiGraph, nodes: Sequence[str]) -> list[PathStep]:
    """The steps along ``nodes`` (consecutive nodes joined in ``graph``), named by the nodes' ``name``.

    Between two nodes joined by several edges, a forward edge wins, then the first relation label.
    """
    name = nx.get_node_attributes(graph, "name")
    steps = []
    for u, v in zip(nodes, nodes[1:], strict=False):
        data = min(graph.get_edge_data(u, v).values(), key=lambda d: (d["tail"] not in (u, None), d["relation"]))
        steps.append(PathStep(source=name[u], relation=data["relation"], target=name[v],
                              forward=data["tail"] in (u, None)))
    return steps
