"""Actants of a story and the per-book consensus graph of many reviews (Shahsavari et al. 2020).

Readers name one character many ways ("Bilbo", "Mr. Baggins", "Bilbo Baggins"). :func:`alias_map`
merges such names with deterministic rules:

1. the *key* of a name is its case-folded words with possessives, leading honorifics ("Mr.",
   "Lady", "King"...) and articles removed: "Mr. Baggins" -> {baggins};
2. names with equal keys are one actant;
3. a proper name (written with a capital) whose key is a subset of the keys of exactly one
   *maximal* name (a key no other key contains) joins that name: "Bilbo" and "Mr. Baggins" join
   "Bilbo Baggins". If two maximal names contain it ("Baggins" with both "Bilbo Baggins" and
   "Frodo Baggins"), it is ambiguous and stays alone, unless one of them has ``DOMINANCE`` times the
   other's support; generic words ("Lord", "Elf", titles of address) and initials never carry a merge;
4. a capitalised single word that starts exactly one full name's first word joins it ("Matt" ->
   "Matteo Alacran").

The canonical name is the cluster's best-supported full name. :func:`alias_merges` also returns each
merge with its rule and supports.

Before merging, :func:`meta_reason` sets aside what reviews say *about the book* rather than the story:
its title and the title's words, its authors, other books' titles and authors seen in the records,
and a small reviewing lexicon ("ARC", "audiobook", "series", genre words). Set-aside names are kept,
with the reason, in :attr:`ConsensusGraph.filtered`.

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
    "DOMINANCE",
    "GENERIC_WORDS",
    "HONORIFICS",
    "RELATION_CATEGORIES",
    "REVIEWING_LEXICON",
    "Actant",
    "ActantRelation",
    "AliasMerge",
    "BookContext",
    "ConsensusActant",
    "ConsensusGraph",
    "ConsensusRelation",
    "FilteredActant",
    "ReviewGraph",
    "alias_map",
    "alias_merges",
    "consensus_graph",
    "meta_reason",
    "name_key",
    "relation_category",
]

HONORIFICS = frozenset({
    "mr", "mrs", "ms", "miss", "mx", "mister", "master", "madam", "madame", "dr", "doctor", "sir", "dame",
    "lady", "lord", "professor", "prof", "captain", "capt", "uncle", "aunt", "auntie", "king", "queen",
    "prince", "princess", "duke", "duchess", "count", "countess", "general", "colonel", "detective",
    "inspector", "sergeant", "saint", "st",
})
_ARTICLES = frozenset({"the", "a", "an", "of"})
# Words that name a kind of being or a rank, not one character: they never carry a merge on their own.
GENERIC_WORDS = HONORIFICS | frozenset({
    "elf", "elves", "elven", "dwarf", "dwarves", "hobbit", "wizard", "witch", "dragon", "man", "men", "woman",
    "women", "boy", "girl", "child", "kid", "mother", "father", "mom", "mum", "dad", "brother", "sister", "son",
    "daughter", "wife", "husband", "emperor", "empress", "knight", "rider", "riders", "lady", "lord", "and",
    "young", "old", "little", "big", "great", "jr", "sr",
})
# A candidate full name must have this many times the support of the next one to take a shared short name.
DOMINANCE = 3
# What readers say about books, not stories (multi-word entries are matched as whole names).
REVIEWING_LEXICON = frozenset({
    "arc", "arcs", "audiobook", "audiobooks", "audio", "audible", "kindle", "ebook", "netgalley", "goodreads",
    "book", "books", "novel", "novels", "novella", "series", "sequel", "prequel", "trilogy", "saga", "chapter",
    "chapters", "author", "authors", "reader", "readers", "narrator", "review", "reviews", "rating", "stars",
    "star", "spoiler", "spoilers", "dnf", "edition", "paperback", "hardcover", "cover", "page", "pages", "plot",
    "story", "stories", "character", "characters", "protagonist", "ending", "epilogue", "prologue", "genre",
    "fantasy", "romance", "ya", "young adult", "sci fi", "scifi", "science fiction", "fiction", "nonfiction",
    "mystery", "thriller", "horror", "dystopia", "dystopian", "classic", "classics", "magic", "adventure",
    "literature", "library", "bookstore", "publisher", "amazon", "movie", "film", "tv", "netflix", "hbo",
    "i", "me", "my", "you", "we", "it", "this", "highly", "recommend", "overall", "wow", "ok", "okay", "lol",
    "class", "href", "https", "http", "nofollow", "gr", "hostedUserImg", "hosteduserimg", "img", "br", "src",
})
_COOCCURS = "CO_OCCURS_WITH"
# kgweave relation types (LLM reviews schema or extracted verbs) -> the categories gold sets annotate
# (Massey et al. 2015's character relations).
RELATION_CATEGORIES: Mapping[str, str] = {
    "FAMILY_OF": "family", "PARENT_OF": "family", "CHILD_OF": "family", "SIBLING_OF": "family",
    "MOTHER_OF": "family", "FATHER_OF": "family", "SON_OF": "family", "DAUGHTER_OF": "family",
    "BROTHER_OF": "family", "SISTER_OF": "family", "COUSIN_OF": "family", "RELATED_TO": "family",
    "FRIEND_OF": "friend", "FRIENDS_WITH": "friend", "BEFRIENDS": "friend", "ALLY_OF": "friend", "HELPS": "friend",
    "SAVES": "friend", "PROTECTS": "friend", "TRUSTS": "friend",
    "ENEMY_OF": "enemy", "RIVAL_OF": "enemy", "KILLS": "enemy", "HATES": "enemy", "FIGHTS": "enemy",
    "BETRAYS": "enemy", "ATTACKS": "enemy", "DEFEATS": "enemy", "HUNTS": "enemy", "THREATENS": "enemy",
    "ROMANTIC_WITH": "romantic", "LOVES": "romantic", "LOVER_OF": "romantic", "MARRIED_TO": "romantic",
    "MARRIES": "romantic", "KISSES": "romantic", "DATES": "romantic", "ENGAGED_TO": "romantic",
    "MENTOR_OF": "mentor", "TEACHES": "mentor", "TRAINS": "mentor", "GUIDES": "mentor",
    "MASTER_OF": "master-servant", "SERVES": "master-servant", "SERVANT_OF": "master-servant",
    "OWNS_SLAVE": "master-servant", "WORKS_FOR": "works-for", "EMPLOYS": "works-for", "RULES": "works-for",
    "MEMBER_OF": "member-of", "LIVES_IN": "lives-in", "OWNS": "owns",
}
_GOLD_WORDS = {"parent": "family", "father": "family", "mother": "family", "sibling": "family",
               "brother": "family", "sister": "family", "son": "family", "daughter": "family", "family": "family",
               "cousin": "family", "uncle": "family", "aunt": "family", "friend": "friend", "ally": "friend",
               "allies": "friend", "enemy": "enemy", "rival": "enemy", "enemies": "enemy", "nemesis": "enemy",
               "romantic": "romantic", "lover": "romantic", "lovers": "romantic", "love": "romantic",
               "married": "romantic", "spouse": "romantic", "wife": "romantic", "husband": "romantic",
               "mentor": "mentor", "teacher": "mentor", "master": "master-servant", "servant": "master-servant",
               "works": "works-for", "employer": "works-for", "boss": "works-for"}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_NAME_TOKEN = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*", re.UNICODE)
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


class AliasMerge(_Model):
    """One name merged into an actant: the rule that merged it and both names' support."""

    alias: str
    canonical: str
    rule: str = Field(description="same-key, subset, subset-dominant or nickname-prefix.")
    alias_support: int
    canonical_support: int


