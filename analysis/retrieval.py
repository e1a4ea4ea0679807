"""Retrieval over a stored graph for a question: entity linking, ranked neighbourhoods, paths, evidence spans.

Everything here reads the store through :class:`~graph_store.protocol.GraphStore` only (no LLM): the
same graph in SQLite or Neo4j gives the same links and the same evidence, in the same order.
:mod:`agents.answering` adds the LLM (the walk and the answer) on top.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, Protocol

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field

from kgweave.analysis.paths import path_graph_from_snapshot, path_steps
from kgweave.graph_store.capabilities import Capability
from kgweave.graph_store.ids import normalize_name
from kgweave.graph_store.models import Entity, GraphSnapshot, Relation, SnapshotEdge, SnapshotNode
from kgweave.graph_store.protocol import GraphStore, vector_search

__all__ = [
    "AskOptions",
    "CandidateRelation",
    "EvidenceItem",
    "LinkJudge",
    "LinkedEntity",
    "MentionEmbedder",
    "NoLinkError",
    "RetrievalError",
    "check_question",
    "closest_names",
    "evidence_for",
    "expand",
    "link_entities",
    "local_evidence",
    "path_evidence",
    "rank_relations",
]

Mode = Literal["local", "paths", "walk"]
MAX_MENTION_WORDS = 6
EMBEDDING_LINK_MIN_COSINE = 0.8  # all-MiniLM-L6-v2: paraphrases and synonyms score above, mere topic neighbours below
EMBEDDING_LINK_BAND = 0.6  # from here to the minimum: ambiguous, decided by a judge (the LLM) when one is given
EMBEDDING_LINK_CANDIDATES = 3  # entities a judge chooses among
# function words: a mention never starts or ends with one ("the model of" -> "model")
_FUNCTION_WORDS = frozenset(str.split(
    "a an and are as at be been by can could did do does for from had has have how i in into is it its me my "
    "of on or our should so than that the their them then there these they this those to was we were what when "
    "where which while who whom whose why will with would you your about between"))
# words of the question's frame: part of a longer name maybe ("relation extraction"), never a mention alone
_FRAME_WORDS = frozenset(str.split(
    "known tell list show give find name any all some many much more most other used use using related relation "
    "relationship"))


class RetrievalError(ValueError):
    """A question the graph cannot be searched for (bad input, exit code 2 on the command line)."""


class NoLinkError(RetrievalError):
    """No mention of the question names an entity; ``suggestions`` holds the closest names."""

    def __init__(self, question: str, suggestions: list[str]) -> None:
        hint = f" (closest: {', '.join(suggestions)})" if suggestions else ""
        super().__init__(f"no entity of the graph is named in {question!r}{hint}")
        self.suggestions = suggestions


class AskOptions(BaseModel):
    """How to search the graph for a question (the ``answer-question`` flow's parameters)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Mode = Field(default="local", description="local (ranked neighbourhood), paths (between the linked "
                                                    "entities) or walk (the LLM walks the graph).")
    hops: int = Field(default=2, ge=1, le=4, description="How far from the linked entities to look.")
    top: int = Field(default=20, ge=1, le=200, description="Most relations (evidence items) retrieved.")
    beam: int = Field(default=50, ge=1, le=1000, description="Most new entities expanded per hop (best supported).")
    paths: int = Field(default=3, ge=1, le=20, description="paths mode: k shortest paths per pair of entities.")
    walk_steps: int = Field(default=4, ge=1, le=12, description="walk mode: most steps the LLM may take.")
    walk_choices: int = Field(default=10, ge=1, le=50, description="walk mode: ranked neighbours offered per step.")
    use_llm: bool = Field(default=True, description="False: retrieve and print the evidence, no answer.")
    embeddings: bool = Field(default=True, description="When no name matches, link by the vectors `kgweave embed` "
                                                       "stored (all-MiniLM-L6-v2, ml extra).")


