"""Documents -> chunks -> extraction -> one resolved GraphDelta per batch (plain functions)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from kgweave.agents.chunking import DEFAULT_CHUNK_CHARS, chunk_document
from kgweave.agents.extractor import Extractor
from kgweave.agents.llm_options import LLMUsage
from kgweave.agents.mention_spans import with_mention_spans
from kgweave.agents.resolution import canonical_entities
from kgweave.graph_store.models import Chunk, Document, Entity, GraphDelta, Mention, Relation

__all__ = ["BatchResult", "ChunkFailure", "extract_documents"]

log = logging.getLogger(__name__)


class ChunkFailure(BaseModel):
    """A chunk the extractor could not handle; its document is not marked done, so a re-run retries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chunk_id: str
    source: str
    reason: str
    budget_exhausted: bool = False  # not attempted: the run's LLM budget ran out (not an error)


class BatchResult(LLMUsage):
    """The delta of one batch plus what went wrong and what it cost (the LLM usage of its chunks)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    delta: GraphDelta
    failures: tuple[ChunkFailure, ...] = ()
    gleaning_usage: LLMUsage = Field(default_factory=LLMUsage,
                                     description="The share of the usage spent on gleaning passes.")
    gleaned_relations: tuple[tuple[str, str], ...] = Field(
        default=(), description="(relation id, chunk id) of the observations only gleaning passes found.")


def extract_documents(
    documents: Sequence[Document],
    extractor: Extractor,
    *,
    run_id: str,
    fingerprint: str,
    chunk_chars: int = DEFAULT_CHUNK_CHARS,
    iteration: int | None = None,
) -> BatchResult:
    """Chunk and extract a batch of documents into one delta.

    A document any of whose chunks failed is written without the fingerprint that marks it done,
    so the next run retries exactly those documents.
    """
    chunks: list[Chunk] = []
    source_of: dict[str, Document] = {}
    for doc in documents:
        for chunk in chunk_document(doc, chunk_chars):
            chunks.append(chunk)
            source_of[chunk.id] = doc
    results = extractor.extract(chunks)
    failures: list[ChunkFailure] = []
    mentions: list[Mention] = []
    relations: list[Relation] = []
    entities: list[Entity] = []
    failed_docs: set[str] = set()
    for chunk, result in zip(chunks, results, strict=True):
        if result.error is not None:
            failures.append(ChunkFailure(chunk_id=chunk.id, source=source_of[chunk.id].source, reason=result.error,
                                         budget_exhausted=result.budget_exhausted))
            failed_docs.add(chunk.document_id)
            continue
        entities.extend(result.entities)
        mentions.extend(result.mentions)
        relations.extend(result.relations)
    delta = GraphDelta(
        run_id=run_id,
        extractor=extractor.name,
        model=extractor.model,
        fingerprint=fingerprint,
        done_documents=tuple(d.id for d in documents if d.id not in failed_docs),
        iteration=iteration,
        documents=tuple(documents),
        chunks=tuple(chunks),
        entities=tuple(canonical_entities(entities, mentions)),
        mentions=tuple(_unique(mentions)),
        relations=tuple(with_mention_spans(_unique_evidence(relations), mentions, chunks)),
    )
    log.info("extracted %d documents (%d chunks, %d failed) with %s: %d entities, %d relation observations",
             len(documents), len(chunks), len(failures), extractor.name, len(delta.entities), len(delta.relations))
    return BatchResult(
        delta=delta,
        failures=tuple(failures),
        gleaning_usage=LLMUsage.total(r.gleaning_usage for r in results),
        gleaned_relations=tuple((relation_id, r.chunk_id) for r in results if r.error is None
                                for relation_id in r.gleaned_relations),
        **LLMUsage.total(results).counts(),
    )


def _unique(mentions: list[Mention]) -> list[Mention]:
    return list({m.id: m for m in mentions}.values())


def _unique_evidence(relations: list[Relation]) -> list[Relation]:
    return list({(r.id, r.chunk_id): r for r in relations}.values())