class FilteredActant(_Model):
    """A name reviews use that is about the book, not the story, and why."""

    name: str
    why: str
    support: int = Field(description="Reviews that use the name.")


class BookContext(_Model):
    """What the records say about a book and the other books: the names its consensus graph sets aside."""

    title: str = ""
    authors: tuple[str, ...] = ()
    description: str = ""
    other_titles: tuple[str, ...] = ()
    other_authors: tuple[str, ...] = ()


class ConsensusActant(_Model):
    name: str = Field(description="Canonical name: the best-supported full name of the cluster.")
    label: str
    support: int = Field(description="Reviews that mention the actant under any of its aliases.")
    aliases: tuple[str, ...] = Field(description="Every name merged into this actant, sorted.")


class ConsensusRelation(_Model):
    source: str
    target: str
    type: str = Field(default="CO_OCCURS_WITH", description="The majority relation category (typed statements "
                      "outvote CO_OCCURS_WITH), else the majority type.")
    type_support: int = Field(default=0, description="Reviews stating the majority type.")
    types: tuple[str, ...] = Field(description="Relation types stated, most frequent first.")
    support: int = Field(description="Reviews stating a relation between the two actants (either direction).")


class ConsensusGraph(_Model):
    reviews: int
    actants: tuple[ConsensusActant, ...]
    relations: tuple[ConsensusRelation, ...]
    min_actant_support: int
    min_relation_support: int
    filtered: tuple[FilteredActant, ...] = ()
    merges: tuple[AliasMerge, ...] = ()


