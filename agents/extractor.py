"""The extractor interface: chunks in, entities/mentions/relations out, failures per chunk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pydantic import ConfigDict, Field

from kgweave.agents.llm_options import LLMUsage
from kgweave.graph_store.ids import content_id
from kgweave.graph_store.models import Chunk, Entity, Mention, Relation

__all__ = ["ChunkExtraction", "Extractor", "extraction_fingerprint"]


class ChunkExtraction(LLMUsage):
    """What an extractor found in one chunk, or why it failed (``error`` set, lists empty), and its LLM cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chunk_id: str
    entities: tuple[Entity, ...] = ()
    mentions: tuple[Mention, ...] = ()
    relations: tuple[Relation, ...] = ()
    error: str | None = None
    budget_exhausted: bool = False  # not attempted because the run's LLM budget ran out (resumable)
    gleaning_usage: LLMUsage = Field(default_factory=LLMUsage,
                                     description="The share of the usage spent on gleaning passes.")
    gleaned_relations: tuple[str, ...] = Field(default=(), description="Ids of the relations only gleaning found.")


@runtime_checkable
class Extractor(Protocol):
    """Turns chunks into graph elements. Deterministic for the same chunks and settings."""

    name: str
    version: str
    model: str | None

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        """One result per chunk, in order; a failing chunk gets ``error`` and never raises."""
        ...


def extraction_fingerprint(extractor: Extractor, settings: str = "") -> str:
    """Hash of what determines an extractor's output; documents done under it are skipped."""
    return content_id("extractor", extractor.name, extractor.version, extractor.model or "", settings)
