"""Extraction quality against gold spans: entities, relations and graph pairs, micro P/R/F1 (fractions 0-1).

Predictions are read from what a build wrote (documents, chunks, mentions, relation evidence) by
:func:`predicted_documents`; the gold comes from :mod:`agents.sources.gold`. :data:`CONVENTIONS`
names every convention in words (it is printed with the scores).

Examples
--------
>>> from kgweave.agents.sources.gold import GoldDocument, GoldEntity, GoldRelation
>>> a, b = GoldEntity(start=0, end=4, type="Method"), GoldEntity(start=10, end=14, type="Task")
>>> gold = [GoldDocument(key="d", text="BERT used for NER", entities=(a, b),
...                      relations=(GoldRelation(head=a, tail=b, type="Used-For"),))]
>>> pred = {"d": PredictedDocument(entities=((0, 4), (10, 12)),
...                                relations=(PredictedRelation(a=(0, 4), b=(10, 12), type="USES"),))}
>>> s = score_extraction(gold, pred, {"USES": "Used-For"})
>>> s.entities.exact.f1, s.entities.overlap.f1, s.relations.exact.f1, s.relations.typed.f1
(0.5, 1.0, 0.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from kgweave.agents.mention_spans import nearest_pair
from kgweave.agents.sources.gold import GoldDocument
from kgweave.agents.text import iter_sentences
from kgweave.graph_store.ids import normalize_name, to_relation_type
from kgweave.graph_store.models import Chunk, Entity, Mention, Relation
from kgweave.graph_store.protocol import PushSource

__all__ = [
    "CONVENTIONS",
    "SCIER_RELATION_TYPES",
    "SCIER_TYPES",
    "EntityScores",
    "ExtractionScores",
    "PredictedDocument",
    "PredictedRelation",
    "Prf",
    "RelationScores",
    "TypeRecall",
    "predicted_documents",
    "prf",
    "relation_ends",
    "score_extraction",
    "stored_predictions",
]

Span = tuple[int, int]

# SciER's relation types. The papers domain's LLM schema (agents/domains/papers.py) has each of them
# as an enum value in UPPER_SNAKE_CASE (USED_FOR for Used-For), plus SciERC's FEATURE_OF and CONJUNCTION.
SCIER_TYPES = ("Used-For", "Part-Of", "Compare-With", "SubClass-Of", "Evaluated-With", "Synonym-Of", "Benchmark-For",
               "Trained-With", "SubTask-Of")

# kgweave relation type -> SciER relation type: the papers schema's types 1:1, and the verbs whose
# meaning is the gold's (direction is ignored by the typed score); CO_OCCURS_WITH and every other
# verb stay unmapped and so never count as a correct typed relation.
SCIER_RELATION_TYPES: Mapping[str, str] = {
    **{to_relation_type(gold_type): gold_type for gold_type in SCIER_TYPES},
    "USES": "Used-For", "UTILIZES": "Used-For", "EMPLOYS": "Used-For", "LEVERAGES": "Used-For",
    "APPLIES": "Used-For", "ADOPTS": "Used-For", "EXPLOITS": "Used-For", "BASED_ON": "Used-For",
    "RELIES_ON": "Used-For", "DEPENDS_ON": "Used-For",
    "CONSISTS_OF": "Part-Of", "CONTAINS": "Part-Of", "INCORPORATES": "Part-Of", "INTEGRATES": "Part-Of",
    "COMPARED_WITH": "Compare-With", "OUTPERFORMS": "Compare-With", "SURPASSES": "Compare-With",
    "EXCEEDS": "Compare-With", "COMPETES_WITH": "Compare-With",
    "IS_A": "SubClass-Of", "INCLUDES": "SubClass-Of",
    "ABBREVIATED_AS": "Synonym-Of", "SAME_AS": "Synonym-Of", "CALLED": "Synonym-Of",
    "EVALUATES": "Evaluated-With", "TESTS": "Evaluated-With", "MEASURES": "Evaluated-With",
    "TRAINS": "Trained-With",
}

CONVENTIONS: Mapping[str, str] = {
    "scores": "micro precision/recall/F1 over all documents, fractions 0-1; 0 when a denominator is 0",
    "spans": "character offsets [start, end) in the document's text; entity types are ignored for matching",
    "entities.exact": "a predicted span (distinct per document) is correct if it equals a gold span",
    "entities.overlap": "precision: predicted spans overlapping any gold span; recall: gold spans overlapped by "
                        "any predicted span (many-to-many)",
    "entities.by_type": "recall per gold entity type (exact and overlap); predictions carry no gold type",
    "predicted_entities": "every stored mention of the document's chunks, mention offsets being document offsets",
    "relation_ends": "a stored relation observation (relation, evidence chunk) is the pair of mention spans it "
                     "names (mention-level provenance); an observation without spans (written before they were "
                     "stored) becomes every pair of mentions of its two entities in that chunk that lie in one "
                     "sentence (kgweave's sentence splitter), or if no pair shares a sentence, the nearest pair "
                     "(smallest gap, then earliest)",
    "relations.exact": "undirected, untyped: both ends equal the two gold argument spans",
    "relations.overlap": "undirected, untyped: both ends overlap the two gold argument spans (many-to-many)",
    "relations.typed": "as overlap, and the kgweave type mapped through relation_types equals the gold type; an "
                       "unmapped type is predicted but never correct",
    "graph_pairs": "sets over the whole gold set of unordered pairs of normalize_name(end names): gold argument "
                   "strings vs the names of the entities of predicted relations; pairs of one name are dropped",
    "tokens_per_gold_relation_found": "LLM tokens / gold relations found by relations.overlap (null if none)",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Prf(_Frozen):
    """Micro precision, recall and F1 (fractions 0-1) with the counts behind them."""

    precision: float
    recall: float
    f1: float
    predicted: int
    gold: int
    correct_predicted: int = Field(description="Predictions that match some gold item.")
    found_gold: int = Field(description="Gold items that some prediction matches.")


class TypeRecall(_Frozen):
    gold: int
    exact_recall: float
    overlap_recall: float


class EntityScores(_Frozen):
    exact: Prf
    overlap: Prf
    by_type: dict[str, TypeRecall]


class RelationScores(_Frozen):
    exact: Prf
    overlap: Prf
    typed: Prf


class ExtractionScores(_Frozen):
    documents: int
    gold_entities: int
    gold_relations: int
    predicted_entities: int
    predicted_relations: int
    entities: EntityScores
    relations: RelationScores
    graph_pairs: Prf


class PredictedRelation(_Frozen):
    """One predicted relation between two mention spans, with its kgweave type and its ends' entity names."""

    a: Span
    b: Span
    type: str
    names: tuple[str, str] = ("", "")


