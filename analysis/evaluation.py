"""Scores for kgweave's built-in evaluations (pure functions over names, pairs and numbers).

- :func:`score_relations`: a consensus actant graph against a ground-truth character-relationship
  list (Shahsavari et al. 2020): actant coverage, relationship recall, edge detection rate, precision.
- :func:`distribution`: summary statistics of per-node scores (masked-node regeneration cosines).
- :func:`graph_overlap`: how two extractors' graphs of one corpus overlap.

Gold-file format (:func:`parse_gold_csv`): a CSV with a header row naming the columns ``actant_1``,
``actant_2`` and ``relation`` (other columns are ignored), one ground-truth relationship per row,
e.g. ``Bilbo Baggins,Gandalf,friend of``. Pairs are unordered; a row may leave ``relation`` empty.
Optional ``aliases_1`` / ``aliases_2`` columns declare other names of an actant, separated by ``;`` or ``|``
(``Matteo Alacran,El Patron,servant of,Matt;Matteo,``).
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ConsensusEdge",
    "ConsensusNode",
    "Distribution",
    "GoldFormatError",
    "GoldRelation",
    "GraphOverlap",
    "RelationScores",
    "distribution",
    "graph_overlap",
    "match_gold",
    "parse_gold_csv",
    "score_relations",
    "simple_key",
]

NameKey = Callable[[str], tuple[str, ...]]
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
GOLD_COLUMNS = ("actant_1", "actant_2", "relation")
_ALIAS_COLUMNS = ("aliases_1", "aliases_2")
# Words that cannot identify a character on their own: months, stop words, titles, kinds of beings.
_NOT_IDENTIFYING = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "the", "and", "for", "but", "with", "from", "this", "that", "his", "her", "their", "von", "van", "der", "del",
    "de", "la", "le", "du", "di", "da", "el", "al", "of", "in", "on", "at", "to", "an", "mr", "ms", "dr", "st",
    "mrs", "miss", "sir", "lady", "lord", "king", "queen", "prince", "princess", "elf", "man", "woman",
    "boy", "girl", "mother", "father", "brother", "sister", "new", "old", "young", "little", "great",
})
_MIN_TOKEN = 2
_MAX_EXTRA_WORDS = 2


class GoldFormatError(ValueError):
    """The gold file is not a CSV with actant_1, actant_2, relation columns."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GoldRelation(_Model):
    actant_1: str = Field(min_length=1)
    actant_2: str = Field(min_length=1)
    relation: str = ""
    aliases_1: tuple[str, ...] = ()
    aliases_2: tuple[str, ...] = ()


class ConsensusNode(_Model):
    name: str
    aliases: tuple[str, ...] = ()
    support: int = 0


class ConsensusEdge(_Model):
    source: str
    target: str
    types: tuple[str, ...] = ()


class RelationScores(_Model):
    """Shahsavari et al.'s measures of a consensus graph against a gold relationship list."""

    gold_actants: int
    found_actants: int
    actant_coverage: float = Field(description="Gold actants matched by a consensus actant / gold actants.")
    gold_pairs: int
    found_pairs: int
    relationship_recall: float = Field(description="Gold pairs joined by a consensus edge / gold pairs.")
    detectable_pairs: int = Field(description="Gold pairs whose two actants were both found.")
    edge_detection_rate: float = Field(description="Gold pairs joined by a consensus edge / detectable pairs.")
    consensus_edges: int
    evaluable_edges: int = Field(description="Consensus edges between two actants that match gold actants.")
    precision: float = Field(description="Evaluable edges that are gold pairs / evaluable edges.")
    precision_all: float = Field(description="Consensus edges that are gold pairs / all consensus edges.")
    label_agreement: float | None = Field(
        description="Found pairs whose gold relation is among the edge's types (normalised), / found pairs "
        "with a gold relation; None if the gold file gives no relations.")
    unmatched_edges: int = Field(description="Consensus edges with an end that matches no gold actant.")
    matched: dict[str, str] = Field(description="Gold actant -> consensus actant (one to one).")
    evidence: dict[str, str] = Field(default_factory=dict, description="Gold actant -> why it matched.")
    missing_actants: list[str]
    missing_pairs: list[tuple[str, str]]


class Distribution(_Model):
    n: int
    mean: float | None
    std: float | None
    min: float | None
    p25: float | None
    median: float | None
    p75: float | None
    max: float | None


class GraphOverlap(_Model):
    """Sizes of two graphs of one corpus and what they share (by normalised name, unordered pairs)."""

    a_entities: int
    b_entities: int
    shared_entities: int
    entity_jaccard: float
    a_relations: int
    b_relations: int
    shared_relations: int
    relation_jaccard: float
    b_entities_found_by_a: float = Field(description="Share of B's entities that A also found.")
    a_entities_found_by_b: float = Field(description="Share of A's entities that B also found.")


def simple_key(name: str) -> tuple[str, ...]:
    """Case-folded words of a name (NFKC)."""
    return tuple(_WORD.findall(unicodedata.normalize("NFKC", name).casefold()))


