"""Exact entity resolution: spellings with one normalised name and label become one entity."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from graph_store.models import Entity, Mention

__all__ = ["canonical_entities"]


def canonical_entities(entities: Iterable[Entity], mentions: Iterable[Mention]) -> list[Entity]:
    """One entity per id, named by its most frequent surface form among the mentions.

    Ids already fold case, punctuation and plural endings (``graph_store.ids.normalize_name``), so
    "Neural Networks" and "neural network" share an id; this picks the name shown for it. Ties go
    to the lexicographically smallest form, so the choice is deterministic.
    """
    forms: dict[str, Counter[str]] = {}
    for mention in mentions:
        forms.setdefault(mention.entity_id, Counter())[mention.text] += 1
    merged: dict[str, Entity] = {}
    for entity in entities:
        first = merged.setdefault(entity.id, entity)
        if first is not entity and entity.description and not first.description:
            merged[entity.id] = first.model_copy(update={"description": entity.description})
    result = []
    for ent_id, entity in merged.items():
        counts = forms.get(ent_id)
        if counts:
            name = min(counts, key=lambda form: (-counts[form], form))
            entity = entity.model_copy(update={"name": name}) if name != entity.name else entity
        result.append(entity)
    return result
