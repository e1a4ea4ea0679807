"""Entity resolution: exact canonical names at build time, and layered resolution over a whole store.

:func:`canonical_entities` picks the shown name of one id while building. :func:`resolve` finds
duplicates among a store's entities (exact key, acronyms, typos, embedding neighbours, an optional
judge) and returns merge records; the store keeps them and shows the collapsed graph.
"""

from __future__ import annotations

import importlib.util
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from kgweave.agents.labels import GENERIC_LABELS
from kgweave.graph_store.ids import normalize_name
from kgweave.graph_store.models import Entity, EntityMerge, Mention

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from kgweave.agents.embeddings import Embedder

__all__ = [
    "CandidatePair",
    "EntityRow",
    "Judge",
    "ResolutionConfig",
    "ResolutionReport",
    "acronym_of",
    "canonical_entities",
    "initials_of",
    "loose_key",
    "name_tokens",
    "range_pairs",
    "resolve",
    "typo_ratio",
    "resolve_report",
]


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


# -- layered resolution over a whole store ------------------------------------------------------------

EntityRow = tuple[str, str, str, int]
_Pairs = list[tuple[int, int, float]]
"""(entity id, name, label, support): what :func:`resolve` reads, e.g. from a store's snapshot."""

_ARTICLES = frozenset({"the", "a", "an"})
_STOPWORDS = frozenset({"the", "a", "an", "of", "for", "and", "in", "on", "to", "with", "by", "at"})
_ACRONYM = re.compile(r"^[A-Z][A-Za-z0-9]{1,9}$")
_WORD = re.compile(r"\w+", re.UNICODE)


