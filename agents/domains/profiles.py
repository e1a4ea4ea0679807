"""The ``profiles`` domain: researcher profiles; reads ResearchTown profiles and papers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kgweave.agents.domains.domain import Domain, RecordSource
from kgweave.agents.domains.research_records import EXPECTED, research_kind, research_record, research_records_graph
from kgweave.agents.prompts import DomainPrompt
from kgweave.agents.schemas import MAX_ENTITIES, EntityOutput, ExtractionOutput

__all__ = ["PROFILES", "ProfilesEntity", "ProfilesExtraction"]


class ProfilesEntity(EntityOutput):
    """An entity of a researcher's profile."""

    type: Literal["Person", "Organization", "ResearchTopic", "Paper", "Venue", "Method", "Dataset"] = Field(
        description="Person (a researcher), Organization (university, lab, company), ResearchTopic, Paper "
        "(a titled work), Venue (journal, conference), Method, Dataset."
    )


class ProfilesExtraction(ExtractionOutput):
    """Researchers, their affiliations, topics and works."""

    entities: tuple[ProfilesEntity, ...] = Field(
        default=(), max_length=MAX_ENTITIES, description="Entities the profile mentions, most important first."
    )


PROFILES = Domain(
    name="profiles",
    schema=ProfilesExtraction,
    prompt=DomainPrompt(
        version="profiles-v1",
        subject="researcher profile",
        guidance="- A person's name is one entity; each affiliation, topic, paper and venue is its own entity.\n",
        examples="AFFILIATED_WITH, WORKS_ON, AUTHORED, PUBLISHED_IN, COLLABORATES_WITH, USES",
    ),
    records=RecordSource(
        expected=EXPECTED, describes="ResearchTown profiles and papers", kind=research_kind,
        parse=research_record, graph=research_records_graph,
        # v2: title + text/body records are papers too, and a file is read as records when any record is one
        version="records-v2",
    ),
)