def name_key(name: str) -> tuple[str, ...]:
    """Words of a name that identify the actant: case-folded, without possessives, honorifics, articles."""
    text = _POSSESSIVE.sub("", unicodedata.normalize("NFKC", name)).casefold()
    words = [w for w in _WORD.findall(text) if w not in _ARTICLES]
    while len(words) > 1 and words[0] in HONORIFICS:
        words.pop(0)
    return tuple(words)


def _identifying(key: tuple[str, ...]) -> frozenset[str]:
    """Words of a key that can carry a merge: not generic ("Lord", "Elf"), not a lone initial."""
    return frozenset(w for w in key if w not in GENERIC_WORDS and len(w) > 1)


def _name_words(name: str) -> frozenset[str]:
    """The identifying words of a name that the name capitalises ("Karigan flees" -> {karigan}): a lower-case
    word an extractor glued to a name ("flees", "befriends") is not part of who it is."""
    text = _POSSESSIVE.sub("", unicodedata.normalize("NFKC", name))
    capitalised = {w.casefold() for token in _NAME_TOKEN.findall(text) if token[:1].isupper()
                   for w in _WORD.findall(token)}  # "G'ladheon" is one capitalised word
    words = _identifying(name_key(name))
    return frozenset(w for w in words if w in capitalised) if capitalised else words


