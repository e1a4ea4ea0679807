"""What a source domain is: its LLM output schema and prompt, and (optionally) how it reads structured records.

A :class:`Domain` is the one place a domain's facts live; the CLI's ``--domain`` choices, the LLM
extractor's schema and prompt, and the structured build's record reading are all looked up from the
registry in :mod:`kgweave.agents.domains`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

from pydantic import BaseModel

from kgweave.agents.prompts import ChatMessage, DomainPrompt
from kgweave.agents.record_graph import RecordGraph
from kgweave.agents.schemas import ExtractionOutput

__all__ = ["Domain", "RawRecord", "RecordSource"]

RawRecord = Mapping[str, object]


@dataclass(frozen=True)
class RecordSource:
    """How a domain reads structured records (JSON, JSONL or CSV rows) into a :class:`RecordGraph`.

    ``kind`` names the kind of a raw record (``"paper"``) or returns None when the record is not one
    of this domain's; ``parse`` turns a raw record of that kind into a typed record (it may raise
    ``ValueError``, ``TypeError`` or a pydantic ``ValidationError``: the record is then reported as
    bad); ``graph`` builds the graph of all the parsed records, in file order. ``version`` is part of
    the structured build's fingerprint: bump it when the graph's shape changes. ``folders`` names
    data-set folder formats read as well (``"citeseer"``: TAPE's CiteSeer texts and citations).
    """

    expected: str
    describes: str
    kind: Callable[[RawRecord], str | None]
    parse: Callable[[RawRecord, str, str, str | None], BaseModel]
    graph: Callable[[Sequence[BaseModel]], RecordGraph]
    version: str = "records-v1"
    folders: tuple[str, ...] = ()


@dataclass(frozen=True)
class Domain:
    """One source domain: name, output schema, versioned prompt, and its record source if it has one."""

    name: str
    schema: type[ExtractionOutput]
    prompt: DomainPrompt
    records: RecordSource | None = None
    # The completion cap of one extraction request unless KGWEAVE_LLM_MAX_TOKENS_PER_CALL says otherwise:
    # a 2,000-character chunk is ~500 tokens; an answer over twice as long as its text is a model rambling
    # (on a one-slot llama.cpp server at 20-50 tokens/s, 1,024 tokens take 20-50 s).
    max_completion_tokens: int = 1024

    @property
    def version(self) -> str:
        """The prompt's version (part of the LLM cache key and of the extraction fingerprint)."""
        return self.prompt.version

    @property
    def schema_name(self) -> str:
        """The ``json_schema.name`` sent with the domain's requests (letters, digits, ``_`` and ``-`` only)."""
        return f"kgweave_{self.name}_extraction"

    @property
    def entity_types(self) -> tuple[str, ...]:
        """The entity types the schema allows (its entity ``type`` Literal)."""
        entity = get_args(self.schema.model_fields["entities"].annotation)[0]
        return get_args(entity.model_fields["type"].annotation)

    @property
    def relation_types(self) -> tuple[str, ...]:
        """The relation types the schema allows (its relation ``type`` Literal), or () when they are free text."""
        relation = get_args(self.schema.model_fields["relations"].annotation)[0]
        return get_args(relation.model_fields["type"].annotation)

    @property
    def system(self) -> str:
        """The system message."""
        return self.prompt.system(self.entity_types, self.relation_types)

    def messages(self, text: str) -> list[ChatMessage]:
        """System and user messages asking for the graph of one chunk."""
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.prompt.user(text)}]

    def gleaning_messages(self, text: str, answers: Sequence[str]) -> list[ChatMessage]:
        """The conversation of a gleaning pass: the chunk's messages, then each answer so far and the request."""
        messages = self.messages(text)
        for answer in answers:
            messages.append({"role": "assistant", "content": answer})
            messages.append({"role": "user", "content": self.prompt.gleaning()})
        return messages