class ResolutionConfig(BaseModel):
    """Thresholds and switches of :func:`resolve`; every one has a default that measured well."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    candidate_threshold: float = Field(
        default=0.80, ge=0.0, le=1.0, description="Cosine from which two names are a candidate pair.")
    merge_threshold: float = Field(
        default=0.90, ge=0.0, le=1.0,
        description="Cosine from which a string-confirmed pair merges; confirmed pairs below it and "
                    "unconfirmed pairs above it are the ambiguous band (judge, or left alone).")
    string_threshold: float = Field(
        default=0.92, ge=0.0, le=1.0,
        description="Character similarity (difflib ratio of the compact keys) that confirms a typo.")
    fuzzy: bool = Field(default=True, description="Find typo variants by character blocking (prefix/suffix).")
    fuzzy_block_limit: int = Field(default=400, ge=2, description="Blocks larger than this are skipped.")
    max_rounds: int = Field(default=5, ge=1, description="Passes over the collapsed graph until no new merge "
                                                         "(the fixed point), at most this many.")
    acronyms: bool = Field(default=True, description="Merge 'GNNs' with 'graph neural networks' when initials match.")
    generic_labels: tuple[str, ...] = Field(
        default=GENERIC_LABELS,
        description="Labels compatible with every label (a record's Topic names a concept of any kind).")
    index: Literal["auto", "exact", "hnsw"] = Field(
        default="auto",
        description="Range search: blocked exact matmul, or faiss HNSW (auto: HNSW from hnsw_min_size rows).")
    hnsw_min_size: int = Field(default=50_000, ge=1)
    block_size: int = Field(default=1024, ge=1, description="Rows per block of the exact range search.")
    max_neighbours: int = Field(default=256, ge=1, description="At most this many candidates per name.")


@dataclass(frozen=True)
class CandidatePair:
    """Two entities that might be one, with the evidence: what a judge decides on."""

    a_id: str
    a_name: str
    b_id: str
    b_name: str
    score: float
    reason: str


Judge = Callable[[Sequence[CandidatePair]], Sequence[bool]]
"""Decides ambiguous pairs: one bool per pair (True: same entity), e.g. an LLM."""


@dataclass
class ResolutionReport:
    """Merges and what each layer did (seconds, pairs), for logs and benchmarks."""

    merges: list[EntityMerge]
    seconds: dict[str, float] = field(default_factory=dict)
    pairs: dict[str, int] = field(default_factory=dict)
    clusters: int = 0


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def name_tokens(name: str) -> list[str]:
    """Normalised words of a name, each singular, stopwords left out (the word-order-free key)."""
    words = [_singular(w) for w in normalize_name(name).split()]
    kept = [w for w in words if w not in _STOPWORDS]
    return kept or words


def loose_key(name: str) -> str:
    """Exact-layer key: normalised, leading article dropped, every word singular, spaces and hyphens removed."""
    words = normalize_name(name).split()
    if len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return "".join(_singular(w) for w in words)


def acronym_of(name: str) -> str | None:
    """``"GNN"`` for ``"GNNs"``/``"GNN"``: a single capitalised token with two or more capitals, else None."""
    text = name.strip()
    if not _ACRONYM.match(text):
        return None
    core = text[:-1] if text.endswith("s") else text
    if sum(c.isupper() for c in core) < 2 or not core.isupper():
        return None
    return core


def initials_of(name: str) -> str | None:
    """``"GNN"`` for ``"graph neural networks"`` (two or more words, stopwords skipped), else None."""
    words = [w for w in _WORD.findall(normalize_name(name)) if w not in _STOPWORDS]
    if len(words) < 2 or any(not w[0].isalpha() for w in words):
        return None
    return "".join(w[0] for w in words).upper()


def typo_ratio(a: str, b: str) -> float:
    """Character similarity of two names if they can be a typo of each other, else 0.0.

    A typo keeps the start of every word: names whose differing words begin differently
    ("retraining" / "pre-training", "supervised" / "unsupervised") are different stems however
    similar their characters.
    """
    words_a, words_b = a.split(), b.split()
    if a[:1] != b[:1] or (len(words_a) == len(words_b)
                          and any(x[:1] != y[:1] for x, y in zip(words_a, words_b, strict=True) if x != y)):
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def _marker_differs(a: Sequence[str], b: Sequence[str]) -> bool:
    """Names that differ in a number or a one/two-letter token (IL-6/IL-8, kinase A/C) are different things."""
    return any(any(c.isdigit() for c in t) or len(t) <= 2 for t in set(a) ^ set(b))


class _Clusters:
    """Union-find whose clusters never hold two different specific labels."""

    def __init__(self, labels: Sequence[str], generic: frozenset[str]) -> None:
        self.parent = list(range(len(labels)))
        self.specific: list[frozenset[str]] = [frozenset() if lb in generic else frozenset({lb}) for lb in labels]
        self.how: dict[int, tuple[str, float]] = {}

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def compatible(self, i: int, j: int) -> bool:
        return len(self.specific[self.find(i)] | self.specific[self.find(j)]) <= 1

    def union(self, i: int, j: int, method: str, score: float) -> bool:
        ri, rj = self.find(i), self.find(j)
        if ri == rj or not self.compatible(ri, rj):
            return False
        self.parent[rj] = ri
        self.specific[ri] = self.specific[ri] | self.specific[rj]
        self.how.setdefault(i, (method, score))
        self.how.setdefault(j, (method, score))
        return True


def resolve(
    entities: Sequence[EntityRow],
    embedder: Embedder | None,
    config: ResolutionConfig | None = None,
    judge: Judge | None = None,
    run_id: str = "resolve",
) -> list[EntityMerge]:
    """Layered entity resolution: the merges (alias -> canonical) that make duplicates one entity.

    See :func:`resolve_report` for the layers; this returns only the merges. Pure: reads no store.
    """
    return resolve_report(entities, embedder, config, judge, run_id).merges


def resolve_report(
    entities: Sequence[EntityRow],
    embedder: Embedder | None,
    config: ResolutionConfig | None = None,
    judge: Judge | None = None,
    run_id: str = "resolve",
) -> ResolutionReport:
    """Layered entity resolution with per-layer timings.

    Layers, cheapest first (after Graphiti's dedup): (1) exact: one :func:`loose_key` (case,
    whitespace, punctuation, hyphens, plurals, a leading article); (2) acronym: "GNNs" and
    "graph neural networks" when the initials match one expansion only; (2b) fuzzy: typo variants
    found by blocking on the key's prefix and suffix, confirmed by character similarity of words
    that start alike (:func:`typo_ratio`: "retraining" is not a typo of "pre-training"); (3)
    embedding: pairs with cosine >= ``candidate_threshold`` by range search (blocked, or HNSW;
    never an n x n matrix), merged when cosine >= ``merge_threshold`` and a string rule confirms
    (same words in any order, or a typo); the ambiguous band goes to ``judge`` or is left alone.
    Labels: generic labels (Concept, NamedEntity, Topic, ResearchTopic) join any label; two specific
    labels never share a cluster. Canonical of a cluster: highest support, then shortest name, then smallest id.
    """
    cfg = config or ResolutionConfig()
    rows = sorted({r[0]: r for r in entities}.values(), key=lambda r: r[0])
    ids = [r[0] for r in rows]
    names = [r[1] for r in rows]
    clusters = _Clusters([r[2] for r in rows], frozenset(cfg.generic_labels))
    report = ResolutionReport(merges=[])
    ambiguous: list[tuple[int, int, float, str]] = []

    clock = time.perf_counter()
    keys = [loose_key(n) for n in names]
    _exact_layer(keys, [r[2] for r in rows], clusters, frozenset(cfg.generic_labels))
    report.seconds["exact"] = time.perf_counter() - clock

    if cfg.acronyms:
        clock = time.perf_counter()
        report.pairs["acronym_ambiguous"] = _acronym_layer(names, clusters, ambiguous)
        report.seconds["acronym"] = time.perf_counter() - clock

    if cfg.fuzzy:
        clock = time.perf_counter()
        report.pairs["fuzzy"] = _fuzzy_layer(keys, names, clusters, cfg)
        report.seconds["fuzzy"] = time.perf_counter() - clock

    if embedder is not None and len(rows) > 1:
        clock = time.perf_counter()
        vectors = embedder.embed(names)
        report.seconds["embed"] = time.perf_counter() - clock
        clock = time.perf_counter()
        pairs = range_pairs(vectors, cfg.candidate_threshold, cfg)
        report.seconds["search"] = time.perf_counter() - clock
        report.pairs["candidates"] = len(pairs)
        clock = time.perf_counter()
        report.pairs["embedding"] = _embedding_layer(pairs, names, keys, clusters, cfg, ambiguous)
        report.seconds["confirm"] = time.perf_counter() - clock

    report.pairs["ambiguous"] = len(ambiguous)
    if judge is not None and ambiguous:
        clock = time.perf_counter()
        live = [(i, j, s, why) for i, j, s, why in ambiguous
                if clusters.find(i) != clusters.find(j) and clusters.compatible(i, j)]
        verdicts = judge([CandidatePair(ids[i], names[i], ids[j], names[j], s, why) for i, j, s, why in live])
        report.pairs["judged_same"] = 0
        for (i, j, s, _), same in zip(live, verdicts, strict=True):
            if same and clusters.union(i, j, "llm", s):
                report.pairs["judged_same"] += 1
        report.seconds["judge"] = time.perf_counter() - clock

    report.merges = _merges_of(rows, clusters, run_id)
    report.clusters = len({clusters.find(i) for i in range(len(rows))})
    return report


def _exact_layer(keys: Sequence[str], labels: Sequence[str], clusters: _Clusters, generic: frozenset[str]) -> None:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        if key:
            groups[key].append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        specific = {labels[i] for i in members} - generic
        if len(specific) <= 1:
            for j in members[1:]:
                clusters.union(members[0], j, "exact", 1.0)
        else:  # Paris the Place and Paris the Character: each joins its own label; generics stay apart
            by_label: dict[str, list[int]] = defaultdict(list)
            for i in members:
                by_label[labels[i]].append(i)
            for same in by_label.values():
                for j in same[1:]:
                    clusters.union(same[0], j, "exact", 1.0)


def _acronym_layer(names: Sequence[str], clusters: _Clusters, ambiguous: list[tuple[int, int, float, str]]) -> int:
    expansions: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        initials = initials_of(name)
        if initials is not None and 2 <= len(initials) <= 10:
            expansions[initials].append(i)
    unclear = 0
    for i, name in enumerate(names):
        acronym = acronym_of(name)
        if acronym is None or acronym not in expansions:
            continue
        roots: dict[int, int] = {}
        for j in expansions[acronym]:
            if clusters.compatible(i, j):
                roots.setdefault(clusters.find(j), j)
        if len(roots) == 1:
            clusters.union(i, next(iter(roots.values())), "acronym", 1.0)
        elif roots:
            unclear += 1
            ambiguous.extend((i, j, 1.0, "acronym with several expansions") for j in roots.values())
    return unclear


def _fuzzy_layer(keys: Sequence[str], names: Sequence[str], clusters: _Clusters, cfg: ResolutionConfig) -> int:
    """Typo variants: compare keys that share a 4-character prefix or suffix (blocking, no all-pairs)."""
    blocks: dict[str, list[int]] = defaultdict(list)
    seen_keys: dict[str, int] = {}
    for i, key in enumerate(keys):
        if len(key) >= 6 and key not in seen_keys:  # one representative per exact key
            seen_keys[key] = i
            blocks["<" + key[:4]].append(i)
            blocks[">" + key[-4:]].append(i)
    tokens = {i: name_tokens(names[i]) for i in seen_keys.values()}
    merged = 0
    done: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > cfg.fuzzy_block_limit:
            continue
        members = sorted(members, key=lambda m: len(keys[m]))
        for x, i in enumerate(members):
            for j in members[x + 1:]:
                if len(keys[j]) - len(keys[i]) > 2:
                    break
                if (i, j) in done:
                    continue
                done.add((i, j))
                if _marker_differs(tokens[i], tokens[j]) or not clusters.compatible(i, j):
                    continue
                ratio = typo_ratio(keys[i], keys[j])
                if ratio >= cfg.string_threshold and clusters.union(i, j, "fuzzy", round(ratio, 4)):
                    merged += 1
    return merged


def range_pairs(vectors: npt.NDArray[np.float32], threshold: float, cfg: ResolutionConfig) -> _Pairs:
    """Pairs (i < j, cosine) of unit vectors with cosine >= ``threshold``.

    Exact: blocks of ``block_size`` rows against the rows after them (half the products, memory
    O(block_size * n), never the n x n matrix). HNSW (faiss, from ``hnsw_min_size`` rows with
    ``index="auto"``): k nearest neighbours with k doubled for the rows whose k-th neighbour is
    still above the threshold, so dense names are not cut at a fixed k (range semantics).
    """
    n = len(vectors)
    use_hnsw = cfg.index == "hnsw" or (cfg.index == "auto" and n >= cfg.hnsw_min_size and _has_faiss())
    if use_hnsw:
        return _hnsw_pairs(vectors, threshold, cfg)
    return _exact_pairs(vectors, threshold, cfg)


def _has_faiss() -> bool:
    return importlib.util.find_spec("faiss") is not None


def _exact_pairs(vectors: npt.NDArray[np.float32], threshold: float, cfg: ResolutionConfig) -> _Pairs:
    import numpy as np

    found: list[tuple[int, int, float]] = []
    n = len(vectors)
    for start in range(0, n, cfg.block_size):
        stop = min(start + cfg.block_size, n)
        sims = vectors[start:stop] @ vectors[start:].T
        rows, cols = np.nonzero(sims >= threshold)
        keep = cols > rows  # upper triangle: cols are offset by start like rows
        rows, cols = rows[keep], cols[keep]
        if cfg.max_neighbours and len(rows):
            order = np.lexsort((-sims[rows, cols], rows))
            rows, cols = rows[order], cols[order]
            rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
            keep = rank < cfg.max_neighbours
            rows, cols = rows[keep], cols[keep]
        scores = sims[rows, cols]
        found.extend(zip((rows + start).tolist(), (cols + start).tolist(), scores.tolist(), strict=True))
    return found


def _hnsw_pairs(vectors: npt.NDArray[np.float32], threshold: float, cfg: ResolutionConfig) -> _Pairs:
    import faiss
    import numpy as np

    data = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexHNSWFlat(data.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 200
    index.add(data)
    pairs: dict[tuple[int, int], float] = {}
    todo = np.arange(len(data))
    k = 32
    while len(todo):
        k_now = min(k, len(data))
        index.hnsw.efSearch = max(64, 2 * k_now)
        sims, nbrs = index.search(data[todo], k_now)
        for row, q in enumerate(todo.tolist()):
            for s, j in zip(sims[row].tolist(), nbrs[row].tolist(), strict=True):
                if j >= 0 and j != q and s >= threshold:
                    key = (q, j) if q < j else (j, q)
                    pairs[key] = max(pairs.get(key, -1.0), s)
        full = sims[:, -1] >= threshold
        if k_now >= min(cfg.max_neighbours, len(data)) or not full.any():
            break
        todo, k = todo[full], k * 4
    return [(i, j, s) for (i, j), s in pairs.items()]


def _embedding_layer(
    pairs: Sequence[tuple[int, int, float]], names: Sequence[str], keys: Sequence[str], clusters: _Clusters,
    cfg: ResolutionConfig, ambiguous: list[tuple[int, int, float, str]],
) -> int:
    tokens: dict[int, list[str]] = {}
    merged = 0
    for i, j, score in sorted(pairs, key=lambda p: (-p[2], p[0], p[1])):
        if keys[i] == keys[j] or clusters.find(i) == clusters.find(j) or not clusters.compatible(i, j):
            continue  # one key: the exact layer decided (e.g. Paris the Place vs Paris the Character)
        ti = tokens.setdefault(i, name_tokens(names[i]))
        tj = tokens.setdefault(j, name_tokens(names[j]))
        if _marker_differs(ti, tj):
            continue
        same_words = sorted(ti) == sorted(tj)
        typo = typo_ratio(" ".join(ti), " ".join(tj)) >= cfg.string_threshold
        confirmed = same_words or typo
        score = min(max(score, 0.0), 1.0)
        if confirmed and score >= cfg.merge_threshold:
            if clusters.union(i, j, "embedding", round(score, 4)):
                merged += 1
        elif confirmed or score >= cfg.merge_threshold:
            ambiguous.append((i, j, score, "similar words" if confirmed else "similar meaning"))
    return merged


def _merges_of(rows: Sequence[EntityRow], clusters: _Clusters, run_id: str) -> list[EntityMerge]:
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(rows)):
        members[clusters.find(i)].append(i)
    merges: list[EntityMerge] = []
    for group in members.values():
        if len(group) < 2:
            continue
        canonical = min(group, key=lambda i: (-rows[i][3], len(rows[i][1]), rows[i][0]))
        for i in group:
            if i != canonical:
                method, score = clusters.how.get(i, ("exact", 1.0))
                merges.append(EntityMerge(alias_id=rows[i][0], canonical_id=rows[canonical][0],
                                          score=score, method=method, run_id=run_id))
    return sorted(merges, key=lambda m: m.alias_id)
