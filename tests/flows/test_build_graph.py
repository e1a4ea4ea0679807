"""The build-graph flow under a real Prefect API (prefect_test_harness)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgweave.flows.build_graph import build_graph
from kgweave.flows.stores import close_flow_stores
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.conftest import SAMPLE_CORPUS

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture(autouse=True)
def _close_stores() -> object:
    yield
    close_flow_stores()


def _build(paths: list[Path], store: Path, run_id: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return build_graph(paths=[str(p) for p in paths], run_id=run_id, store=str(store), **kwargs)


def _snapshot(store: Path):  # type: ignore[no-untyped-def]
    with SQLiteGraphStore(store) as graph:
        return graph.snapshot(), graph.counts()


def test_sample_corpus_makes_a_recognisable_graph(tmp_path: Path) -> None:
    summary = _build([SAMPLE_CORPUS], tmp_path / "g.db", "run-a", batch_documents=7)
    assert summary.status == "completed" and summary.failures == []
    assert summary.documents == 40 and summary.chunks >= 40
    assert summary.entities >= 100 and summary.relations >= 100
    assert summary.totals["entities"] == summary.entities
    assert summary.llm_calls == 0 and summary.tokens == 0
    with SQLiteGraphStore(tmp_path / "g.db") as graph:
        runs = list(graph.runs())
        assert [(r.id, r.status) for r in runs] == [("run-a", "completed")]
        assert runs[0].summary["entities"] == summary.entities
        top = sorted(graph.snapshot().nodes, key=lambda n: -n.support)[:15]
    assert any("graph" in n.name.lower() for n in top)


def test_rerun_leaves_store_identical_and_skips_done_documents(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    _build([SAMPLE_CORPUS], db, "run-1")
    first = _snapshot(db)
    again = _build([SAMPLE_CORPUS], db, "run-2")
    assert again.skipped_documents == 40 and again.chunks == 0 and again.new_entities == 0
    forced = _build([SAMPLE_CORPUS], db, "run-3", force=True)
    assert forced.chunks >= 40 and forced.new_entities == 0 and forced.new_relations == 0
    second = _snapshot(db)
    assert second[0] == first[0]
    assert second[1].model_dump(exclude={"runs"}) == first[1].model_dump(exclude={"runs"})


def test_overlapping_corpora_share_their_common_entities(tmp_path: Path) -> None:
    lines = SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines()
    part_a, part_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    part_a.write_text("\n".join(lines[:25]) + "\n", encoding="utf-8")
    part_b.write_text("\n".join(lines[15:]) + "\n", encoding="utf-8")
    _build([part_a], tmp_path / "ab.db", "run-a")
    summary_b = _build([part_b], tmp_path / "ab.db", "run-b")
    assert summary_b.skipped_documents == 10  # the ten shared abstracts are not extracted twice
    _build([SAMPLE_CORPUS], tmp_path / "all.db", "run-all")
    union, whole = _snapshot(tmp_path / "ab.db"), _snapshot(tmp_path / "all.db")
    assert union[0] == whole[0]


def test_bad_inputs_are_reported_and_nothing_stored_is_lost(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    _build([SAMPLE_CORPUS], db, "run-good")
    before_nodes, before = _snapshot(db)
    corpus = tmp_path / "mixed"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("Knowledge graphs connect entities. Knowledge graphs store facts.", "utf-8")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02BINARY")
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "bad.txt").write_bytes(b"caf\xe9 \xfa broken")
    (corpus / "records.jsonl").write_text(json.dumps({"text": "MATCH (n) DETACH DELETE n // `x` ${y}"}) + "\n{oops\n")
    summary = _build([corpus], db, "run-mixed")
    assert summary.status == "completed_with_failures"
    assert summary.documents == 2
    assert {f.source.split("/")[-1] for f in summary.failures} == {
        "binary.txt", "empty.md", "bad.txt", "records.jsonl:2"}
    after_nodes, after = _snapshot(db)
    assert after.documents == before.documents + 2
    assert {n.id for n in before_nodes.nodes} <= {n.id for n in after_nodes.nodes}
    assert {e.id for e in before_nodes.edges} <= {e.id for e in after_nodes.edges}


def test_run_publishes_artifacts_to_the_prefect_api(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Knowledge graphs link entities. Knowledge graphs help search.")
    (corpus / "b.bin").write_bytes(b"\x00")
    summary = _build([corpus], tmp_path / "g.db", "run-artifacts")
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[
                "build-graph-summary", "build-graph-counts", "build-graph-failures", "build-graph-progress"]))
        )
    mine = {a.key: a for a in artifacts if "run-artifacts" in (a.description or "")}
    assert set(mine) == {"build-graph-summary", "build-graph-counts", "build-graph-failures", "build-graph-progress"}
    assert "completed_with_failures" in str(mine["build-graph-summary"].data)
    assert "b.bin" in str(mine["build-graph-failures"].data)
    assert float(mine["build-graph-progress"].data) == 100.0
    assert summary.failed_documents == 1
