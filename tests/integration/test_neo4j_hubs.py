"""``analyze --write-back`` marks the top hubs with ``:Hub`` on a real Neo4j, and moves the label when hubs change."""

from __future__ import annotations

import pytest

from kgweave.analysis.graph_view import view_from_snapshot
from kgweave.analysis.report import AnalysisOptions, analyze
from kgweave.deploy.neo4j_browser import ready_queries
from kgweave.flows.analyze_graph import write_back
from kgweave.graph_store.models import Entity, GraphDelta, Relation
from kgweave.graph_store.neo4j_store import Neo4jGraphStore  # noqa: E402

pytestmark = pytest.mark.integration


def _star(centre: str, leaves: int, run_id: str) -> GraphDelta:
    hub = Entity.named(centre, "Concept")
    others = [Entity.named(f"{centre} leaf {i}", "Concept") for i in range(leaves)]
    return GraphDelta(run_id=run_id, extractor="test", entities=(hub, *others),
                      relations=tuple(Relation.between(hub.id, "RELATED_TO", o.id) for o in others))


def _write_back(store: Neo4jGraphStore, hubs: int) -> list[str]:
    view = view_from_snapshot(store.snapshot(), source="test")
    write_back(store, view, analyze(view, AnalysisOptions(hubs=hubs)), hubs)
    records = store._records("read hubs", "MATCH (e:Hub) RETURN e.name AS name ORDER BY e.hub_rank")
    return [str(r["name"]) for r in records]


def test_write_back_moves_the_hub_label(neo4j_store: Neo4jGraphStore) -> None:
    neo4j_store.upsert(_star("message passing", 3, "run-1"))
    neo4j_store.upsert(_star("over-smoothing", 2, "run-1"))
    assert _write_back(neo4j_store, hubs=1) == ["message passing"]
    assert _write_back(neo4j_store, hubs=1) == ["message passing"]  # the same graph: the same hub

    neo4j_store.upsert(_star("over-smoothing", 6, "run-2"))  # a different graph: a new top hub
    assert _write_back(neo4j_store, hubs=2) == ["over-smoothing", "message passing"]
    assert _write_back(neo4j_store, hubs=1) == ["over-smoothing"]  # message passing lost the label
    former = Entity.named("message passing", "Concept").id
    assert "hub_rank" not in neo4j_store.node_metrics(former) and "degree" in neo4j_store.node_metrics(former)

    query = ready_queries()["top-hubs"]
    rows = neo4j_store._records("top hubs", query.text, limit=3)
    assert [(r["name"], r["hub"]) for r in rows][:2] == [("over-smoothing", True), ("message passing", False)]
    assert _write_back(neo4j_store, hubs=0) == []
