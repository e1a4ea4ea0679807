"""Export a store's entity graph (GraphML, JSON, neo4j-admin CSV) and import external GraphML.

Every export gives each relationship its ``origin`` (``extracted``, ``record`` or ``imported``, see
:class:`~graph_store.models.Relation`), so record edges (a paper's authors, citations, its MENTIONS of
concepts) are told from the relations extractors found in texts. The JSON export also holds the
provenance: documents, chunks with offsets, mentions with offsets, and relation evidence with the two
mention spans each observation connects.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import ParseError

import networkx as nx

from kgweave.graph_store.errors import GraphStoreError
from kgweave.graph_store.ids import to_label, to_relation_type
from kgweave.graph_store.models import Entity, GraphDelta, GraphSnapshot, Provenance, Relation, Scalar, WriteStats
from kgweave.graph_store.protocol import GraphStore

__all__ = [
    "EXPORT_FORMATS",
    "ImportFormatError",
    "export_graph",
    "import_graphml",
    "provenance_json",
    "snapshot_to_networkx",
]

EXPORT_FORMATS = ("graphml", "json", "csv")
_NAME_ATTRS = ("name", "title", "label")
_LABEL_ATTRS = ("labels", "type", "kind", "category")
_EDGE_TYPE_ATTRS = ("type", "relation", "label", "title")
_EDGE_SKIPPED_ATTRS = (*_EDGE_TYPE_ATTRS, "origin")  # an imported edge's origin is "imported"


class ImportFormatError(GraphStoreError, ValueError):
    """The file to import is not a readable graph of the expected format."""


def snapshot_to_networkx(snapshot: GraphSnapshot) -> nx.MultiDiGraph:
    """A MultiDiGraph keyed by entity id: name, labels (``:Entity:Label``, as APOC writes them) and
    support on nodes; type, support and origin on edges."""
    graph = nx.MultiDiGraph()
    for node in snapshot.nodes:
        graph.add_node(node.id, name=node.name, labels=f":Entity:{node.label}", support=node.support)
    for edge in snapshot.edges:
        graph.add_edge(edge.source, edge.target, key=edge.id, type=edge.type, support=edge.support,
                       origin=edge.origin)
    return graph


def provenance_json(provenance: Provenance) -> dict[str, list[dict[str, object]]]:
    """The JSON export's provenance keys: ``documents`` (id, source, title, metadata, text), ``chunks``
    (id, document_id, index, start, end: the chunk is ``text[start:end]`` of its document), ``mentions``
    (id, entity_id, chunk_id, start, end, text) and ``evidence`` (one per relation and evidence chunk:
    relation_id, type, source_id, target_id, origin, chunk_id, evidence, and the mention spans it connects,
    source_start, source_end, target_start, target_end, null where unknown). Offsets are document offsets,
    end exclusive; ids are the stored ones (before entity merges are applied)."""
    return {
        "documents": [d.model_dump() for d in provenance.documents],
        "chunks": [c.model_dump(exclude={"text"}) for c in provenance.chunks],
        "mentions": [m.model_dump() for m in provenance.mentions],
        "evidence": [
            {"relation_id": r.id, "type": r.type, "source_id": r.source_id, "target_id": r.target_id,
             "origin": r.origin, "chunk_id": r.chunk_id, "evidence": r.evidence, "source_start": r.source_start,
             "source_end": r.source_end, "target_start": r.target_start, "target_end": r.target_end}
            for r in provenance.relations
        ],
    }


def export_graph(store: GraphStore, fmt: str, out: str | Path) -> dict[str, int | str]:
    """Write the store's entity graph to ``out``; CSV writes a folder in neo4j-admin import format.

    JSON: ``nodes`` and ``relationships`` (the collapsed graph, each relationship with its ``origin``),
    plus the provenance keys of :func:`provenance_json`; the summary then counts them too.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    snapshot = store.snapshot()
    out = Path(out)
    summary: dict[str, int | str] = {"format": fmt, "out": str(out), "nodes": len(snapshot.nodes),
                                     "relationships": len(snapshot.edges)}
    if fmt == "graphml":
        nx.write_graphml(snapshot_to_networkx(snapshot), out, named_key_ids=True)
    elif fmt == "json":
        provenance = provenance_json(store.provenance())
        out.write_text(json.dumps(
            {"nodes": [n.model_dump() for n in snapshot.nodes],
             "relationships": [e.model_dump() for e in snapshot.edges], **provenance},
            ensure_ascii=False, indent=1,
        ), encoding="utf-8")
        summary.update({key: len(rows) for key, rows in provenance.items()})
    else:
        _export_csv(snapshot, out)
    return summary


