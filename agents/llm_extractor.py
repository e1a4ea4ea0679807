"""The LLM extractor: one structured-output call per chunk, answers grounded in the chunk's text.

Each chunk is sent with its domain's prompt (:mod:`agents.prompts`) and schema
(:mod:`agents.schemas`) through :class:`agents.llm_client.LLMClient`, all chunks of a batch
concurrently (the client bounds the requests in flight). The answer is data, never trusted:

- an entity is kept only if its name occurs in the chunk (normalised words on word boundaries, see
  :func:`graph_store.ids.normalize_name`); every occurrence becomes a mention, and the entity is named
  by its surface form in the chunk, so stored names are always text of the document;
- labels and relation types pass through :func:`graph_store.ids.to_label` and
  :func:`graph_store.ids.model_relation_type`, so whatever the model writes becomes a safe identifier
  (a type that is not plausible, e.g. a Cypher statement, becomes RELATED_TO with the text kept);
- a relation is kept only if both its ends were kept; its evidence is the model's sentence if it
  occurs in the chunk, else the chunk's sentence holding both ends, else None.

With ``gleaning=N`` (GraphRAG's and LightRAG's "gleaning"), up to N more calls follow the first in
one conversation: the answers so far, then "what did you miss?" (:data:`agents.prompts.GLEANING_TEMPLATE`).
The answers are merged (entities by normalised name, relations by their ends and type, the first
wins) and grounded together; the passes stop early when one adds no grounded entity or relation. Each
pass is its own cached call (its messages hold the answers before it; its prompt version is the
domain's plus :data:`agents.prompts.GLEANING_VERSION`). The result carries the passes' share of the
usage (``gleaning``) and the relations only they found (``gleaned_relations``).

A chunk whose call fails (endpoint errors, invalid output after one re-ask) comes back with
``error``; one refused by the budget comes back with ``budget_exhausted`` and is left for a later run.
A failed gleaning pass fails its chunk the same way: the next run retries it, its earlier passes
answered from the cache.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from kgweave.agents.domains import get_domain
from kgweave.agents.errors import BudgetExceededError, LLMError
from kgweave.agents.extractor import ChunkExtraction
from kgweave.agents.llm_client import Budget, LLMClient, LLMConfig, LLMEstimate, LLMRequest, estimate_requests, run_sync
from kgweave.agents.llm_options import LLMUsage
from kgweave.agents.prompts import GLEANING_VERSION, ChatMessage
from kgweave.agents.schemas import MAX_EVIDENCE_CHARS, EntityOutput, ExtractionOutput, RelationOutput
from kgweave.agents.text import iter_sentences
from kgweave.graph_store.ids import ORIGINAL_TYPE_PROPERTY, model_relation_type, normalize_name, to_label
from kgweave.graph_store.models import Chunk, Entity, Mention, Relation

__all__ = ["BUDGET_EXHAUSTED", "MAX_MENTIONS_PER_ENTITY", "Grounded", "LLMExtractor", "ground_output"]

logger = logging.getLogger(__name__)

BUDGET_EXHAUSTED = "LLM budget exhausted"
MAX_MENTIONS_PER_ENTITY = 50
_DEFAULT_RELATION = "RELATED_TO"
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Grounded:
    """The graph elements of one answer that survived grounding, and how many entities did not."""

    entities: tuple[Entity, ...]
    mentions: tuple[Mention, ...]
    relations: tuple[Relation, ...]
    ungrounded: int
    dropped_relations: int


class LLMExtractor:
    """Extract entities and relations with an LLM behind an OpenAI-compatible endpoint.

    Parameters
    ----------
    config : LLMConfig
        Endpoint, model and call settings.
    domain : str
        Which registered domain's prompt and schema (:mod:`kgweave.agents.domains`), e.g. ``text`` or ``papers``.
    budget : Budget, optional
        Shared cap on requests and tokens; chunks it refuses come back ``budget_exhausted``.
    gleaning : int
        Extra "what did you miss?" passes per chunk (0: one call per chunk).
    """

    name = "llm"

    def __init__(
        self, config: LLMConfig, domain: str = "text", budget: Budget | None = None, gleaning: int = 0
    ) -> None:
        if gleaning < 0:
            raise ValueError(f"gleaning must be >= 0, got {gleaning}")
        self._domain = get_domain(domain)  # UnknownDomainError (a ValueError) if none is registered
        self.config = config
        self.domain = domain
        self.budget = budget
        self.gleaning = gleaning
        self.version = self._domain.version
        self.model: str | None = config.model
        self._schema = self._domain.schema
        self._schema_name = self._domain.schema_name
        self._lock = threading.Lock()
        self._ungrounded = 0

    @property
    def ungrounded(self) -> int:
        """Entities dropped so far because their name does not occur in their chunk."""
        with self._lock:
            return self._ungrounded

    def settings_key(self) -> str:
        """Stable text of the options that change the output (part of the extraction fingerprint)."""
        key = (
            f"domain={self.domain};prompt={self.version};structured_output={self.config.structured_output};"
            f"temperature={self.config.temperature}"
        )
        return f"{key};gleaning={self.gleaning};gleaning_prompt={GLEANING_VERSION}" if self.gleaning else key

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        """One result per chunk, in order; never raises for a chunk (its ``error`` is set instead).

        Runs its own event loop; called from a thread that already runs one, it uses a fresh thread.
        """
        chunks = list(chunks)
        if not chunks:
            return []
        return run_sync(lambda: self.aextract(chunks))

    async def aextract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        """:meth:`extract` for callers inside an event loop."""
        async with LLMClient(self.config, self.budget) as client:
            return list(await asyncio.gather(*(self._extract_chunk(client, chunk) for chunk in chunks)))

    def estimate(self, chunks: Sequence[Chunk]) -> LLMEstimate:
        """Dry run: requests these chunks would need (cache misses) and their approximate tokens.

        Only first passes are counted: a gleaning pass's prompt holds answers not known before the run.
        """
        return estimate_requests(self.config, (
            LLMRequest(self._domain.messages(chunk.text), self._schema, self._schema_name, self.version,
                       self._domain.max_completion_tokens)
            for chunk in chunks
        ))

    async def _extract_chunk(self, client: LLMClient, chunk: Chunk) -> ChunkExtraction:
        asked = await self._ask(client, chunk, self._domain.messages(chunk.text), self.version)
        if isinstance(asked, ChunkExtraction):
            return asked
        answer, usage = asked
        answers = [answer]
        gleaning = LLMUsage()
        try:
            first = grounded = ground_output(chunk, answer)
            for glean in range(1, self.gleaning + 1):
                messages = self._domain.gleaning_messages(chunk.text, [a.model_dump_json() for a in answers])
                asked = await self._ask(client, chunk, messages, f"{self.version}+{GLEANING_VERSION}")
                if isinstance(asked, ChunkExtraction):
                    usage, gleaning = usage + asked, gleaning + asked
                    return asked.model_copy(update={**usage.counts(), "gleaning_usage": gleaning,
                                                    "error": f"gleaning pass {glean}: {asked.error}"})
                usage, gleaning = usage + asked[1], gleaning + asked[1]
                answers.append(asked[0])
                before, grounded = grounded, ground_output(chunk, _merged(answers))
                if _adds_nothing(before, grounded):
                    break
        except Exception as exc:  # grounding is ours, but one odd answer must not stop the batch
            logger.exception("could not map the LLM answer for chunk %s", chunk.id)
            return ChunkExtraction(chunk_id=chunk.id, error=f"{type(exc).__name__}: {exc}", gleaning_usage=gleaning,
                                   **usage.counts())
        if grounded.ungrounded or grounded.dropped_relations:
            logger.debug("chunk %s: dropped %d ungrounded entities and %d relations",
                         chunk.id, grounded.ungrounded, grounded.dropped_relations)
            with self._lock:
                self._ungrounded += grounded.ungrounded
        known = {r.id for r in first.relations}
        return ChunkExtraction(
            chunk_id=chunk.id, entities=grounded.entities, mentions=grounded.mentions, relations=grounded.relations,
            gleaning_usage=gleaning, gleaned_relations=tuple(r.id for r in grounded.relations if r.id not in known),
            **usage.counts(),
        )

    async def _ask(
        self, client: LLMClient, chunk: Chunk, messages: list[ChatMessage], version: str
    ) -> tuple[ExtractionOutput, LLMUsage] | ChunkExtraction:
        """One call: its answer and usage, or the chunk's failed result (with the usage) when it has none."""
        try:
            result = await client.complete_json(messages, self._schema, self._schema_name, version,
                                                max_tokens=self._domain.max_completion_tokens)
        except BudgetExceededError as exc:
            return ChunkExtraction(
                chunk_id=chunk.id, error=BUDGET_EXHAUSTED, budget_exhausted=True, llm_calls=exc.requests,
                prompt_tokens=exc.prompt_tokens, completion_tokens=exc.completion_tokens,
            )
        except LLMError as exc:
            logger.warning("LLM extraction failed for chunk %s: %s", chunk.id, exc)
            return ChunkExtraction(
                chunk_id=chunk.id, error=str(exc), llm_calls=exc.requests,
                prompt_tokens=exc.prompt_tokens, completion_tokens=exc.completion_tokens,
            )
        except Exception as exc:  # a bad chunk is recorded, never allowed to stop the others
            logger.exception("LLM extraction failed for chunk %s", chunk.id)
            return ChunkExtraction(chunk_id=chunk.id, error=f"{type(exc).__name__}: {exc}")
        cost = LLMUsage(llm_calls=result.attempts, cached_llm_calls=int(result.from_cache),
                        prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
        if result.value is None:
            logger.warning("LLM extraction failed for chunk %s: %s", chunk.id, result.error)
            return ChunkExtraction(chunk_id=chunk.id, error=result.error or "no answer", **cost.counts())
        return result.value, cost


def _merged(answers: Sequence[ExtractionOutput]) -> ExtractionOutput:
    """The answers of a chunk's passes as one: entities by normalised name, relations by ends and type (first wins)."""
    entities: dict[str, EntityOutput] = {}
    relations: dict[tuple[str, str, str], RelationOutput] = {}
    for answer in answers:
        for entity in answer.entities:
            entities.setdefault(normalize_name(entity.name), entity)
        for rel in answer.relations:
            relations.setdefault((normalize_name(rel.source), rel.type, normalize_name(rel.target)), rel)
    # model_copy, not validation: the merged lists may exceed one answer's size limits
    return answers[0].model_copy(update={"entities": tuple(entities.values()), "relations": tuple(relations.values())})


def _adds_nothing(before: Grounded, after: Grounded) -> bool:
    """Whether a gleaning pass added no grounded entity and no relation."""
    return ({e.id for e in after.entities} <= {e.id for e in before.entities}
            and {r.id for r in after.relations} <= {r.id for r in before.relations})


def ground_output(chunk: Chunk, output: ExtractionOutput) -> Grounded:
    """Turn a validated answer into entities, mentions and relations that the chunk supports."""
    index = _ChunkText(chunk.text)
    entities: dict[str, Entity] = {}
    spans_of: dict[str, list[tuple[int, int]]] = {}
    by_name: dict[str, Entity] = {}
    ungrounded = 0
    for item in output.entities:
        key = normalize_name(item.name)
        spans = index.find(item.name, key) if key else []
        if not spans:
            ungrounded += 1
            continue
        surface = " ".join(chunk.text[spans[0][0] : spans[0][1]].split())
        description = " ".join(item.description.split()) if item.description else None
        entity = Entity.named(surface, to_label(item.type), description=description or None)
        if entity.id not in entities:
            entities[entity.id] = entity
            spans_of[entity.id] = spans
        by_name.setdefault(key, entities[entity.id])
    mentions = [
        Mention.of(ent_id, chunk.id, chunk.start + start, chunk.start + end, chunk.text[start:end])
        for ent_id, spans in spans_of.items()
        for start, end in spans
    ]
    relations: dict[str, Relation] = {}
    dropped = 0
    for rel in output.relations:
        source = by_name.get(normalize_name(rel.source))
        target = by_name.get(normalize_name(rel.target))
        if source is None or target is None or source.id == target.id:
            dropped += 1
            continue
        rel_type, original = model_relation_type(rel.type, _DEFAULT_RELATION)
        relation = Relation.between(
            source.id, rel_type, target.id, chunk_id=chunk.id,
            evidence=index.evidence(rel.evidence, spans_of[source.id], spans_of[target.id]),
            properties={ORIGINAL_TYPE_PROPERTY: original} if original else {},
        )
        relations.setdefault(relation.id, relation)
    return Grounded(
        entities=tuple(entities.values()), mentions=tuple(mentions), relations=tuple(relations.values()),
        ungrounded=ungrounded, dropped_relations=dropped,
    )


class _ChunkText:
    """A chunk's words (NFKC, case-folded, with offsets) for grounding names and finding evidence."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        for match in _WORD.finditer(text):
            for part in _WORD.findall(unicodedata.normalize("NFKC", match.group()).casefold()):
                self.words.append(part)
                self.starts.append(match.start())
                self.ends.append(match.end())
        self._singular: dict[str, str] = {}
        self._collapsed: str | None = None
        self._sentences: list[tuple[int, int]] | None = None

    def find(self, name: str, key: str) -> list[tuple[int, int]]:
        """Chunk spans where ``name`` occurs: as written (any case), else as the normalised words ``key``."""
        parts = name.split()
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(p) for p in parts) + r"(?!\w)", re.IGNORECASE)
        spans = [m.span() for m in pattern.finditer(self.text)]
        if not spans:
            spans = self._scan(key.split(" "))
        return spans[:MAX_MENTIONS_PER_ENTITY]

    def _scan(self, key: list[str]) -> list[tuple[int, int]]:
        """Spans of the runs of words equal to ``key`` (the last word compared in its singular form)."""
        size, words, spans = len(key), self.words, []
        head, last = key[:-1], key[-1]
        for i in range(len(words) - size + 1):
            if words[i : i + size - 1] == head and self._singular_of(words[i + size - 1]) == last:
                spans.append((self.starts[i], self.ends[i + size - 1]))
        return spans

    def _singular_of(self, word: str) -> str:
        found = self._singular.get(word)
        if found is None:
            found = self._singular[word] = normalize_name(word)
        return found

    def evidence(
        self, claimed: str | None, source: list[tuple[int, int]], target: list[tuple[int, int]]
    ) -> str | None:
        """The model's evidence if the chunk contains it, else the chunk's sentence holding both ends."""
        if claimed:
            sentence = " ".join(claimed.split())
            if self._collapsed is None:
                self._collapsed = " ".join(self.text.split())
            if sentence and sentence in self._collapsed:
                return sentence
        if self._sentences is None:
            self._sentences = list(iter_sentences(self.text))
        for start, end in self._sentences:
            if any(start <= a and b <= end for a, b in source) and any(start <= a and b <= end for a, b in target):
                return " ".join(self.text[start:end].split())[:MAX_EVIDENCE_CHARS]
        return None