class LinkedEntity(BaseModel):
    """A mention of the question and the entity it names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mention: str
    id: str
    name: str
    label: str
    method: str = Field(description="exact (normalised name), embedding (stored vectors, cosine in score) or llm "
                                    "(an ambiguous embedding match the LLM confirmed).")
    score: float = Field(default=1.0, description="Cosine of the mention and the entity's vector (1 for exact).")


# (question, candidates best first) -> the candidate the question names, or None
LinkJudge = Callable[[str, Sequence[LinkedEntity]], LinkedEntity | None]


class MentionEmbedder(Protocol):
    """What embedding links need (``agents.embeddings.Embedder``): a model name and unit vectors for texts."""

    name: str

    def embed(self, texts: Sequence[str]) -> object:
        """An (n, d) array of L2-normalised vectors."""


class CandidateRelation(BaseModel):
    """A relation of the neighbourhood with its support, hop distance and rank score."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    relation: Relation
    support: int
    hop: int
    score: float = 0.0


class EvidenceItem(BaseModel):
    """One relation (or path or walk hop) with the chunk that evidences it and the span it covers there.

    ``start``/``end`` are document offsets covering both mentions when the store kept their spans, else the
    whole chunk; ``text`` is the document text between them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["relation", "path_hop", "walk_hop"]
    relation_id: str
    source: str
    relation: str
    target: str
    chunk_id: str | None
    start: int | None
    end: int | None
    text: str
    support: int = 0
    score: float = 0.0
    path: int | None = Field(default=None, description="paths/walk: which path (0-based).")
    step: int | None = Field(default=None, description="paths/walk: which hop of it (0-based).")


# -- linking -------------------------------------------------------------------------------------------

def _mentions(question: str) -> list[tuple[int, int, str]]:
    """Candidate mentions, longest first: ``(first word, end word, words)`` over the normalised question
    (never starting or ending with a function word, never one frame word alone)."""
    words = normalize_name(question).split()
    out = []
    for size in range(min(MAX_MENTION_WORDS, len(words)), 0, -1):
        for i in range(len(words) - size + 1):
            gram = words[i:i + size]
            if gram[0] in _FUNCTION_WORDS or gram[-1] in _FUNCTION_WORDS or (size == 1 and gram[0] in _FRAME_WORDS):
                continue
            out.append((i, i + size, " ".join(gram)))
    return out


def link_entities(store: GraphStore, question: str, suggest: bool = True,
                  embedder: MentionEmbedder | None = None, judge: LinkJudge | None = None) -> list[LinkedEntity]:
    """The entities the question names: longest normalised word sequences first, never overlapping;
    when no name matches, the entity whose stored vector is nearest to a mention's (``embedder``).

    Parameters
    ----------
    store
        The graph.
    question
        Free text; it reaches the store only as query parameters.
    suggest
        On no link, look for the closest entity names (reads every entity name once).
    embedder
        Used only when no name matches and the store holds vectors of ``embedder.name`` (``kgweave
        embed``): the best mention-entity pair at cosine >= EMBEDDING_LINK_MIN_COSINE is linked, found
        with the store's vector index when it declares one, else by a pass over the stored vectors.
    judge
        Decides the ambiguous band (best cosine in [EMBEDDING_LINK_BAND, EMBEDDING_LINK_MIN_COSINE)):
        given the question and the EMBEDDING_LINK_CANDIDATES best candidates in the band, it returns the one
        the question names (linked with method ``llm``) or None.

    Returns
    -------
    list of LinkedEntity
        In question order; one entity per mention (the best supported of that name), no entity twice.

    Raises
    ------
    NoLinkError
        Nothing in the question names an entity.

    Notes
    -----
    O(w * MAX_MENTION_WORDS) indexed name look-ups for a question of w words; the embedding fallback
    embeds those mentions once and makes one index query per mention (or one O(n d) pass over n vectors).
    """
    covered: set[int] = set()
    found: list[tuple[int, LinkedEntity]] = []
    for first, end, gram in _mentions(question):
        if covered & set(range(first, end)):
            continue
        entities = store.find_entities(gram, limit=1)
        if not entities or any(e.id == entities[0].id for _, e in found):
            continue
        entity = entities[0]
        covered |= set(range(first, end))
        found.append((first, LinkedEntity(mention=gram, id=entity.id, name=entity.name, label=entity.label,
                                          method="exact")))
    if not found and embedder is not None:
        found = [(0, link) for link in _embedding_link(store, question, embedder, judge)]
    if not found:
        raise NoLinkError(question, closest_names(store, question) if suggest else [])
    return [link for _, link in sorted(found, key=lambda item: item[0])]


def _embedding_link(store: GraphStore, question: str, embedder: MentionEmbedder, judge: LinkJudge | None
                    ) -> list[LinkedEntity]:
    """The best (mention, entity) pair by cosine if it reaches the minimum, else the judge's pick in the band."""
    candidates = [c for c in _embedding_candidates(store, question, embedder) if c.score >= EMBEDDING_LINK_BAND]
    if not candidates:
        return []
    if candidates[0].score >= EMBEDDING_LINK_MIN_COSINE:
        return [candidates[0]]
    chosen = judge(question, candidates) if judge is not None else None
    return [chosen.model_copy(update={"method": "llm"})] if chosen is not None and chosen in candidates else []