def _export_csv(snapshot: GraphSnapshot, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "nodes.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id:ID", "name", "support:int", ":LABEL"])
        writer.writerows((n.id, n.name, n.support, f"Entity;{n.label}") for n in snapshot.nodes)
    with (folder / "relationships.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([":START_ID", ":END_ID", ":TYPE", "id", "support:int", "origin"])
        writer.writerows((e.source, e.target, e.type, e.id, e.support, e.origin) for e in snapshot.edges)


def _scalar_attrs(attrs: dict[str, object], skip: tuple[str, ...]) -> dict[str, Scalar]:
    return {
        str(k): v for k, v in attrs.items()
        if k not in skip and isinstance(v, str | int | float | bool)
    }


def _read_graphml(path: Path) -> nx.Graph:
    try:
        return nx.read_graphml(path)
    except (ParseError, nx.NetworkXError, KeyError, ValueError) as exc:
        raise ImportFormatError(f"{path} is not valid GraphML: {exc}") from exc


def import_graphml(
    store: GraphStore, path: str | Path, run_id: str, batch_size: int = 5000
) -> dict[str, int]:
    """Merge a GraphML graph into the store as entities and relations.

    Node name: attribute name/title/label, else the node id; label: attribute labels/type/kind/
    category made safe (default ``Concept``); relation type: edge attribute type/relation/label/
    title made safe (default ``RELATED_TO``), the original text kept as property ``text``. Nodes whose
    names normalise alike merge, as parallel edges of one type do (ids are content-addressed).
    """
    path = Path(path)
    graph = _read_graphml(path)
    entity_of: dict[object, Entity] = {}
    for node, attrs in graph.nodes(data=True):
        name = next((str(attrs[a]) for a in _NAME_ATTRS if str(attrs.get(a, "")).strip()), str(node)).strip()
        label_text = next((str(attrs[a]) for a in _LABEL_ATTRS if str(attrs.get(a, "")).strip()), "Concept")
        # APOC and kgweave write labels as ":Entity:Person": keep the most specific one
        label_text = next((part for part in reversed(label_text.split(":")) if part not in ("", "Entity")),
                          "Concept")
        if not name:
            raise ImportFormatError(f"{path}: node {node!r} has an empty name")
        entity_of[node] = Entity.named(
            name[:500], to_label(label_text), properties=_scalar_attrs(attrs, _NAME_ATTRS + _LABEL_ATTRS)
        )
    relations: list[Relation] = []
    for source, target, attrs in graph.edges(data=True):
        text = next((str(attrs[a]) for a in _EDGE_TYPE_ATTRS if str(attrs.get(a, "")).strip()), "")
        props = _scalar_attrs(attrs, _EDGE_SKIPPED_ATTRS)
        if text:
            props["text"] = text[:500]
        relations.append(Relation.between(
            entity_of[source].id, to_relation_type(text), entity_of[target].id, properties=props,
            origin="imported",
        ))
    stats = WriteStats()
    entities = list({e.id: e for e in entity_of.values()}.values())
    for part in _parts(entities, batch_size):
        stats = _add(stats, store.upsert(GraphDelta(run_id=run_id, extractor="import:graphml", entities=part)))
    for part in _parts(relations, batch_size):
        stats = _add(stats, store.upsert(GraphDelta(run_id=run_id, extractor="import:graphml", relations=part)))
    return {
        "nodes_read": graph.number_of_nodes(), "edges_read": graph.number_of_edges(),
        "entities": len(entities), "relations": len({r.id for r in relations}),
        "new_entities": stats.entities, "new_relations": stats.relations,
    }


def _parts(items: list, size: int) -> Iterator[tuple]:  # type: ignore[type-arg]
    for i in range(0, len(items), size):
        yield tuple(items[i:i + size])


def _add(a: WriteStats, b: WriteStats) -> WriteStats:
    return WriteStats(**{k: getattr(a, k) + getattr(b, k) for k in WriteStats.model_fields})