def parse_gold_csv(text: str) -> list[GoldRelation]:
    """Gold relationships from CSV text (see the module docstring).

    Raises
    ------
    GoldFormatError
        If a column is missing, a row lacks an actant, or there is no row.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    columns = {c.strip().lower(): c for c in reader.fieldnames or ()}
    missing = [c for c in GOLD_COLUMNS[:2] if c not in columns]
    if missing:
        raise GoldFormatError(
            f"gold CSV needs a header with actant_1, actant_2, relation; missing {', '.join(missing)}")
    rows = []
    for row in reader:
        a, b = (str(row.get(columns[c]) or "").strip() for c in GOLD_COLUMNS[:2])
        rel = str(row.get(columns["relation"]) or "").strip() if "relation" in columns else ""
        if not a or not b:
            raise GoldFormatError(f"gold CSV line {reader.line_num}: actant_1 and actant_2 must both be given")
        al1, al2 = (tuple(x.strip() for x in re.split(r"[;|]", str(row.get(columns[c]) or "")) if x.strip())
                    if c in columns else () for c in _ALIAS_COLUMNS)
        rows.append(GoldRelation(actant_1=a, actant_2=b, relation=rel, aliases_1=al1, aliases_2=al2))
    if not rows:
        raise GoldFormatError("gold CSV has no relationship rows")
    return rows


def _subset_evidence(gkey: tuple[str, ...], akey: tuple[str, ...]) -> bool:
    """One name's words are a subset of the other's, every word of the smaller one identifying (2+ letters,
    not a month, stop word, title or kind of being), and the larger has at most two more words."""
    small, large = sorted((set(gkey), set(akey)), key=len)
    return (bool(small) and small <= large and len(large) - len(small) <= _MAX_EXTRA_WORDS
            and all(len(w) >= _MIN_TOKEN and w not in _NOT_IDENTIFYING for w in small))


def match_gold(
    gold_names: Sequence[str], nodes: Sequence[ConsensusNode], key: NameKey = simple_key,
    declared: dict[str, tuple[str, ...]] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Match gold names to consensus actants one to one, each match with its evidence.

    Evidence, strongest first: ``exact alias`` (an alias of the actant has the gold name's key),
    ``declared alias`` (one of the gold file's aliases for the name has an alias's key), ``token
    subset`` (see :func:`_subset_evidence`), accepted only when the gold name and the actant have each
    other as their single candidate (among all actants, and the gold names not yet matched) and the
    actant is not taken. Within a level,
    better-supported actants are matched first.

    Returns
    -------
    tuple of dict
        Gold name -> actant name, and gold name -> evidence (e.g. ``exact alias 'Bilbo'``).

    Notes
    -----
    O(g * a) key comparisons for g gold names and a aliases.
    """
    declared = declared or {}
    akeys = [(node, [(alias, key(alias)) for alias in dict.fromkeys((node.name, *node.aliases))]) for node in nodes]
    matched: dict[str, str] = {}
    evidence: dict[str, str] = {}
    used: set[str] = set()
    for level in ("exact alias", "declared alias"):
        for gold in sorted(gold_names):
            wanted = {key(gold)} if level == "exact alias" else {key(d) for d in declared.get(gold, ())}
            wanted.discard(())
            if gold in matched or not wanted:
                continue
            hits = sorted(((node, alias) for node, aliases in akeys if node.name not in used
                           for alias, k in aliases if k in wanted), key=lambda h: (-h[0].support, h[0].name))
            if hits:
                matched[gold], evidence[gold] = hits[0][0].name, f"{level} {hits[0][1]!r}"
                used.add(hits[0][0].name)
    candidates: dict[str, dict[str, str]] = {}
    for gold in sorted(gold_names):
        if gold in matched:
            continue
        names = [key(gold), *(key(d) for d in declared.get(gold, ()))]
        for node, aliases in akeys:  # matched actants count too: "Baggins" with Bilbo and Frodo is ambiguous
            hit = next((alias for alias, k in aliases for g in names if _subset_evidence(g, k)), None)
            if hit is not None:
                candidates.setdefault(gold, {})[node.name] = hit
    by_actant: dict[str, list[str]] = {}
    for gold, found in candidates.items():
        for name in found:
            by_actant.setdefault(name, []).append(gold)
    for gold, found in sorted(candidates.items()):
        if len(found) == 1:
            (name, alias), = found.items()
            if len(by_actant[name]) == 1 and name not in used:
                matched[gold], evidence[gold] = name, f"token subset {alias!r}"
    return matched, evidence


def _type_key(text: str) -> str:
    return "_".join(_WORD.findall(unicodedata.normalize("NFKD", text).upper()))