class PredictedDocument(_Frozen):
    """What the graph says about one gold document: mention spans and relation end pairs."""

    entities: tuple[Span, ...]
    relations: tuple[PredictedRelation, ...]


def prf(correct_predicted: int, predicted: int, found_gold: int, gold: int) -> Prf:
    """Precision ``correct_predicted / predicted``, recall ``found_gold / gold`` and their harmonic mean.

    Examples
    --------
    >>> prf(1, 2, 1, 4).f1
    0.3333
    """
    precision = correct_predicted / predicted if predicted else 0.0
    recall = found_gold / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Prf(precision=round(precision, 4), recall=round(recall, 4), f1=round(f1, 4), predicted=predicted,
               gold=gold, correct_predicted=correct_predicted, found_gold=found_gold)


def _overlaps(x: Span, y: Span) -> bool:
    return x[0] < y[1] and y[0] < x[1]


def relation_ends(chunk: Chunk, first: Sequence[Mention], second: Sequence[Mention]) -> list[tuple[Span, Span]]:
    """The mention pairs a relation observation connects (see ``CONVENTIONS["relation_ends"]``).

    Parameters
    ----------
    chunk : Chunk
        The evidence chunk.
    first, second : sequence of Mention
        The mentions of the relation's two entities in that chunk (document offsets).

    Returns
    -------
    list of ((start, end), (start, end))
        Every pair in one sentence of the chunk, or the single nearest pair; empty if either side is.

    Notes
    -----
    O(s + |first| * |second|) for a chunk of s characters.
    """
    if not first or not second:
        return []
    bounds = [(chunk.start + s, chunk.start + e) for s, e in iter_sentences(chunk.text)]

    def sentence(m: Mention) -> int:
        return next((i for i, (s, e) in enumerate(bounds) if s <= m.start < e), -1)

    pairs = [(x, y) for x in first for y in second if (x.start, x.end) != (y.start, y.end)]
    same = [(x, y) for x, y in pairs if sentence(x) == sentence(y) != -1]
    if not same:
        nearest = nearest_pair(first, second)
        same = [] if nearest is None else [nearest]
    return sorted({((x.start, x.end), (y.start, y.end)) for x, y in same})