def _embedding_candidates(store: GraphStore, question: str, embedder: MentionEmbedder) -> list[LinkedEntity]:
    """The EMBEDDING_LINK_CANDIDATES entities nearest to a mention of the question, best cosine first."""
    import numpy as np

    grams = [gram for _, _, gram in _mentions(question)]
    if not grams or not store.embedding_hashes(embedder.name):
        return []
    queries = np.asarray(embedder.embed(grams), dtype=np.float32)
    best: dict[str, tuple[float, str]] = {}  # entity id -> (cosine, mention)
    if Capability.VECTOR_SEARCH in store.capabilities:
        search = vector_search(store)
        for gram, vector in zip(grams, queries, strict=True):
            for entity_id, score in search.nearest(embedder.name, vector, k=EMBEDDING_LINK_CANDIDATES):
                if entity_id not in best or score > best[entity_id][0]:
                    best[entity_id] = (score, gram)
    else:
        stored = store.embeddings(embedder.name)
        ids = sorted(stored)
        cosines = queries @ np.stack([stored[i] for i in ids]).T
        for col in np.argsort(-cosines.max(axis=0), kind="stable")[:EMBEDDING_LINK_CANDIDATES]:
            row = int(np.argmax(cosines[:, col]))
            best[ids[col]] = (float(cosines[row, col]), grams[row])
    links = []
    for entity_id, (score, gram) in sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:EMBEDDING_LINK_CANDIDATES]:
        entity = store.get_entity(entity_id)
        if entity is not None:
            links.append(LinkedEntity(mention=gram, id=entity.id, name=entity.name, label=entity.label,
                                      method="embedding", score=round(score, 4)))
    return links


def check_question(store: GraphStore, question: str, options: AskOptions,
                   embedder: MentionEmbedder | None = None, judge: LinkJudge | None = None) -> list[LinkedEntity]:
    """The question's links, or RetrievalError if ``options.mode`` cannot serve it (checked before a run starts)."""
    if options.mode == "walk" and not options.use_llm:
        raise RetrievalError("--mode walk needs the LLM: drop --no-llm")
    linked = link_entities(store, question, embedder=embedder, judge=judge)
    if options.mode == "paths" and len(linked) < 2:
        raise RetrievalError("--mode paths needs a question naming two entities; "
                             f"only {', '.join(link.name for link in linked)!r} was found")
    return linked