def score_relations(
    nodes: Sequence[ConsensusNode], edges: Sequence[ConsensusEdge], gold: Sequence[GoldRelation],
    key: NameKey = simple_key, category: Callable[[str], str] | None = None,
) -> RelationScores:
    """Compare a consensus graph with gold relationships.

    Parameters
    ----------
    nodes, edges
        The consensus graph: actants (canonical name and aliases) and undirected edges between them.
    gold
        Ground-truth relationships; pairs are unordered and counted once.
    key
        Name -> identifying words (e.g. ``agents.actants.name_key``, which drops honorifics).
    category
        Relation type -> category (e.g. ``agents.actants.relation_category``: ``LOVES`` and ``lover of``
        are both ``romantic``) for the label agreement; default: the type's normalised words.

    Returns
    -------
    RelationScores
        Ratios are 0.0 when their denominator is 0.

    Notes
    -----
    Gold names are matched to actants one to one (:func:`match_gold`). O(g * a) key comparisons for
    g gold names and a aliases.
    """
    gold_names = sorted({n for g in gold for n in (g.actant_1, g.actant_2)})
    declared: dict[str, tuple[str, ...]] = {}
    for g in gold:
        for name, aliases in ((g.actant_1, g.aliases_1), (g.actant_2, g.aliases_2)):
            declared[name] = tuple(dict.fromkeys((*declared.get(name, ()), *aliases)))
    matched, evidence = match_gold(gold_names, nodes, key, declared)
    to_category = category or _type_key
    edge_types: dict[frozenset[str], set[str]] = {}
    for edge in edges:
        if edge.source != edge.target:
            edge_types.setdefault(frozenset((edge.source, edge.target)), set()).update(
                to_category(t) for t in edge.types)
    gold_pairs: dict[frozenset[str], str] = {}
    for g in gold:
        if g.actant_1 != g.actant_2:
            gold_pairs.setdefault(frozenset((g.actant_1, g.actant_2)), g.relation)
    found, detectable, missing, labelled, agreeing = 0, 0, [], 0, 0
    gold_consensus_pairs: set[frozenset[str]] = set()
    for pair, relation in sorted(gold_pairs.items(), key=lambda kv: sorted(kv[0])):
        a, b = sorted(pair)
        if a in matched and b in matched and matched[a] != matched[b]:
            detectable += 1
            cpair = frozenset((matched[a], matched[b]))
            gold_consensus_pairs.add(cpair)
            if cpair in edge_types:
                found += 1
                if relation:
                    labelled += 1
                    agreeing += to_category(relation) in edge_types[cpair]
                continue
        missing.append((a, b))
    gold_matched = set(matched.values())
    evaluable = [p for p in edge_types if p <= gold_matched]
    correct = sum(1 for p in evaluable if p in gold_consensus_pairs)
    return RelationScores(
        gold_actants=len(gold_names), found_actants=len(matched), actant_coverage=_ratio(len(matched), len(gold_names)),
        gold_pairs=len(gold_pairs), found_pairs=found, relationship_recall=_ratio(found, len(gold_pairs)),
        detectable_pairs=detectable, edge_detection_rate=_ratio(found, detectable),
        consensus_edges=len(edge_types), evaluable_edges=len(evaluable), precision=_ratio(correct, len(evaluable)),
        precision_all=_ratio(correct, len(edge_types)), unmatched_edges=len(edge_types) - len(evaluable),
        label_agreement=_ratio(agreeing, labelled) if labelled else None,
        matched=matched, evidence=evidence, missing_actants=[n for n in gold_names if n not in matched],
        missing_pairs=missing,
    )


def _ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den else 0.0


def distribution(values: Iterable[float]) -> Distribution:
    """n, mean, standard deviation (population), min, quartiles and max of ``values`` (None when empty).

    Notes
    -----
    Quartiles by linear interpolation between order statistics (numpy's default). O(n log n).
    """
    xs = sorted(float(v) for v in values)
    if not xs:
        return Distribution(n=0, mean=None, std=None, min=None, p25=None, median=None, p75=None, max=None)
    mean = sum(xs) / len(xs)
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs))
    return Distribution(n=len(xs), mean=round(mean, 4), std=round(std, 4), min=round(xs[0], 4),
                        p25=round(_quantile(xs, 0.25), 4), median=round(_quantile(xs, 0.5), 4),
                        p75=round(_quantile(xs, 0.75), 4), max=round(xs[-1], 4))


def _quantile(xs: Sequence[float], q: float) -> float:
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def graph_overlap(
    a_entities: Iterable[str], a_pairs: Iterable[tuple[str, str]],
    b_entities: Iterable[str], b_pairs: Iterable[tuple[str, str]],
) -> GraphOverlap:
    """Overlap of two graphs given as entity keys and relation end pairs (unordered).

    Notes
    -----
    Jaccard = shared / union; O(n) set operations.
    """
    ea, eb = set(a_entities), set(b_entities)
    pa = {frozenset(p) for p in a_pairs if p[0] != p[1]}
    pb = {frozenset(p) for p in b_pairs if p[0] != p[1]}
    return GraphOverlap(
        a_entities=len(ea), b_entities=len(eb), shared_entities=len(ea & eb), entity_jaccard=_ratio(len(ea & eb),
                                                                                                    len(ea | eb)),
        a_relations=len(pa), b_relations=len(pb), shared_relations=len(pa & pb),
        relation_jaccard=_ratio(len(pa & pb), len(pa | pb)),
        b_entities_found_by_a=_ratio(len(ea & eb), len(eb)), a_entities_found_by_b=_ratio(len(ea & eb), len(ea)),
    )
