"""What changed between two snapshots of a graph: size, modularity, hubs, communities merged or split."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict

from kgweave.analysis.graph_view import GraphView
from kgweave.analysis.report import AnalysisOptions, GraphAnalysis, analyze
from kgweave.graph_store.ids import normalize_name

__all__ = ["CommunityChange", "GraphComparison", "compare_views"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CommunityChange(_Frozen):
    """Communities of A that became one in B (merged), or one of A spread over several of B (split)."""

    kind: str
    a_communities: list[int]
    b_communities: list[int]
    nodes: int
    examples: list[str]


class GraphComparison(_Frozen):
    """B compared with A (B is the later snapshot)."""

    a: str
    b: str
    nodes: dict[str, int]
    edges: dict[str, int]
    common_nodes: int
    new_nodes: int
    removed_nodes: int
    communities: dict[str, int]
    modularity: dict[str, float]
    power_law_alpha: dict[str, float | None]
    average_shortest_path: dict[str, float | None]
    new_hubs: list[str]
    lost_hubs: list[str]
    merged: list[CommunityChange]
    split: list[CommunityChange]


def _keys(view: GraphView) -> list[str]:
    return [normalize_name(name) for name in view.names]


def _top(view: GraphView, analysis: GraphAnalysis, k: int) -> list[str]:
    order = sorted(range(view.nodes), key=lambda i: (-analysis.pagerank[i], view.names[i]))[:k]
    return [view.names[i] for i in order]


def _changes(
    kind: str, src: dict[str, int], dst: dict[str, int], names: dict[str, str], min_size: int, min_share: float
) -> list[CommunityChange]:
    """Source communities whose common nodes spread over several destination communities."""
    members: dict[int, list[str]] = {}
    for key, community in src.items():
        if key in dst:
            members.setdefault(community, []).append(key)
    changes = []
    for community, keys in sorted(members.items()):
        if len(keys) < min_size:
            continue
        spread = Counter(dst[key] for key in keys)
        parts = sorted(c for c, n in spread.items() if n >= max(2, min_share * len(keys)))
        if len(parts) >= 2:
            examples = sorted(names[k] for k in keys)[:5]
            a, b = ([community], parts) if kind == "split" else (parts, [community])
            changes.append(CommunityChange(kind=kind, a_communities=a, b_communities=b, nodes=len(keys),
                                           examples=examples))
    return changes


def compare_views(
    a: GraphView, b: GraphView, options: AnalysisOptions | None = None, min_size: int = 5, min_share: float = 0.2
) -> GraphComparison:
    """Analyse both snapshots (same options and seed) and describe how B differs from A.

    Nodes are matched by normalised name, so two stores and two GraphML exports compare alike. A
    community of A is *split* when at least two communities of B each hold ``min_share`` (and at
    least 2) of its common nodes; communities of A are *merged* when one community of B is, by the
    same rule, made of several of them. Communities under ``min_size`` common nodes are ignored.

    Notes
    -----
    Two full analyses plus O(V) matching.
    """
    options = options or AnalysisOptions()
    ga, gb = analyze(a, options), analyze(b, options)
    keys_a, keys_b = _keys(a), _keys(b)
    comm_a = dict(zip(keys_a, ga.community, strict=True))
    comm_b = dict(zip(keys_b, gb.community, strict=True))
    names = {**dict(zip(keys_a, a.names, strict=True)), **dict(zip(keys_b, b.names, strict=True))}
    common = set(comm_a) & set(comm_b)
    top_a, top_b = _top(a, ga, options.top), _top(b, gb, options.top)
    ra, rb = ga.report, gb.report
    return GraphComparison(
        a=a.source, b=b.source,
        nodes={"a": a.nodes, "b": b.nodes, "change": b.nodes - a.nodes},
        edges={"a": a.edges, "b": b.edges, "change": b.edges - a.edges},
        common_nodes=len(common), new_nodes=len(set(comm_b) - common), removed_nodes=len(set(comm_a) - common),
        communities={"a": ra.communities, "b": rb.communities},
        modularity={"a": ra.modularity, "b": rb.modularity, "change": rb.modularity - ra.modularity},
        power_law_alpha={"a": ra.power_law.alpha if ra.power_law else None,
                         "b": rb.power_law.alpha if rb.power_law else None},
        average_shortest_path={"a": ra.average_shortest_path.value, "b": rb.average_shortest_path.value},
        new_hubs=[h for h in top_b if normalize_name(h) not in {normalize_name(x) for x in top_a}],
        lost_hubs=[h for h in top_a if normalize_name(h) not in {normalize_name(x) for x in top_b}],
        merged=_changes("merged", comm_b, comm_a, names, min_size, min_share),
        split=_changes("split", comm_a, comm_b, names, min_size, min_share),
    )