def _one_typo(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two identities that differ in one word of 5+ letters, spelt one edit apart."""
    (x,), (y,) = (a - b, b - a) if len(a - b) == len(b - a) == 1 else ((None,), (None,))
    if x is None or y is None or min(len(x), len(y)) < 5:
        return False
    if len(x) == len(y):
        return sum(c != d for c, d in zip(x, y, strict=True)) == 1
    short, long = sorted((x, y), key=len)
    return len(long) - len(short) == 1 and any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def _glued_words(name: str) -> int:
    """Lower-case words an extractor left on a name ("Celia loves")."""
    return len(name_key(name)) - len(_name_words(name)) if any(c.isupper() for c in name[:1]) else 0


def alias_merges(
    names: Iterable[str], support: Mapping[str, int] | None = None,
) -> tuple[dict[str, str], tuple[AliasMerge, ...]]:
    """Map every name to its actant's canonical name, with the record of each merge.

    A name's *identity* is its identifying words: those of its key that it capitalises and that are
    neither generic ("Lord", "Elf", titles of address) nor initials, so "Karigan", "D. KARIGAN" and
    "Karigan flees" are one actant (``same-key``). A name with no identifying word ("dragon", "Lord")
    merges only with names of the same key. Then, in order: an identity that is a subset of one
    *maximal* identity joins it (``subset``), or, when several maximal identities contain it, the one
    whose support is at least ``DOMINANCE`` times the next (``subset-dominant``: a one-review
    "Karigan Smith" cannot keep "Karigan" from "Karigan G'ladheon"); a single word of 3+ letters that
    starts exactly one maximal name's first word joins it (``nickname-prefix``: "Matt" -> "Matteo
    Alacran"); a full name one typo away from exactly one better-supported full name joins it
    (``spelling-variant``: "Karrigan G'ladheon"). The canonical name of a cluster is its best-supported
    *full* name (two identifying words or more), else its best-supported form; ties go to the longer,
    then alphabetically first, so input order is irrelevant.

    Notes
    -----
    Complexity: O(k^2) set comparisons over the k distinct identities (a book's reviews name few actants).
    """
    support = support or {}
    forms: dict[tuple[str, ...], list[str]] = defaultdict(list)
    first_words: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for name in sorted(set(names)):
        key = name_key(name)
        if not key:
            continue
        words = _name_words(name)
        ident = tuple(sorted(words)) if words else ("\0", *key)  # "\0": no identity, never a subset
        forms[ident].append(name)
        first_words[ident].add(key[0])
    # only lower-case forms ("harry potter"): one actant with "Harry Potter", but never joins a longer name
    proper = {g for g, group in forms.items() if any(f[:1].isupper() for f in group)}
    sets = {g: frozenset(g) for g in forms if g[0] != "\0"}
    key_support = {g: sum(support.get(f, 0) for f in group) for g, group in forms.items()}
    maximal = [g for g in sets if not any(sets[g] < sets[o] for o in sets if o != g)]
    target: dict[tuple[str, ...], tuple[str, ...]] = {g: g for g in forms}
    rule: dict[tuple[str, ...], str] = {}
    for g in sets:
        if g in maximal or g not in proper:
            continue
        supersets = sorted((m for m in maximal if sets[g] < sets[m]), key=lambda m: (-key_support[m], m))
        if len(supersets) == 1:
            target[g], rule[g] = supersets[0], "subset"
        elif supersets and key_support[supersets[0]] >= DOMINANCE * max(1, key_support[supersets[1]]):
            target[g], rule[g] = supersets[0], "subset-dominant"
    for g in maximal:
        if len(g) != 1 or len(g[0]) < 3 or g not in proper:
            continue
        longer = [m for m in maximal if len(m) > 1 and g[0] not in m
                  and any(w.startswith(g[0]) for w in first_words[m] if w in m)]
        if len(longer) == 1:
            target[g], rule[g] = longer[0], "nickname-prefix"
    for g in maximal:  # "Karrigan G'ladheon" (1 review) -> "Karigan G'ladheon" (12)
        if len(g) < 2 or target[g] != g:
            continue
        variants = [m for m in maximal if m != g and len(m) == len(g) and target[m] == m
                    and key_support[m] > key_support[g] and _one_typo(sets[g], sets[m])]
        if len(variants) == 1:
            target[g], rule[g] = variants[0], "spelling-variant"
    for g in list(target):  # a name that joined a nickname or a spelling variant joins its full name
        while target[target[g]] != target[g]:
            target[g] = target[target[g]]
    clusters: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for g, group in forms.items():
        clusters[target[g]].extend(group)
    canonical = {root: min(group, key=lambda f: (len(_name_words(f)) < 2, _glued_words(f) > 0, -support.get(f, 0),
                                                  -len(f), f))
                 for root, group in clusters.items()}
    mapping = {name: canonical[target[g]] for g, group in forms.items() for name in group}
    groups = {name: g for g, group in forms.items() for name in group}
    merges = tuple(sorted(
        (AliasMerge(alias=name, canonical=canon, rule=_rule_of(groups[name], groups[canon], rule),
                    alias_support=support.get(name, 0), canonical_support=support.get(canon, 0))
         for name, canon in mapping.items() if name != canon),
        key=lambda m: (m.canonical, m.alias)))
    return mapping, merges


def _rule_of(group: tuple[str, ...], canonical_group: tuple[str, ...],
             rules: Mapping[tuple[str, ...], str]) -> str:
    if group in rules:
        return rules[group]
    # The cluster's maximal name when a shorter, better-supported full name is canonical.
    return "same-key" if group == canonical_group else "longer-form"


def alias_map(names: Iterable[str], support: Mapping[str, int] | None = None) -> dict[str, str]:
    """Map every name to its actant's canonical name (:func:`alias_merges` without the merge records)."""
    return alias_merges(names, support)[0]


def _words(text: str) -> tuple[str, ...]:
    """Case-folded words without possessives and articles (titles and authors keep every other word)."""
    text = _POSSESSIVE.sub("", unicodedata.normalize("NFKC", text)).casefold()
    return tuple(w for w in _WORD.findall(text) if w not in _ARTICLES)


def _author_like(words: tuple[str, ...], author: tuple[str, ...]) -> bool:
    """The author's name, a part of it (not a generic word), or a one-letter misspelling of it."""
    if not words or not author:
        return False
    if set(words) <= set(author) and _identifying(words):
        return True
    first, other = words[0], author[0]
    mismatches = sum(a != b for a, b in zip(first, other, strict=False)) + abs(len(first) - len(other))
    return len(words) == len(author) > 1 and words[-1] == author[-1] and mismatches <= 1


def meta_reason(name: str, book: BookContext) -> str | None:
    """Why ``name`` is about the book rather than its story (None when it may be a story actant).

    Checked in order: the book's title (or a name containing it: "ARC of Green Rider"), a word of
    the title that the book's description does not also use as a name ("House" of *The House of the
    Scorpion*), an author of the book, another book's title or author seen in the records, and the
    reviewing lexicon (:data:`REVIEWING_LEXICON`: every word of the name is a reviewing word).
    """
    words = _words(name)
    if not words:
        return "no words"
    title = _words(book.title)
    if title and set(title) <= set(words) and not _named_in(name, book.description, book.title):
        return "book title"
    if title and set(words) <= set(title) and not _named_in(name, book.description, book.title):
        return "part of the book title"
    if any(_author_like(words, _words(a)) for a in book.authors):
        return "author of the book"
    for other in book.other_titles:
        key = _words(other)
        if key and (set(key) <= set(words) if len(key) > 1 else key == words):
            return f"title of another book ({other})"
    if any(_words(a) == words for a in book.other_authors):
        return "author of another book"
    if " ".join(words) in REVIEWING_LEXICON or all(w in REVIEWING_LEXICON or w.isdigit() for w in words):
        return "reviewing word"
    return None


def _named_in(name: str, description: str, title: str) -> bool:
    """Whether the description uses ``name`` (capitalised) as a name, not only inside the title.

    A title that is a character's name ("Matilda") counts when the description says it twice or more.
    """
    if not description or not name[:1].isupper():
        return False
    count = len(re.findall(rf"\b{re.escape(name.strip())}\b", description))
    in_title = len(re.findall(re.escape(title), description, flags=re.IGNORECASE)) if title else 0
    return count - in_title >= 1 if _words(name) != _words(title) else count >= 2


def relation_category(relation_type: str) -> str:
    """The category of a kgweave relation type or a gold relation ("friend of" -> friend); else the type."""
    key = "_".join(_WORD.findall(unicodedata.normalize("NFKD", relation_type).upper()))
    if key in RELATION_CATEGORIES:
        return RELATION_CATEGORIES[key]
    for word in key.casefold().split("_"):
        if word in _GOLD_WORDS:
            return _GOLD_WORDS[word]
    return key


def consensus_graph(
    reviews: Sequence[ReviewGraph], min_actant_support: int = 1, min_relation_support: int = 1,
    book: BookContext | None = None,
) -> ConsensusGraph:
    """Aggregate reviews of one book: meta names set aside, aliases merged, support counted per review.

    An actant is kept when at least ``min_actant_support`` reviews mention it, a relation when at
    least ``min_relation_support`` reviews state it and both its ends are kept. With ``book``, names
    :func:`meta_reason` flags are set aside (listed in ``filtered`` with the reason and their support)
    before aliases are merged, so "ARC of Green Rider" cannot become the name of an actant.
    """
    review_names: dict[str, set[str]] = defaultdict(set)
    for review in reviews:
        for name in {a.name for a in review.actants} | {n for r in review.relations for n in (r.source, r.target)}:
            review_names[name].add(review.review_id)
    mentions = Counter({name: len(ids) for name, ids in review_names.items()})
    why = {name: reason for name in mentions if book is not None and (reason := meta_reason(name, book))}
    filtered = tuple(sorted((FilteredActant(name=n, why=w, support=mentions[n]) for n, w in why.items()),
                            key=lambda f: (-f.support, f.name)))
    canonical, merges = alias_merges((n for n in mentions if n not in why), mentions)
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    actant_reviews: dict[str, set[str]] = defaultdict(set)
    pair_reviews: dict[tuple[str, str], set[str]] = defaultdict(set)
    pair_types: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    pair_categories: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
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
            pair_categories[pair][relation_category(rel.type)].add(review.review_id)
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
    relations = []
    for (a, b), ids in pair_reviews.items():
        if len(ids) < min_relation_support or a not in kept or b not in kept:
            continue
        category, category_support = _majority(pair_categories[(a, b)])
        relations.append(ConsensusRelation(source=a, target=b, support=len(ids), types=_ranked(pair_types[(a, b)]),
                                           type=category, type_support=category_support))
    relations.sort(key=lambda r: (-r.support, r.source, r.target))
    return ConsensusGraph(reviews=len(reviews), actants=actants, relations=tuple(relations),
                          min_actant_support=min_actant_support, min_relation_support=min_relation_support,
                          filtered=filtered, merges=merges)


def _majority(categories: Mapping[str, set[str]]) -> tuple[str, int]:
    """The category most reviews state; a typed one outvotes CO_OCCURS_WITH, whatever the counts."""
    typed = {c: ids for c, ids in categories.items() if c != _COOCCURS} or categories
    best = min(typed, key=lambda c: (-len(typed[c]), c))
    return best, len(typed[best])


def _ranked(counts: Counter[str]) -> tuple[str, ...]:
    return tuple(sorted(counts, key=lambda k: (-counts[k], k)))


def _top(counts: Counter[str]) -> str | None:
    return min(counts, key=lambda k: (-counts[k], k)) if counts else None
