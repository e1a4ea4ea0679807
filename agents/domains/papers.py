"""The ``papers`` domain: scientific abstracts; reads ResearchTown papers and profiles, and TAPE's CiteSeer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kgweave.agents.domains.domain import Domain, RecordSource
from kgweave.agents.domains.research_records import EXPECTED, research_kind, research_record, research_records_graph
from kgweave.agents.prompts import DomainPrompt
from kgweave.agents.schemas import MAX_ENTITIES, EntityOutput, ExtractionOutput

__all__ = ["PAPERS", "PapersEntity", "PapersExtraction"]


class PapersEntity(EntityOutput):
    """An entity of a scientific abstract or paper."""

    type: Literal[
        "Concept", "Method", "Model", "Task", "Dataset", "Material", "Property", "Metric", "Phenomenon", "Tool"
    ] = Field(
        description="Concept (a general idea), Method (technique, algorithm), Model (a named model or "
        "architecture), Task (problem addressed), Dataset, Material (substance, compound), Property (measured "
        "or designed attribute), Metric (evaluation measure), Phenomenon (observed effect), Tool (software, "
        "instrument)."
    )


class PapersExtraction(ExtractionOutput):
    """Scientific entities and the relations a paper states between them."""

    entities: tuple[PapersEntity, ...] = Field(
        default=(), max_length=MAX_ENTITIES, description="Entities the document mentions, most important first."
    )


PAPERS = Domain(
    name="papers",
    schema=PapersExtraction,
    prompt=DomainPrompt(
        version="papers-v1",
        subject="scientific abstract",
        guidance="- Keep a method's or model's full name; an acronym defined in the text is its own entity "
        "linked by ABBREVIATED_AS.\n",
        examples="USES, IMPROVES, EVALUATED_ON, OUTPERFORMS, APPLIED_TO, MEASURED_BY, ABBREVIATED_AS",
    ),
    records=RecordSource(
        expected=EXPECTED, describes="ResearchTown papers and profiles, TAPE CiteSeer", kind=research_kind,
        parse=research_record, graph=research_records_graph, folders=("citeseer",),
        # v2: title + text/body records are papers too, and a file is read as records when any record is one
        version="records-v2",
    ),
)
