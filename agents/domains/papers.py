"""The ``papers`` domain: scientific abstracts; reads ResearchTown papers and profiles, and TAPE's CiteSeer.

Its LLM schema is SciERC's and SciER's, so a model's graph can be scored against their gold with
``kgweave eval extraction``: entity types :data:`ENTITY_TYPES` and relation types
:data:`RELATION_TYPES`, both enums in the JSON schema. A relation type is the gold's label in
UPPER_SNAKE_CASE (``USED_FOR`` is SciER's ``Used-For``; :mod:`analysis.extraction_scores` maps them
back). The entity types of prompt ``papers-v1`` map onto them as :data:`PAPERS_V1_TYPES` says (a
model or tool is a Method; a concept, property or phenomenon an OtherScientificTerm).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from pydantic import Field

from kgweave.agents.domains.domain import Domain, RecordSource
from kgweave.agents.domains.research_records import EXPECTED, research_kind, research_record, research_records_graph
from kgweave.agents.prompts import DomainPrompt
from kgweave.agents.schemas import MAX_ENTITIES, MAX_RELATIONS, EntityOutput, ExtractionOutput, RelationOutput

__all__ = [
    "ENTITY_TYPES",
    "PAPERS",
    "PAPERS_V1_TYPES",
    "RELATION_TYPES",
    "PapersEntity",
    "PapersExtraction",
    "PapersRelation",
]

PapersEntityType = Literal["Task", "Method", "Dataset", "Metric", "Material", "OtherScientificTerm"]
PapersRelationType = Literal[
    "USED_FOR", "PART_OF", "FEATURE_OF", "SUBCLASS_OF", "SUBTASK_OF", "COMPARE_WITH", "EVALUATED_WITH",
    "BENCHMARK_FOR", "TRAINED_WITH", "SYNONYM_OF", "CONJUNCTION",
]
ENTITY_TYPES: tuple[str, ...] = get_args(PapersEntityType)
RELATION_TYPES: tuple[str, ...] = get_args(PapersRelationType)

# The entity types of prompt papers-v1 -> this schema's.
PAPERS_V1_TYPES: Mapping[str, str] = {
    "Concept": "OtherScientificTerm", "Method": "Method", "Model": "Method", "Task": "Task", "Dataset": "Dataset",
    "Material": "Material", "Property": "OtherScientificTerm", "Metric": "Metric",
    "Phenomenon": "OtherScientificTerm", "Tool": "Method",
}

_ENTITY_HELP = (
    "Task (a problem or application addressed), Method (a technique, algorithm, model, architecture, system or "
    "tool), Dataset (a named data set or benchmark, a corpus), Metric (an evaluation measure), Material (a "
    "substance, resource or data that is not a data set), OtherScientificTerm (any other scientific concept: a "
    "property, phenomenon, feature or component)."
)
_RELATION_HELP = (
    "How the source relates to the target (SciER/SciERC labels): USED_FOR (source is used for target), PART_OF "
    "(source is a part or component of target), FEATURE_OF (source is a feature or property of target), "
    "SUBCLASS_OF (source is a kind of target, a hyponym), SUBTASK_OF (source task is a sub-task of target task), "
    "COMPARE_WITH (source is compared with target), EVALUATED_WITH (source is evaluated with target: a metric or "
    "data set), BENCHMARK_FOR (source data set is a benchmark for target task), TRAINED_WITH (source is trained "
    "with target data), SYNONYM_OF (source is another name or abbreviation of target), CONJUNCTION (source and "
    "target are used or listed together as peers)."
)


class PapersEntity(EntityOutput):
    """An entity of a scientific abstract or paper."""

    type: PapersEntityType = Field(description=_ENTITY_HELP)


class PapersRelation(RelationOutput):
    """A relation between two entities of a scientific text, typed with SciER's and SciERC's labels."""

    type: PapersRelationType = Field(description=_RELATION_HELP)


class PapersExtraction(ExtractionOutput):
    """Scientific entities and the relations a paper states between them."""

    entities: tuple[PapersEntity, ...] = Field(
        default=(), max_length=MAX_ENTITIES, description="Entities the document mentions, most important first."
    )
    relations: tuple[PapersRelation, ...] = Field(
        default=(), max_length=MAX_RELATIONS, description="Relations the document states between those entities."
    )


PAPERS = Domain(
    name="papers",
    schema=PapersExtraction,
    prompt=DomainPrompt(
        # v2 (issue 17): SciER/SciERC entity and relation types as enums; v1 had ten free entity kinds
        version="papers-v2",
        subject="scientific abstract",
        guidance="- Copy each entity's whole span with its modifiers (\"temporal action segmentation\", not "
        "\"segmentation\"); an acronym defined in parentheses is an entity of its own, linked to its long form "
        "by SYNONYM_OF.\n",
    ),
    records=RecordSource(
        expected=EXPECTED, describes="ResearchTown papers and profiles, TAPE CiteSeer", kind=research_kind,
        parse=research_record, graph=research_records_graph, folders=("citeseer",),
        # v2: title + text/body records are papers too, and a file is read as records when any record is one
        version="records-v2",
    ),
)
