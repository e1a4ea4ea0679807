"""Entity merges shared by every store: keeping aliases pointed at final canonicals, and the collapsed view.

A merge never rewrites entity or relation rows (ids stay content-addressed, builds stay
idempotent). Stores keep the merge records and show the *collapsed* graph: alias nodes are left
out, their edges re-pointed to the canonical, and the canonical's support is the sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from kgweave.graph_store.models import EntityMerge, GraphSnapshot, SnapshotEdge, SnapshotNode

__all__ = ["apply_merges", "collapse"]


def apply_merges(current: Mapping[str, EntityMerge], new: Sequence[EntityMerge]) -> dict[str, EntityMerge]:
    """The merge table (alias id -> record) after recording ``new`` on top of ``current``.

    Every alias points at a final canonical (never at another alias): a new merge whose canonical
    is itself an alias is pointed at that alias's canonical, and aliases of a new alias are
    re-pointed to its canonical. A merge that would close a cycle (its canonical already resolves
    to its alias) is already in force and is skipped. Recording the same merges again is a no-op.
    """
    table = dict(current)
    aliases_of: dict[str, set[str]] = {}
    for record in table.values():
        aliases_of.setdefault(record.canonical_id, set()).add(record.alias_id)
    for merge in new:
        canonical = _final(table, merge.canonical_id)
        if canonical == merge.alias_id:
            continue  # the two are already one entity, with the alias as canonical
        if canonical != merge.canonical_id:
            merge = merge.model_copy(update={"canonical_id": canonical})
        previous = table.get(merge.alias_id)
        if previous is not None:
            aliases_of[previous.canonical_id].discard(merge.alias_id)
        table[merge.alias_id] = merge
        moved = aliases_of.pop(merge.alias_id, set())
        for alias in moved:
            table[alias] = table[alias].model_copy(update={"canonical_id": canonical})
        aliases_of.setdefault(canonical, set()).update(moved | {merge.alias_id})
    return table


def _final(table: Mapping[str, EntityMerge], entity_id: str) -> str:
    seen = {entity_id}
    while entity_id in table:
        entity_id = table[entity_id].canonical_id
        if entity_id in seen:  # cannot happen through apply_merges; guards a hand-edited store
            break
        seen.add(entity_id)
    return entity_id


def collapse(
    nodes: Iterable[SnapshotNode], edges: Iterable[SnapshotEdge], merges: Iterable[EntityMerge]
) -> GraphSnapshot:
    """The graph with aliases folded into their canonicals, ordered by id (deterministic).

    Alias nodes are dropped and their support added to the canonical's; edges are re-pointed, edges
    that became self-loops are dropped, and parallel edges of one type between the same ends
    become one edge whose support is the sum and whose id is the smallest of their ids.
    O(nodes + edges).
    """
    canonical_of = {m.alias_id: m.canonical_id for m in merges}
    node_list = list(nodes)
    edge_list = list(edges)
    if not canonical_of:
        return GraphSnapshot(nodes=tuple(sorted(node_list, key=lambda n: n.id)),
                             edges=tuple(sorted(edge_list, key=lambda e: e.id)))
    extra: dict[str, int] = {}
    for node in node_list:
        if node.id in canonical_of:
            target = canonical_of[node.id]
            extra[target] = extra.get(target, 0) + node.support
    kept = [
        n.model_copy(update={"support": n.support + extra[n.id]}) if n.id in extra else n
        for n in node_list if n.id not in canonical_of
    ]
    grouped: dict[tuple[str, str, str], SnapshotEdge] = {}
    for edge in edge_list:
        source = canonical_of.get(edge.source, edge.source)
        target = canonical_of.get(edge.target, edge.target)
        if source == target:
            continue
        key = (source, target, edge.type)
        seen = grouped.get(key)
        if seen is None:
            grouped[key] = edge.model_copy(update={"source": source, "target": target})
        else:
            grouped[key] = seen.model_copy(update={"id": min(seen.id, edge.id), "support": seen.support + edge.support})
    return GraphSnapshot(nodes=tuple(sorted(kept, key=lambda n: n.id)),
                         edges=tuple(sorted(grouped.values(), key=lambda e: e.id)))