def predicted_documents(chunks: Iterable[Chunk], mentions: Iterable[Mention], relations: Iterable[Relation],
                        entities: Iterable[Entity]) -> dict[str, PredictedDocument]:
    """Predictions per document id from stored rows (a relation counts once per evidence chunk; its ends
    are its stored mention spans, else :func:`relation_ends`; record edges are not predictions).

    Notes
    -----
    O(M + R * k^2) for M mentions and R relation observations whose entities have k mentions in the chunk.
    """
    chunk_of = {c.id: c for c in chunks}
    names = {e.id: e.name for e in entities}
    spans: dict[str, set[Span]] = {}
    in_chunk: dict[tuple[str, str], list[Mention]] = {}
    for m in mentions:
        chunk = chunk_of.get(m.chunk_id)
        if chunk is None:
            continue
        spans.setdefault(chunk.document_id, set()).add((m.start, m.end))
        in_chunk.setdefault((m.chunk_id, m.entity_id), []).append(m)
    found: dict[str, set[PredictedRelation]] = {}
    for r in relations:
        chunk = chunk_of.get(r.chunk_id or "")
        if chunk is None or r.origin != "extracted":
            continue
        ends = [r.mention_spans] if r.mention_spans is not None else relation_ends(
            chunk, in_chunk.get((chunk.id, r.source_id), []), in_chunk.get((chunk.id, r.target_id), []))
        for a, b in ends:
            found.setdefault(chunk.document_id, set()).add(PredictedRelation(
                a=a, b=b, type=r.type, names=(names.get(r.source_id, ""), names.get(r.target_id, ""))))
    return {doc: PredictedDocument(entities=tuple(sorted(spans.get(doc, ()))),
                                   relations=tuple(sorted(found.get(doc, ()), key=lambda p: (p.a, p.b, p.type))))
            for doc in spans.keys() | found.keys()}


def stored_predictions(store: PushSource, document_ids: Iterable[str],
                       exclude_relations: Collection[tuple[str, str]] = ()) -> dict[str, PredictedDocument]:
    """:func:`predicted_documents` of the given documents, read from an embedded store's export.

    ``exclude_relations`` leaves out relation observations by (relation id, chunk id), e.g. those only
    the LLM extractor's gleaning passes found.

    Notes
    -----
    Reads the whole store once (``export_deltas``); rows of other documents are skipped.
    """
    wanted = set(document_ids)
    chunks: list[Chunk] = []
    mentions: list[Mention] = []
    relations: list[Relation] = []
    entities: list[Entity] = []
    for delta in store.export_deltas():
        mine = {c.id for c in delta.chunks if c.document_id in wanted}
        if mine:
            chunks.extend(c for c in delta.chunks if c.id in mine)
            mentions.extend(m for m in delta.mentions if m.chunk_id in mine)
            relations.extend(r for r in delta.relations
                             if r.chunk_id in mine and (r.id, r.chunk_id) not in exclude_relations)
            entities.extend(delta.entities)
    return predicted_documents(chunks, mentions, relations, entities)


