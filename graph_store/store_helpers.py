"""What the SQLite and Neo4j stores share: JSON property text, checks and their messages, snapshot and counts
assembly from rows. Each store keeps only its own queries."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence

from kgweave.graph_store.errors import GraphStoreError
from kgweave.graph_store.history import AsOf, snapshot_as_of
from kgweave.graph_store.merges import apply_merges, collapse
from kgweave.graph_store.models import EntityMerge, GraphSnapshot, SnapshotEdge, SnapshotNode, StoreCounts

__all__ = [
    "HUB_RANK",
    "METRIC_NAME_PATTERN",
    "NodeRow",
    "EdgeRow",
    "changed_merges",
    "check_dimension",
    "check_metric_name",
    "collapsed_counts",
    "shown_ids",
    "snapshot_of_rows",
    "to_json",
]

METRIC_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
HUB_RANK = "hub_rank"  # the node metric that marks the top hubs in every store (1 = the top hub)
# (row, first_run, first_iteration): a snapshot row with the provenance history needs
NodeRow = tuple[SnapshotNode, str | None, int | None]
EdgeRow = tuple[SnapshotEdge, str | None, int | None]


def to_json(value: Mapping[str, object]) -> str:
    """Canonical JSON text of a properties/parameters mapping (sorted keys, so equal maps give equal text)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def check_metric_name(name: str) -> str:
    """Return ``name`` if it may name a node metric, else raise ValueError."""
    if not isinstance(name, str) or not METRIC_NAME_PATTERN.fullmatch(name):
        raise ValueError(f"metric name {name!r} must match {METRIC_NAME_PATTERN.pattern}")
    return name


def check_dimension(model: str, stored: int | None, dim: int) -> None:
    """Refuse vectors of ``dim`` for a ``model`` whose stored vectors have another dimension."""
    if stored is not None and stored != dim:
        raise GraphStoreError(f"model {model!r} has {stored}-dimensional embeddings here, got {dim}")


def shown_ids(ids: Collection[str], most: int = 5) -> str:
    """The first ``most`` ids, comma separated, with `` ...`` when there are more (for error messages)."""
    listed = list(ids)
    return ", ".join(listed[:most]) + (" ..." if len(listed) > most else "")


def changed_merges(current: Mapping[str, EntityMerge], new: Sequence[EntityMerge]) -> list[EntityMerge]:
    """The merge records that recording ``new`` on top of ``current`` creates or changes."""
    table = apply_merges(current, new)
    return [merge for alias, merge in table.items() if current.get(alias) != merge]


def snapshot_of_rows(
    nodes: Sequence[NodeRow], edges: Sequence[EdgeRow], merges: Iterable[EntityMerge], point: AsOf | None
) -> GraphSnapshot:
    """The collapsed snapshot of the rows: today's (``point`` None) or as it was at ``point``."""
    if point is None:
        return collapse([row[0] for row in nodes], [row[0] for row in edges], merges)
    return snapshot_as_of(point, nodes, edges, merges)


def collapsed_counts(totals: Mapping[str, int], view: GraphSnapshot, merged: int) -> StoreCounts:
    """Counts of a store with merges: entity and relation totals, labels and types from the collapsed view."""
    return StoreCounts(
        **{**totals, "entities": len(view.nodes), "relations": len(view.edges)},
        labels=dict(sorted(Counter(n.label for n in view.nodes).items())),
        relation_types=dict(sorted(Counter(e.type for e in view.edges).items())),
        merged_entities=merged,
        relation_origins=dict(sorted(Counter(e.origin for e in view.edges).items())),
    )
