"""Batch extraction: failures are per chunk, and a failed document is left for the next run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kgweave.agents.extractor import ChunkExtraction
from kgweave.agents.pipeline import extract_documents
from kgweave.graph_store.models import Chunk, Document, Entity, Mention
from kgweave.graph_store.sqlite_store import SQLiteGraphStore


class FlakyExtractor:
    """Fails on chunks containing 'FAIL'; otherwise one entity for the chunk's first word."""

    name, version, model = "flaky", "1", None

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        results = []
        for chunk in chunks:
            if "FAIL" in chunk.text:
                results.append(ChunkExtraction(chunk_id=chunk.id, error="model returned invalid JSON"))
                continue
            word = chunk.text.split()[0]
            entity = Entity.named(word)
            mention = Mention.of(entity.id, chunk.id, chunk.start, chunk.start + len(word), word)
            results.append(ChunkExtraction(chunk_id=chunk.id, entities=(entity,), mentions=(mention,)))
        return results


def test_failed_chunk_is_recorded_and_its_document_retried(tmp_path: Path) -> None:
    good = Document.from_text("Graphs are everywhere.", source="good.txt")
    bad = Document.from_text("Trees grow. " * 30 + "FAIL here.", source="bad.txt")
    result = extract_documents([good, bad], FlakyExtractor(), run_id="r1", fingerprint="fp", chunk_chars=100)
    assert [f.source for f in result.failures] == ["bad.txt"]
    assert result.failures[0].reason == "model returned invalid JSON"
    assert result.delta.done_documents == (good.id,)
    with SQLiteGraphStore(tmp_path / "g.db") as store:
        store.upsert(result.delta)
        assert store.documents_done([good.id, bad.id], "fp") == {good.id}
        # the bad document's good chunks are stored; nothing is lost by the failure
        assert {e.name for e in store.find_entities("Trees")} == {"Trees"}
