"""Actants of a story and the per-book consensus graph of many reviews (Shahsavari et al. 2020).

Readers name one character many ways ("Bilbo", "Mr. Baggins", "Bilbo Baggins"). :func:`alias_map`
merges such names with deterministic rules:

1. the *key* of a name is its case-folded words with possessives, leading honorifics ("Mr.",
   "Lady", "King"...) and articles removed: "Mr. Baggins" -> {baggins};
2. names with equal keys are one actant;
3. a proper name (written with a capital) whose key is a subset of the keys of exactly one
   *maximal* name (a key no other key contains) joins that name: "Bilbo" and "Mr. Baggins" join
   "Bilbo Baggins". If two maximal names contain it ("Baggins" with both "Bilbo Baggins" and
   "Frodo Baggins"), it is ambiguous and stays alone.

:func:`consensus_graph` counts, per canonical actant, the reviews that mention it (support), and per
pair of actants the reviews that state a relation between them, then keeps the core above the
thresholds.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "HONORIFICS",
    "Actant",
    "ActantRelation",
    "ConsensusActant",
    "ConsensusGraph",
    "ConsensusRelation",
    "ReviewGraph",
    "alias_map",
    "consensus_graph",
    "name_key",
]

HONORIFICS = frozenset({
    "mr", "mrs", "ms", "miss", "mx", "mister", "master", "madam", "madame", "dr", "doctor", "sir", "dame",
    "lady", "lord", "professor", "prof", "captain", "capt", "uncle", "aunt", "auntie", "king", "queen",
    "prince", "princess", "duke", "duchess", "count", "countess", "general", "colonel", "detective",
    "inspector", "sergeant", "saint", "st",
})
_ARTICLES = frozenset({"the", "a", "an", "of"})
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_POSSESSIVE = re.compile(r"['\u2019]s\b", re.IGNORECASE)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Actant(_Model):
    """A character, place, object or group as one review names it."""

    name: str = Field(min_length=1)
    label: str = "Character"


class ActantRelation(_Model):
    """A relation one review states between two actants (by name)."""

    source: str
    type: str
    target: str


class ReviewGraph(_Model):
    """One review's small actant graph."""

    review_id: str
    actants: tuple[Actant, ...] = ()
    relations: tuple[ActantRelation, ...] = ()


class ConsensusActant(_Model):
    name: str = Field(description="Canonical name (the most supported form of the longest alias).")
    label: str
    support: int = Field(description="Reviews that mention the actant under any of its aliases.")
    aliases: tuple[str, ...] = Field(description="Every name merged into this actant, sorted.")


class ConsensusRelation(_Model):
    source: str
    target: str
    types: tuple[str, ...] = Field(description="Relation types stated, most frequent first.")
    support: int = Field(description="Reviews stating a relation between the two actants (either direction).")


class ConsensusGraph(_Model):
    reviews: int
    actants: tuple[ConsensusActant, ...]
    relations: tuple[ConsensusRelation, ...]
    min_actant_support: int
    min_relation_support: int


def name_key(name: str) -> tuple[str, ...]:
    """Words of a name that identify the actant: case-folded, without possessives, honorifics, articles."""
    text = _POSSESSIVE.sub("", unicodedata.normalize("NFKC", name)).casefold()
    words = [w for w in _WORD.findall(text) if w not in _ARTICLES]
    while len(words) > 1 and words[0] in HONORIFICS:
        words.pop(0)
    return tuple(words)


def alias_map(names: Iterable[str], support: Mapping[str, int] | None = None) -> dict[str, str]:
    """Map every name to its actant's canonical name (see the module docstring for the rules).

    The canonical name is a surface form of the cluster's maximal key: the most supported, then the
    longest, then the alphabetically first, so the result does not depend on input order.

    Complexity: O(k^2) set comparisons over the k distinct keys (a book's reviews name few actants).
    """
    support = support or {}
    forms: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for name in sorted(set(names)):
        key = name_key(name)
        if key:
            forms[key].append(name)
    sets = {key: frozenset(key) for key in forms}
    maximal = [k for k in forms if not any(sets[k] < sets[o] for o in forms if o != k)]
    target: dict[tuple[str, ...], tuple[str, ...]] = {}
    for key in forms:
        if key in maximal:
            target[key] = key
            continue
        supersets = [m for m in maximal if sets[key] < sets[m]]
        proper = any(name[:1].isupper() for name in forms[key])
        target[key] = supersets[0] if len(supersets) == 1 and proper else key
    canonical: dict[tuple[str, ...], str] = {}
    for key, forms_of_key in forms.items():
        if target[key] == key:
            canonical[key] = min(forms_of_key, key=lambda f: (-support.get(f, 0), -len(f), f))
    return {name: canonical[target[key]] for key, group in forms.items() for name in group}


def consensus_graph(
    reviews: Sequence[ReviewGraph], min_actant_support: int = 1, min_relation_support: int = 1,
) -> ConsensusGraph:
    """Aggregate reviews of one book: aliases merged, support counted per review, the core kept.

    An actant is kept when at least ``min_actant_support`` reviews mention it, a relation when at
    least ``min_relation_support`` reviews state it and both its ends are kept.
    """
    mentions: Counter[str] = Counter()
    for review in reviews:
        mentions.update({a.name for a in review.actants} | {n for r in review.relations for n in (r.source, r.target)})
    canonical = alias_map(mentions, mentions)
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    actant_reviews: dict[str, set[str]] = defaultdict(set)
    pair_reviews: dict[tuple[str, str], set[str]] = defaultdict(set)
    pair_types: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for review in reviews:
        for actant in review.actants:
            if actant.name in canonical:
                labels[canonical[actant.name]][actant.label] += 1
                actant_reviews[canonical[actant.name]].add(review.review_id)
        for rel in review.relations:
            a, b = canonical.get(rel.source), canonical.get(rel.target)
            if a is None or b is None or a == b:
                continue
            pair = (min(a, b), max(a, b))
            pair_reviews[pair].add(review.review_id)
            pair_types[pair][rel.type] += 1
            for end in pair:
                actant_reviews[end].add(review.review_id)
    aliases: dict[str, list[str]] = defaultdict(list)
    for name, canon in canonical.items():
        aliases[canon].append(name)
    kept = {name for name, ids in actant_reviews.items() if len(ids) >= min_actant_support}
    actants = tuple(sorted(
        (ConsensusActant(name=name, label=_top(labels[name]) or "Character", support=len(actant_reviews[name]),
                         aliases=tuple(sorted(aliases[name]))) for name in kept),
        key=lambda a: (-a.support, a.name)))
    relations = tuple(sorted(
        (ConsensusRelation(source=a, target=b, support=len(ids), types=_ranked(pair_types[(a, b)]))
         for (a, b), ids in pair_reviews.items()
         if len(ids) >= min_relation_support and a in kept and b in kept),
        key=lambda r: (-r.support, r.source, r.target)))
    return ConsensusGraph(reviews=len(reviews), actants=actants, relations=relations,
                          min_actant_support=min_actant_support, min_relation_support=min_relation_support)


def _ranked(counts: Counter[str]) -> tuple[str, ...]:
    return tuple(sorted(counts, key=lambda k: (-counts[k], k)))


def _top(counts: Counter[str]) -> str | None:
    return min(counts, key=lambda k: (-counts[k], k)) if counts else None
