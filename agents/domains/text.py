"""The ``text`` domain (also ``auto``): concepts and relations of general text; no structured records."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kgweave.agents.domains.domain import Domain
from kgweave.agents.prompts import DomainPrompt
from kgweave.agents.schemas import MAX_ENTITIES, EntityOutput, ExtractionOutput

__all__ = ["TEXT", "TextEntity", "TextExtraction"]


class TextEntity(EntityOutput):
    """An entity of general text."""

    type: Literal["Concept", "Person", "Organization", "Place", "Event", "Object", "Work"] = Field(
        description="Concept (idea, field, topic), Person, Organization, Place, Event, Object (a thing), "
        "Work (a book, paper, film, law...)."
    )


class TextExtraction(ExtractionOutput):
    """Concepts and relations of general text."""

    entities: tuple[TextEntity, ...] = Field(
        default=(), max_length=MAX_ENTITIES, description="Entities the document mentions, most important first."
    )


TEXT = Domain(
    name="text",
    schema=TextExtraction,
    prompt=DomainPrompt(
        version="text-v1",
        subject="document",
        guidance="- Prefer specific concepts and named things over generic words (not 'thing', 'approach').\n",
        examples="IS_A, PART_OF, USES, CAUSES, LOCATED_IN, CREATED_BY",
    ),
)