def score_extraction(gold: Sequence[GoldDocument], predicted: Mapping[str, PredictedDocument],
                     relation_types: Mapping[str, str]) -> ExtractionScores:
    """Score predictions against gold documents under :data:`CONVENTIONS`.

    Parameters
    ----------
    gold : sequence of GoldDocument
        The gold documents.
    predicted : mapping
        Gold document key -> its predictions; a missing key predicts nothing.
    relation_types : mapping
        kgweave relation type -> gold relation type, for the typed relation score.

    Returns
    -------
    ExtractionScores

    Notes
    -----
    O(sum over documents of (G_e * P_e + G_r * P_r)) for G gold and P predicted entities and relations.
    """
    ent_exact = [0, 0, 0, 0]  # correct predicted, predicted, found gold, gold
    ent_over = [0, 0, 0, 0]
    rel_exact, rel_over, rel_typed = [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]
    by_type: dict[str, list[int]] = {}  # type -> [gold, exact found, overlap found]
    gold_pairs: set[frozenset[str]] = set()
    pred_pairs: set[frozenset[str]] = set()
    gold_relations = predicted_relations = gold_entities = predicted_entities = 0
    for doc in gold:
        pred = predicted.get(doc.key, PredictedDocument(entities=(), relations=()))
        gold_spans = [(e.start, e.end) for e in doc.entities]
        gold_set = set(gold_spans)
        pred_spans = sorted(set(pred.entities))
        gold_entities += len(gold_spans)
        predicted_entities += len(pred_spans)
        exact_hits = [p in gold_set for p in pred_spans]
        over_hits = [any(_overlaps(p, g) for g in gold_spans) for p in pred_spans]
        pred_set = set(pred_spans)
        for counts, correct, found in (
            (ent_exact, sum(exact_hits), [g in pred_set for g in gold_spans]),
            (ent_over, sum(over_hits), [any(_overlaps(g, p) for p in pred_spans) for g in gold_spans]),
        ):
            counts[0] += correct
            counts[1] += len(pred_spans)
            counts[2] += sum(found)
            counts[3] += len(gold_spans)
        for entity in doc.entities:
            row = by_type.setdefault(entity.type, [0, 0, 0])
            span = (entity.start, entity.end)
            row[0] += 1
            row[1] += span in pred_set
            row[2] += any(_overlaps(span, p) for p in pred_spans)

        gold_rel = [((r.head.start, r.head.end), (r.tail.start, r.tail.end), r.type) for r in doc.relations]
        untyped = sorted({_unordered(p.a, p.b) for p in pred.relations})
        typed = sorted({(*_unordered(p.a, p.b), relation_types.get(p.type)) for p in pred.relations},
                       key=lambda t: (t[0], t[1], t[2] or ""))
        gold_relations += len(gold_rel)
        predicted_relations += len(untyped)
        for counts, preds, match in (
            (rel_exact, untyped, _same_ends),
            (rel_over, untyped, _overlapping_ends),
        ):
            counts[0] += sum(any(match(p, g) for g in gold_rel) for p in preds)
            counts[1] += len(preds)
            counts[2] += sum(any(match(p, g) for p in preds) for g in gold_rel)
            counts[3] += len(gold_rel)
        rel_typed[0] += sum(any(t[2] == g[2] and _overlapping_ends(t, g) for g in gold_rel) for t in typed)
        rel_typed[1] += len(typed)
        rel_typed[2] += sum(any(t[2] == g[2] and _overlapping_ends(t, g) for t in typed) for g in gold_rel)
        rel_typed[3] += len(gold_rel)

        for head, tail, _ in gold_rel:
            gold_pairs.add(frozenset((normalize_name(doc.text[head[0]:head[1]]),
                                      normalize_name(doc.text[tail[0]:tail[1]]))))
        pred_pairs.update(frozenset(normalize_name(n) for n in p.names) for p in pred.relations)
    gold_pairs = {p for p in gold_pairs if len(p) == 2}
    pred_pairs = {p for p in pred_pairs if len(p) == 2}
    shared = len(gold_pairs & pred_pairs)
    return ExtractionScores(
        documents=len(gold), gold_entities=gold_entities, gold_relations=gold_relations,
        predicted_entities=predicted_entities, predicted_relations=predicted_relations,
        entities=EntityScores(
            exact=prf(*ent_exact), overlap=prf(*ent_over),
            by_type={t: TypeRecall(gold=n, exact_recall=round(x / n, 4), overlap_recall=round(o / n, 4))
                     for t, (n, x, o) in sorted(by_type.items())}),
        relations=RelationScores(exact=prf(*rel_exact), overlap=prf(*rel_over), typed=prf(*rel_typed)),
        graph_pairs=prf(shared, len(pred_pairs), shared, len(gold_pairs)),
    )


def _unordered(a: Span, b: Span) -> tuple[Span, Span]:
    return (a, b) if a <= b else (b, a)


def _same_ends(p: tuple[Span, Span, object] | tuple[Span, Span], g: tuple[Span, Span, str]) -> bool:
    return {p[0], p[1]} == {g[0], g[1]}


def _overlapping_ends(p: tuple[Span, Span, object] | tuple[Span, Span], g: tuple[Span, Span, str]) -> bool:
    return (_overlaps(p[0], g[0]) and _overlaps(p[1], g[1])) or (_overlaps(p[0], g[1]) and _overlaps(p[1], g[0]))