def closest_names(store: GraphStore, question: str, n: int = 3) -> list[str]:
    """The entity names most like a mention of the question (difflib ratio >= 0.6), best first."""
    names = sorted({e.name for e in store.entities()})
    by_norm: dict[str, str] = {}
    for name in names:
        by_norm.setdefault(normalize_name(name), name)
    scored: dict[str, float] = {}
    for _, _, gram in _mentions(question):
        for match in difflib.get_close_matches(gram, list(by_norm), n=n, cutoff=0.6):
            ratio = difflib.SequenceMatcher(None, gram, match).ratio()
            scored[by_norm[match]] = max(scored.get(by_norm[match], 0.0), ratio)
    return [name for name, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


# -- neighbourhood -------------------------------------------------------------------------------------

def expand(store: GraphStore, seeds: Sequence[str], hops: int, beam: int) -> dict[str, CandidateRelation]:
    """The relations within ``hops`` of the seeds, breadth first, expanding at most ``beam`` new entities
    per hop (those joined to the frontier by the most support, then by id).

    Notes
    -----
    One store read per hop; O(R log R) for the R relations read.
    """
    found: dict[str, CandidateRelation] = {}
    seen = set(seeds)
    frontier = sorted(seen)
    for hop in range(1, hops + 1):
        if not frontier:
            break
        weight: dict[str, int] = {}
        for relation, support in store.incident_relations(frontier):
            if relation.id not in found:
                found[relation.id] = CandidateRelation(relation=relation, support=support, hop=hop)
            for end in (relation.source_id, relation.target_id):
                if end not in seen:
                    weight[end] = weight.get(end, 0) + support
        frontier = sorted(sorted(weight, key=lambda e: (-weight[e], e))[:beam])
        seen |= set(frontier)
    return found


def rank_relations(candidates: Iterable[CandidateRelation], seeds: Sequence[str]) -> list[CandidateRelation]:
    """Candidates scored by personalised PageRank from the seeds (both ends) times log(1 + support), best first.

    Notes
    -----
    PageRank on the neighbourhood only (power iteration, O(iterations * R)); ties broken by relation id.
    """
    ordered = sorted(candidates, key=lambda c: c.relation.id)
    graph = nx.Graph()
    graph.add_nodes_from(sorted(seeds))
    for c in ordered:
        a, b = c.relation.source_id, c.relation.target_id
        if a != b:
            previous = graph.get_edge_data(a, b, {}).get("weight", 0)
            graph.add_edge(a, b, weight=previous + c.support)
    personal = {node: (1.0 if node in set(seeds) else 0.0) for node in graph}
    rank = nx.pagerank(graph, alpha=0.85, personalization=personal, weight="weight", max_iter=500) if len(graph) else {}
    scored = [c.model_copy(update={"score": round((rank.get(c.relation.source_id, 0.0) + rank.get(
        c.relation.target_id, 0.0)) * math.log1p(c.support), 6)}) for c in ordered]
    return sorted(scored, key=lambda c: (-c.score, c.hop, c.relation.id))


# -- evidence ------------------------------------------------------------------------------------------

def _names(store: GraphStore, ids: Iterable[str]) -> dict[str, str]:
    names = {}
    for entity_id in sorted(set(ids)):
        entity: Entity | None = store.get_entity(entity_id)
        names[entity_id] = entity.name if entity else entity_id
    return names


def evidence_for(store: GraphStore, picked: Sequence[tuple[CandidateRelation, str, int | None, int | None]]
                 ) -> list[EvidenceItem]:
    """Evidence items for ``(candidate, kind, path, step)`` in that order, one per relation, each with its
    first evidence chunk (by chunk id) and the span of its mentions there; a relation without a chunk
    (an imported edge) is kept with no span and its type as text."""
    relations = [c.relation for c, _, _, _ in picked]
    first: dict[str, Relation] = {}
    for observation in store.relation_evidence(relations):
        first.setdefault(observation.id, observation)
    chunks = {c.id: c for c in store.chunks({o.chunk_id for o in first.values() if o.chunk_id})}
    names = _names(store, [e for r in relations for e in (r.source_id, r.target_id)])
    items = []
    for candidate, kind, path, step in picked:
        relation = candidate.relation
        observation = first.get(relation.id)
        chunk = chunks.get(observation.chunk_id) if observation and observation.chunk_id else None
        start = end = None
        text = f"{names[relation.source_id]} {relation.type} {names[relation.target_id]}"
        if chunk is not None and observation is not None:
            start, end = chunk.start, chunk.end
            spans = [observation.source_start, observation.source_end, observation.target_start,
                     observation.target_end]
            if all(x is not None for x in spans):
                lo, hi = min(spans), max(spans)  # type: ignore[type-var]
                if chunk.start <= lo < hi <= chunk.end:
                    start, end = lo, hi
            text = chunk.text[start - chunk.start:end - chunk.start]  # type: ignore[operator]
        items.append(EvidenceItem(
            kind=kind, relation_id=relation.id, source=names[relation.source_id], relation=relation.type,  # type: ignore[arg-type]
            target=names[relation.target_id], chunk_id=chunk.id if chunk else None, start=start, end=end, text=text,
            support=candidate.support, score=candidate.score, path=path, step=step))
    return items


def local_evidence(store: GraphStore, linked: Sequence[LinkedEntity], options: AskOptions) -> list[EvidenceItem]:
    """``local`` mode: the ``top`` best-ranked relations of the linked entities' ``hops`` neighbourhood.

    Notes
    -----
    ``hops`` store reads to expand, one PageRank on the neighbourhood, then reads for the chosen relations only.
    """
    seeds = sorted({link.id for link in linked})
    ranked = rank_relations(expand(store, seeds, options.hops, options.beam).values(), seeds)[: options.top]
    return evidence_for(store, [(c, "relation", None, None) for c in ranked])


def path_evidence(store: GraphStore, linked: Sequence[LinkedEntity], options: AskOptions) -> list[EvidenceItem]:
    """``paths`` mode: the ``paths`` shortest paths (up to ``2 * hops`` long) between each pair of linked
    entities, in the union of their neighbourhoods, each hop with its evidence.

    Raises
    ------
    RetrievalError
        Fewer than two entities were linked.

    Notes
    -----
    Yen's k shortest simple paths (networkx) per pair on the bounded neighbourhood.
    """
    seeds = sorted({link.id for link in linked})
    if len(seeds) < 2:
        raise RetrievalError("--mode paths needs a question naming two entities; "
                             f"only {', '.join(link.name for link in linked)!r} was found")
    candidates = expand(store, seeds, options.hops, options.beam)
    by_ends: dict[tuple[str, str, str], CandidateRelation] = {}
    for c in candidates.values():
        by_ends.setdefault((c.relation.source_id, c.relation.target_id, c.relation.type), c)
    snapshot = GraphSnapshot(
        nodes=tuple(SnapshotNode(id=n, name=n, label="") for n in sorted(
            {seed for seed in seeds} | {e for c in candidates.values() for e in (c.relation.source_id,
                                                                                 c.relation.target_id)})),
        edges=tuple(SnapshotEdge(id=c.relation.id, source=c.relation.source_id, target=c.relation.target_id,
                                 type=c.relation.type, support=c.support) for c in candidates.values()))
    graph = path_graph_from_snapshot(snapshot)
    simple = nx.Graph(graph)
    picked: list[tuple[CandidateRelation, str, int | None, int | None]] = []
    path_i = 0
    in_question = list(dict.fromkeys(link.id for link in linked))  # paths read from the first-named entity on
    for i, a in enumerate(in_question):
        for b in in_question[i + 1:]:
            if not nx.has_path(simple, a, b):
                continue
            for nodes in _k_paths(simple, a, b, options.paths, 2 * options.hops):
                for step_i, step in enumerate(path_steps(graph, nodes)):
                    key = (step.source, step.target, step.relation) if step.forward else (
                        step.target, step.source, step.relation)
                    picked.append((by_ends[key], "path_hop", path_i, step_i))
                path_i += 1
    return evidence_for(store, picked[: options.top]) if picked else []


def _k_paths(graph: nx.Graph, a: str, b: str, k: int, longest: int) -> list[list[str]]:
    out: list[list[str]] = []
    for nodes in nx.shortest_simple_paths(graph, a, b):
        if len(nodes) - 1 > longest or len(out) == k:
            break
        out.append(nodes)
    return out
