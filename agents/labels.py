"""Every node label kgweave writes, in one place: what deploy/neo4j/style.grass must have a rule for.

Entity labels come from two kinds of places: the ``type`` Literal of each registered domain's LLM
schema (:attr:`agents.domains.Domain.entity_types`), and the fixed labels below that code writes
itself (the co-occurrence extractor, record graphs, CiteSeer, expansion seeds). Structural labels
and the ``Hub`` marker are the store's (:data:`graph_store.cypher.STRUCTURAL_LABELS`,
:data:`graph_store.cypher.HUB_LABEL`). Free LLM types outside a schema (expansion's ``to_label``)
get the generic ``:Entity`` style.
"""

from __future__ import annotations

from kgweave.graph_store.cypher import HUB_LABEL, STRUCTURAL_LABELS

__all__ = [
    "BOOK",
    "CONCEPT",
    "FIXED_ENTITY_LABELS",
    "GENERIC_LABELS",
    "NAMED_ENTITY",
    "PAPER",
    "READER",
    "RESEARCHER",
    "RESEARCH_TOPIC",
    "REVIEW",
    "TOPIC",
    "entity_labels",
    "written_labels",
]

CONCEPT, NAMED_ENTITY = "Concept", "NamedEntity"  # co-occurrence extractor; Concept is to_label's default
RESEARCHER, PAPER, REVIEW, TOPIC = "Researcher", "Paper", "Review", "Topic"  # research records, CiteSeer
RESEARCH_TOPIC = "ResearchTopic"  # the profiles domain's LLM type
BOOK, READER = "Book", "Reader"  # book reviews (with REVIEW)

FIXED_ENTITY_LABELS = (CONCEPT, NAMED_ENTITY, RESEARCHER, PAPER, REVIEW, TOPIC, BOOK, READER)
# Labels that say nothing about what kind of thing a name is: entity resolution lets them join any label,
# so a record's Topic "over-smoothing" and an extracted Concept or Phenomenon "over-smoothing" become one.
GENERIC_LABELS = (CONCEPT, NAMED_ENTITY, TOPIC, RESEARCH_TOPIC)


def entity_labels() -> tuple[str, ...]:
    """Entity labels kgweave writes: every registered domain's schema types, then the fixed ones (no repeats)."""
    from kgweave.agents.domains import domain_names, get_domain  # the domains import record graphs, which import us

    labels = [label for name in domain_names() for label in get_domain(name).entity_types]
    return tuple(dict.fromkeys([*FIXED_ENTITY_LABELS, *labels]))


def written_labels() -> tuple[str, ...]:
    """Every node label kgweave writes: entity labels, structural labels and the ``Hub`` marker."""
    return (*entity_labels(), *STRUCTURAL_LABELS, HUB_LABEL)
