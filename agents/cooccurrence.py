"""The offline co-occurrence extractor: a classical, model-free baseline in pure Python.

Per chunk it finds two kinds of entity, in linear time:

- ``NamedEntity``: runs of capitalised words ("University of Chicago", "J. R. R. Tolkien") and
  acronyms or model names ("BERT", "GPT-4", "GNNs", "3D"), joined across hyphens and version
  numbers ("Faster R - CNN", "ResNet - 101", "UCF 101"). A lone capitalised word that opens a
  sentence counts only if the chunk also shows it capitalised on its own mid-sentence, or it is an
  acronym; a name followed by "et al." cites a paper and is not an entity.
- ``Concept``: noun phrases with their modifiers, runs of content words (stopwords, verbs,
  adverbs, numbers and punctuation split them) joined by spaces or hyphens and ending on a noun
  ("temporal action segmentation", "multi - task network", "3D convolutions"). A phrase of two
  content words or more is a mention even if seen once, unless all its words are generic or
  adjectives; a single word must be seen ``min_count`` times in the chunk (counted by
  :func:`graph_store.ids.normalize_name`, generic words dropped).

A parenthesised acronym whose initials spell the words before it ("graph neural networks (GNNs)")
makes those words one mention and the acronym another, linked by ``SAME_AS`` (acronym to
definition: an alias for entity resolution, not a relation that splits them). Every occurrence
becomes a mention. Relations are fewer than mentions: only names and phrases holding a word the
chunk repeats (``min_count``) are relation ends, at least one end of a pair is a name, mentions
coordinated in a list ("A, B and C") are siblings and not paired, and within a sentence each end is
paired with the next ``window`` ends, except the sentence's first name (mostly its subject), paired
with the next ``window + 1``; after that first name, a name pairs forward only with a name (the phrase
after a later name mostly belongs to the next clause). Two mentions with neither a verb nor a pattern
between them are not paired across a comma, semicolon or colon (a clause or list boundary), unless
the first is the sentence's first name. Any mention next to a name (even a word or phrase the chunk does not
repeat) is paired with it through a tight pattern: "X (Y)", "X for Y", "X such as Y", "X including
Y". The relation type is the first verb between them (``USES``, ``BASED_ON``; a passive "is used
by" reversed), a pattern ("X is a Y": ``IS_A``, "X such as Y": ``INCLUDES``, "X (Y)": ``SAME_AS``,
"X for Y": ``USED_FOR``), or ``CO_OCCURS_WITH`` (stored with its two ends in id order, so either order
gives one relation). Version 3 (issue 17) added the limit on the first name's partners, the forward
rule for later names, the boundary rule and the tight patterns: on SciER dev, relation overlap F1
38.9 -> 41.9 in ``kgweave eval extraction`` (see the README).

Time is linear in the chunk's length (~2 ms for a 1,300-character abstract on one core). A giant
chunk is analysed in windows of ``WINDOW_CHARS`` characters so memory stays bounded, and keeps at
most ``MAX_MENTIONS_PER_ENTITY`` mentions of one entity (a warning is logged).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from typing import NamedTuple

from kgweave.agents.extractor import ChunkExtraction
from kgweave.agents.labels import CONCEPT, NAMED_ENTITY
from kgweave.agents.lexicon import (
    ADJECTIVES,
    CONNECTORS,
    COPULAS,
    GENERIC_WORDS,
    MODIFIERS,
    NAME_STOPWORDS,
    PARTICIPLES,
    STOPWORDS,
    VERB_TYPES,
)
from kgweave.agents.text import TOKEN_PATTERN, fold, is_acronym, is_adverb, iter_sentences, looks_adjective
from kgweave.graph_store.ids import normalize_name, to_relation_type
from kgweave.graph_store.models import Chunk, Entity, Mention, Relation

__all__ = [
    "CONCEPT",
    "CO_OCCURS_WITH",
    "INCLUDES",
    "IS_A",
    "MAX_EVIDENCE_CHARS",
    "MAX_MENTIONS_PER_ENTITY",
    "MAX_NAME_CHARS",
    "NAMED_ENTITY",
    "SAME_AS",
    "USED_FOR",
    "WINDOW_CHARS",
    "CooccurrenceExtractor",
]

logger = logging.getLogger(__name__)

CO_OCCURS_WITH = "CO_OCCURS_WITH"
IS_A = "IS_A"
INCLUDES = "INCLUDES"
SAME_AS = "SAME_AS"
USED_FOR = "USED_FOR"

MAX_TOKEN_CHARS = 40
MAX_NAME_CHARS = 120
MAX_NAME_TOKENS = 8
MAX_EVIDENCE_CHARS = 300
# Only giant chunks reach this: beyond it an entity's further mentions in the chunk are dropped (logged).
MAX_MENTIONS_PER_ENTITY = 1000
# Giant chunks are analysed in windows of about this many characters (counts are per window).
WINDOW_CHARS = 200_000
_EVIDENCE_LEAD_CHARS = 60
_MAX_CACHED_WORDS = 200_000
_GENERIC_KEYS = frozenset(normalize_name(word) for word in GENERIC_WORDS)
_ARTICLES = frozenset(("a", "an"))
_SUBJECT_PRONOUNS = frozenset(("i", "we", "you", "he", "she", "it", "they"))
_NO_MODEL: str | None = None  # typed so that the class attribute ``model`` reads as ``str | None``
_TIGHT_WORDS = frozenset((("for",), ("such", "as"), ("including",)))
# Small words skipped inside an acronym's definition ("Bag of Words (BoW)").
_DEFINITION_FILLERS = frozenset(("of", "and", "for", "the", "to", "in", "on", "with", "a", "an"))


# Token flags.
_CONTENT = 1  # may be part of a concept n-gram
_NAME = 2  # may be part of a capitalised name
_ACRONYM = 4
_INITIAL = 8  # a single capital letter ("J" of "J. R. R. Tolkien")
_CONNECTOR = 16  # "of", "von": allowed between two name words
_NOT_STARTER = 32  # a verb, adverb or adjective: not a name alone or when it opens a sentence
_CAPITALISED = 64
_NUMBER = 128  # all digits ("101" of "ResNet 101"): may continue a name

# How a token is joined to the previous one.
_APART = 0  # punctuation or nothing in between
_SPACE = 1  # spaces on one line
_NEWLINE = 2  # whitespace with a line break
_DOT = 3  # "." or ". " (after an initial)
_HYPHEN = 4  # "-" or " - " between two words (tokenised text spaces its hyphens: "multi - task")


class _Word(NamedTuple):
    """What the extractor knows about one distinct word, independent of where it occurs."""

    lower: str
    flags: int
    verb: str | None  # relation type when the word is a verb form
    base: str  # folded, for n-gram keys
    last: str  # folded and singularised, for the last word of an n-gram key
    head: str  # first space-separated piece of ``base`` ("channel" of "channel-mixing")


_NOT_A_WORD = _Word("", 0, None, "", "", "")
_NUMBER_WORD = _Word("", _NUMBER, None, "", "", "")


class _Token(NamedTuple):
    start: int
    end: int
    gap: int
    word: _Word


_TOKEN_SPLIT = re.compile(f"({TOKEN_PATTERN.pattern})")

# builds a _Token from a tuple without the Python-level __new__ (the hot path of tokenising)
_new_token = partial(tuple.__new__, _Token)


_Ref = tuple[str, str]  # an entity within a chunk: (label, normalised name)


class _Sentence(NamedTuple):
    start: int
    end: int
    tokens: list[_Token]


class _Span(NamedTuple):
    """A mention inside one sentence: tokens ``[first, stop)``, characters ``[start, end)``."""

    first: int
    stop: int
    start: int
    end: int
    ref: _Ref
    anchored: bool = True  # a name, or a phrase holding a word the chunk repeats: may start a relation


@dataclass(frozen=True)
class CooccurrenceExtractor:
    """Offline baseline extractor: names, noun-phrase concepts, verb-typed co-occurrence.

    Parameters
    ----------
    min_count : int
        Occurrences in a chunk (by normalised form) for a single word to become a concept, and for
        a phrase holding it to be a relation end.
    max_ngram : int
        Longest counted n-gram, in words.
    window : int
        Each relation end is paired with this many following relation ends of its sentence (the
        sentence's first name with one more).
    """

    min_count: int = 3
    max_ngram: int = 3
    window: int = 1
    # class attributes, not options (no annotation: not dataclass fields)
    name = "cooccurrence"
    version = "3"
    model = _NO_MODEL

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {self.min_count}")
        if not 1 <= self.max_ngram <= 6:
            raise ValueError(f"max_ngram must be between 1 and 6, got {self.max_ngram}")
        if self.window < 1:
            raise ValueError(f"window must be >= 1, got {self.window}")

    def settings_key(self) -> str:
        """Stable text of the options that change the output (part of the extraction fingerprint)."""
        return f"min_count={self.min_count};max_ngram={self.max_ngram};window={self.window}"

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        """One result per chunk, in order; a chunk that fails gets ``error`` set instead of raising."""
        words: dict[str, _Word] = {}
        results: list[ChunkExtraction] = []
        for chunk in chunks:
            if len(words) > _MAX_CACHED_WORDS:
                words.clear()
            try:
                results.append(self._extract_chunk(chunk, words))
            except Exception as exc:  # a bad chunk is recorded, never allowed to stop the others
                chunk_ref = str(getattr(chunk, "id", "") or "")
                logger.warning("co-occurrence extraction failed for chunk %s: %r", chunk_ref, exc)
                results.append(ChunkExtraction(chunk_id=chunk_ref, error=f"{type(exc).__name__}: {exc}"))
        return results

    def extract_chunk(self, chunk: Chunk) -> ChunkExtraction:
        """Extract one chunk; unlike :meth:`extract` this raises on failure."""
        return self._extract_chunk(chunk, {})

    def _extract_chunk(self, chunk: Chunk, words: dict[str, _Word]) -> ChunkExtraction:
        text = chunk.text
        found = _Found()
        for window in _windows(text, words):
            self._extract_window(text, window, found)
        if found.dropped:
            logger.warning(
                "chunk %s: kept the first %d mentions of each entity, dropped %d more",
                chunk.id, MAX_MENTIONS_PER_ENTITY, found.dropped,
            )
        return _assemble(chunk, found)

    def _extract_window(self, text: str, sentences: list[_Sentence], found: _Found) -> None:
        """Find the mentions and relation candidates of some sentences (the whole of a normal chunk)."""
        scan = _scan(sentences, self.max_ngram)
        kept = _keep_concepts(scan, self.min_count)
        for sentence in sentences:
            tokens = sentence.tokens
            names = _definition_spans(text, tokens, _name_spans(text, tokens, scan.known_capitalised))
            spans = _concept_spans(text, tokens, names, kept, found.keys)
            _pair(text, sentence, spans, self.window, found.candidates)
            for span in spans:
                seen = found.mention_counts.get(span.ref, 0)
                if seen >= MAX_MENTIONS_PER_ENTITY:
                    found.dropped += 1
                    continue
                found.mention_counts[span.ref] = seen + 1
                found.spans.append(span)
                surface = " ".join(text[span.start : span.end].split())
                first = tokens[span.first].word
                if span.ref[0] != NAMED_ENTITY and first.flags & _CAPITALISED and not first.flags & _ACRONYM:
                    surface = surface[:1].lower() + surface[1:]  # "Convolutional networks" opening a sentence
                by_surface = found.surfaces.setdefault(span.ref, {})
                by_surface[surface] = by_surface.get(surface, 0) + 1


@dataclass
class _Found:
    """What the windows of one chunk found so far."""

    spans: list[_Span] = field(default_factory=list)  # recorded mentions, in text order
    surfaces: dict[_Ref, dict[str, int]] = field(default_factory=dict)  # entity -> surface -> count
    mention_counts: dict[_Ref, int] = field(default_factory=dict)
    candidates: dict[tuple[_Ref, str, _Ref], str] = field(default_factory=dict)  # -> evidence
    dropped: int = 0
    keys: dict[str, str] = field(default_factory=dict)  # phrase surface -> normalised name


def _windows(text: str, words: dict[str, _Word]) -> Iterator[list[_Sentence]]:
    """Tokenised sentences in groups of about ``WINDOW_CHARS``: a normal chunk is one window.

    Only giant chunks are cut, so that memory stays bounded; a sentence longer than a window is
    cut at a space.
    """
    window: list[_Sentence] = []
    size = 0
    for start, end in iter_sentences(text):
        while start < end:
            stop = end
            if end - start > WINDOW_CHARS:
                stop = text.rfind(" ", start + WINDOW_CHARS // 2, start + WINDOW_CHARS)
                if stop <= start:
                    stop = start + WINDOW_CHARS
            tokens = _tokenize_sentence(text, start, stop, words)
            if tokens:
                window.append(_Sentence(start, stop, tokens))
                size += stop - start
            if size >= WINDOW_CHARS:
                yield window
                window, size = [], 0
            start = stop
    if window:
        yield window


def _classify(word: str) -> _Word:
    """Flags, verb type and n-gram keys of one distinct word."""
    lower = word.lower()
    key = lower.replace("’", "'") if "’" in lower else lower
    if len(word) > MAX_TOKEN_CHARS:
        return _NOT_A_WORD
    if not word[0].isalpha():
        if word.isdigit():
            return _NUMBER_WORD
        if word[0].isdigit() and any(ch.isupper() for ch in word):  # "3D", "2D", "4K"
            return _Word(lower, _NAME | _ACRONYM | _CAPITALISED, None, "", "", "")
        return _NOT_A_WORD
    if len(word) == 1:
        return _Word(lower, _INITIAL if word.isupper() else 0, None, "", "", "")
    if key in CONNECTORS:
        return _Word(lower, _CONNECTOR, None, "", "", "")
    if key in STOPWORDS:
        return _Word(key, 0, None, "", "", "")
    # all capitals is an acronym ("BERT"), unless it is an ordinary word shouted ("AMAZING")
    shouted = word.isupper() and (key in ADJECTIVES or key in VERB_TYPES or key in GENERIC_WORDS)
    if not shouted and is_acronym(word):
        return _Word(lower, _NAME | _ACRONYM | _CAPITALISED, None, "", "", "")
    verb = VERB_TYPES.get(key)
    adverb = is_adverb(key)
    flags = _CAPITALISED if word[0].isupper() else 0
    if flags and key not in NAME_STOPWORDS and not shouted:
        flags |= _NAME
    if verb is not None or adverb or key in ADJECTIVES:
        flags |= _NOT_STARTER
    if verb is not None or adverb or key in MODIFIERS:
        return _Word(lower, flags, verb, "", "", "")
    base = fold(word)
    return _Word(lower, flags | _CONTENT, None, base, normalize_name(word), base.partition(" ")[0])


def _tokenize_sentence(text: str, start: int, end: int, words: dict[str, _Word]) -> list[_Token]:
    """Tokens of one sentence with their flags and how each is joined to the previous one."""
    # split() with a capturing group alternates gap, word, gap, word, ..., gap in one C call
    pieces = _TOKEN_SPLIT.split(text[start:end])
    tokens: list[_Token] = []
    position = start + len(pieces[0])
    previous_initial = False
    for index in range(1, len(pieces), 2):
        surface, before = pieces[index], pieces[index - 1]
        if before[-1:] == "\\":
            info = _NOT_A_WORD  # a LaTeX command such as \textit
        else:
            info = words.get(surface) or words.setdefault(surface, _classify(surface))
        if index == 1:
            gap = _APART
        elif before == " ":
            gap = _SPACE
        elif before.isspace():
            gap = _NEWLINE if "\n" in before else _SPACE
        elif previous_initial and before in (".", ". "):
            gap = _DOT
        elif before == " - " or before == "-":
            gap = _HYPHEN
        else:
            gap = _APART
        token_end = position + len(surface)
        tokens.append(_new_token((position, token_end, gap, info)))
        position = token_end + len(pieces[index + 1])
        previous_initial = bool(info.flags & _INITIAL)
    return tokens


class _Scan(NamedTuple):
    """What the first pass over a chunk learns before any mention is chosen."""

    known_capitalised: set[str]  # words capitalised on their own mid-sentence
    lower_seen: set[str]  # keys of words seen in lower case
    counts: dict[str, int]  # candidate concept n-gram key -> occurrences
    parts: dict[str, tuple[_Word, ...]]  # n-gram key -> its words (first occurrence)


def _scan(sentences: list[_Sentence], max_ngram: int) -> _Scan:
    """First pass: capitalisation evidence and counts of candidate concept n-grams."""
    scan = _Scan(set(), set(), {}, {})
    counts, parts = scan.counts, scan.parts
    see_lower, see_capitalised = scan.lower_seen.add, scan.known_capitalised.add
    for _, _, tokens in sentences:
        size = len(tokens)
        for index, token in enumerate(tokens):
            flags = token.word.flags
            if not flags & _CAPITALISED:
                if flags & _CONTENT:
                    see_lower(token.word.last)
            elif index and flags & _NAME and not flags & _ACRONYM:
                joined_before = token.gap == _SPACE and tokens[index - 1].word.flags & _NAME
                joined_after = (
                    index + 1 < size and tokens[index + 1].gap == _SPACE
                    and tokens[index + 1].word.flags & _NAME
                )
                if not joined_before and not joined_after:
                    see_capitalised(token.word.lower)
        index = 0
        while index < size:
            if not tokens[index].word.flags & _CONTENT:
                index += 1
                continue
            stop = index + 1
            while stop < size and tokens[stop].word.flags & _CONTENT and tokens[stop].gap in (_SPACE, _NEWLINE):
                stop += 1
            run = tokens[index:stop]
            words = [token.word for token in run]
            lasts = [word.last for word in words]
            bases = [word.base for word in words]
            length = len(run)
            for first in range(length):
                prefix = ""
                start = run[first].start
                for last in range(first, min(first + max_ngram, length)):
                    if run[last].end - start > MAX_NAME_CHARS:
                        break
                    key = prefix + lasts[last]
                    count = counts.get(key)
                    if count is None:
                        counts[key] = 1
                        parts[key] = tuple(words[first : last + 1])
                    else:
                        counts[key] = count + 1
                    prefix += bases[last] + " "
            index = stop
    return scan


def _ngram_key(words: Sequence[_Word]) -> str:
    return " ".join([*(w.base for w in words[:-1]), words[-1].last])


def _keep_concepts(scan: _Scan, min_count: int) -> dict[str, str]:
    """Frequent n-grams worth a node, with their label, minus those inside a longer one as frequent.

    Generic words, n-grams ending on an adjective and short single words are dropped. A single
    word that the chunk only ever capitalises ("Barnaby" opening two sentences) is a name.
    """
    counts, parts = scan.counts, scan.parts
    kept: dict[str, str] = {}
    for key, count in counts.items():
        if count < min_count:
            continue
        words = parts[key]
        if all(w.last in _GENERIC_KEYS for w in words) or looks_adjective(words[-1].lower):
            continue
        if len(words) == 1:
            if len(key) < 4 or words[0].lower in NAME_STOPWORDS:
                continue
            if key not in scan.lower_seen and words[0].flags & _NAME:
                kept[key] = NAMED_ENTITY
                continue
        kept[key] = CONCEPT
    subsumed: set[str] = set()
    for key in kept:
        words = parts[key]
        size = len(words)
        if size < 2:
            continue
        count = counts[key]
        for first in range(size):
            for stop in range(first + 1, size + 1):
                if stop - first < size:
                    sub = _ngram_key(words[first:stop])
                    if counts.get(sub) == count:
                        subsumed.add(sub)
    return {key: label for key, label in kept.items() if key not in subsumed}


def _name_spans(text: str, tokens: list[_Token], known_capitalised: set[str]) -> list[_Span]:
    """Capitalised names and acronyms of one sentence, left to right, never overlapping."""
    spans: list[_Span] = []
    size = len(tokens)
    index = 0
    while index < size:
        flags = tokens[index].word.flags
        startable = flags & _NAME or (
            flags & _INITIAL and index + 1 < size and tokens[index + 1].gap in (_DOT, _HYPHEN)
        )
        if not startable or (index == 0 and flags & _NOT_STARTER):
            index += 1
            continue
        start = tokens[index].start
        last = index  # last token taken into the name
        nxt = index + 1
        while nxt < size and nxt - index < MAX_NAME_TOKENS and tokens[nxt].end - start <= MAX_NAME_CHARS:
            token = tokens[nxt]
            if token.gap == _SPACE or token.gap == _DOT or token.gap == _HYPHEN:
                # "Faster R - CNN", "U - Net", "ResNet - 101", "UCF 101": hyphens and version numbers join
                if token.word.flags & (_NAME | _INITIAL) or (token.word.flags & _NUMBER and token.gap != _DOT):
                    last = nxt
                    nxt += 1
                    continue
                if (
                    token.word.flags & _CONNECTOR and token.gap == _SPACE and nxt + 1 < size
                    and tokens[nxt + 1].gap == _SPACE and tokens[nxt + 1].word.flags & _NAME
                    and nxt + 1 - index < MAX_NAME_TOKENS and tokens[nxt + 1].end - start <= MAX_NAME_CHARS
                ):
                    last = nxt + 1
                    nxt += 2
                    continue
            break
        while last >= index and tokens[last].word.flags & _INITIAL:
            last -= 1  # a name never ends on an initial
        if last < index:
            index = nxt
            continue
        first_word = tokens[index].word
        if last == index and (
            first_word.flags & _NOT_STARTER
            or (index == 0 and not first_word.flags & _ACRONYM and first_word.lower not in known_capitalised)
        ):
            index = last + 1
            continue
        key = normalize_name(text[start : tokens[last].end])
        cited = (
            last + 2 < size and tokens[last + 1].word.lower == "et" and tokens[last + 2].word.lower == "al"
        )
        if key and not cited:  # "Devlin et al." cites a paper: not an entity
            spans.append(_Span(index, last + 1, start, tokens[last].end, (NAMED_ENTITY, key)))
        index = last + 1
    return spans


def _definition_spans(text: str, tokens: list[_Token], names: list[_Span]) -> list[_Span]:
    """Add the definitions of acronyms ("graph neural networks (GNNs)") to the names of a sentence.

    The words before a parenthesised acronym whose initials spell it become one mention, whatever
    their count: a ``NamedEntity`` if every word is capitalised, else a ``Concept``. Names inside the
    definition give way to it; a name reaching outside it wins.
    """
    definitions: list[_Span] = []
    for name in names:
        if name.stop - name.first != 1 or name.first == 0 or not tokens[name.first].word.flags & _ACRONYM:
            continue
        acronym = text[name.start : name.end]
        if any(ch.isdigit() for ch in acronym) or text[tokens[name.first - 1].end : name.start].strip() != "(":
            continue
        letters = "".join(ch for ch in acronym if ch.isupper()).lower()
        if len(letters) < 2:
            continue
        initials = ""
        first = name.first
        position = name.first - 1
        while position >= 0 and len(initials) < len(letters):
            token = tokens[position]
            if position < name.first - 1 and tokens[position + 1].gap not in (_SPACE, _NEWLINE, _HYPHEN):
                break
            lower = token.word.lower
            if lower in _DEFINITION_FILLERS and position < name.first - 1:
                position -= 1
                continue
            if not token.word.flags & (_CONTENT | _NAME) or token.word.flags & _ACRONYM:
                break
            surface = text[token.start : token.end]
            initials = "".join(part[:1] for part in surface.split("-")).lower() + initials
            first = position
            position -= 1
        if initials != letters:
            continue
        start, end = tokens[first].start, tokens[name.first - 1].end
        if end - start > MAX_NAME_CHARS or any(
            other.start < end and other.end > start and (other.start < start or other.end > end)
            for other in names
        ):
            continue
        words = [t.word for t in tokens[first : name.first] if t.word.lower not in _DEFINITION_FILLERS]
        label = NAMED_ENTITY if all(w.flags & _CAPITALISED for w in words) else CONCEPT
        key = normalize_name(text[start:end])
        if key:
            definitions.append(_Span(first, name.first, start, end, (label, key)))
    if not definitions:
        return names
    merged = [
        n for n in names
        if not any(d.start <= n.start and n.end <= d.end and (d.start, d.end) != (n.start, n.end) for d in definitions)
    ]
    merged.extend(d for d in definitions if not any((n.start, n.end) == (d.start, d.end) for n in names))
    merged.sort(key=lambda span: span.first)
    return merged


def _concept_spans(
    text: str,
    tokens: list[_Token],
    names: list[_Span],
    kept: dict[str, str],
    keys: dict[str, str],
) -> list[_Span]:
    """Merge the names with the noun phrases between them, left to right, never overlapping.

    A noun phrase is a run of content words (modifiers included) joined by spaces or hyphens, ending
    on a noun: "temporal convolution kernel", "multi - task network". It becomes a mention when it
    has two content words or more, at least one of them specific (not generic, not an adjective),
    or when it is a single word kept for its frequency in the chunk.
    """
    spans: list[_Span] = []
    size = len(tokens)
    name_at = {span.first: span for span in names}
    index = 0
    while index < size:
        name = name_at.get(index)
        if name is not None and not _modifies(tokens, name, name_at):
            spans.append(name)
            index = name.stop
            continue
        if name is None and not _opens_phrase(tokens, index):
            index += 1
            continue
        start = tokens[index].start
        stop = index + 1
        while (
            stop < size and stop - index < MAX_NAME_TOKENS and stop not in name_at
            and tokens[stop].end - start <= MAX_NAME_CHARS and _continues_phrase(tokens, stop)
        ):
            stop += 1
        end = stop
        # a phrase ends on a noun: drop trailing adjectives and words only a hyphen let in
        while end > index and (
            not tokens[end - 1].word.flags & _CONTENT or looks_adjective(tokens[end - 1].word.lower)
        ):
            end -= 1
        span = _phrase_span(text, tokens, index, end, kept, keys) if end > index else None
        if span is not None:
            spans.append(span)
        index = max(stop, index + 1)
    return spans


def _modifies(tokens: list[_Token], name: _Span, name_at: dict[int, _Span]) -> bool:
    """Whether a one-word acronym opens the noun phrase after it ("3D convolutions", "BCE loss")."""
    if name.stop - name.first != 1 or name.stop >= len(tokens) or name.stop in name_at:
        return False
    word = tokens[name.first].word
    if not word.flags & _ACRONYM or not word.lower[:1].isdigit():
        return False
    after = tokens[name.stop]
    return after.gap == _SPACE and bool(after.word.flags & _CONTENT) and not looks_adjective(after.word.lower)


def _opens_phrase(tokens: list[_Token], index: int) -> bool:
    """Whether a noun phrase may start at ``tokens[index]``: a content word or a hyphenated prefix."""
    word = tokens[index].word
    if index and tokens[index - 1].word.lower in _SUBJECT_PRONOUNS:
        return False  # "we study graphs": the word after a subject pronoun is its verb
    if word.flags & _CONTENT:
        return True
    return bool(word.lower) and index + 1 < len(tokens) and tokens[index + 1].gap == _HYPHEN and not (
        word.flags & _NAME or word.verb is not None
    )


def _continues_phrase(tokens: list[_Token], index: int) -> bool:
    """Whether ``tokens[index]`` extends the noun phrase before it."""
    token = tokens[index]
    if token.gap == _HYPHEN:
        return bool(token.word.lower) and not token.word.flags & _NAME
    if token.gap not in (_SPACE, _NEWLINE):
        return False
    return _opens_phrase(tokens, index)


def _phrase_span(
    text: str, tokens: list[_Token], first: int, stop: int, kept: dict[str, str], keys: dict[str, str]
) -> _Span | None:
    """The mention of the noun phrase ``tokens[first:stop]``, or None when it is not worth one."""
    content = [token.word for token in tokens[first:stop] if token.word.flags & _CONTENT]
    if len(content) == 1 and stop - first == 1:
        key = content[0].last
        label = kept.get(key)
        if label is None:
            return None
        return _Span(first, stop, tokens[first].start, tokens[first].end, (label, key))
    if not any(w.last not in _GENERIC_KEYS and not looks_adjective(w.lower) for w in content):
        return None
    start, end = tokens[first].start, tokens[stop - 1].end
    surface = text[start:end]
    phrase_key = keys.get(surface)
    if phrase_key is None:
        phrase_key = keys[surface] = normalize_name(surface)
    anchored = phrase_key in kept or any(w.last in kept for w in content)
    return _Span(first, stop, start, end, (kept.get(phrase_key, CONCEPT), phrase_key), anchored)


def _pair(
    text: str,
    sentence: _Sentence,
    spans: list[_Span],
    window: int,
    out: dict[tuple[_Ref, str, _Ref], str],
) -> None:
    """Add the relation candidates of one sentence (with their first evidence); see the module's rules."""
    if len(spans) < 2:
        return
    sentence_start, sentence_end, tokens = sentence
    size = len(tokens)
    covered = bytearray(size)
    for span in spans:
        covered[span.first : span.stop] = b"\x01" * (span.stop - span.first)
    next_verb = [size] * (size + 1)
    for index in range(size - 1, -1, -1):
        is_verb = tokens[index].word.verb is not None and not covered[index]
        next_verb[index] = index if is_verb else next_verb[index + 1]
    # single words and phrases the chunk does not repeat are mentions but not relation ends ...
    ends = [span for span in spans if span.anchored and (span.ref[0] == NAMED_ENTITY or span.stop - span.first > 1)]
    hub = next((span for span in ends if span.ref[0] == NAMED_ENTITY), None)
    pairs: list[tuple[_Span, _Span]] = []
    for a_index, a in enumerate(ends):
        for b in ends[a_index + 1 : a_index + 1 + window + (a is hub)]:
            # one end is a name; but after the sentence's first name, a name pairs forward only with a name
            if a is hub or b.ref[0] == NAMED_ENTITY:
                pairs.append((a, b))
    # ... unless a tight pattern ("X (Y)", "X for Y", "X such as Y") joins them to a name next to them
    pairs.extend(
        (a, b) for a, b in pairwise(spans)
        if (a.ref[0] == NAMED_ENTITY or b.ref[0] == NAMED_ENTITY) and _tight(text, tokens, a, b)
    )
    for a, b in pairs:
        if a.ref == b.ref or _coordinated(text, tokens, a, b):
            continue
        source, target = a.ref, b.ref
        verb = next_verb[a.stop]
        if verb < b.first:
            rel_type = tokens[verb].word.verb or CO_OCCURS_WITH
            if (
                tokens[verb].word.lower in PARTICIPLES and verb + 1 < b.first
                and tokens[verb + 1].word.lower == "by"
            ):
                source, target = target, source
        else:
            rel_type = _pattern_type(text, tokens, a, b)
            if rel_type == CO_OCCURS_WITH and a is not hub and any(p in text[a.end : b.start] for p in ",;:"):
                continue  # nothing links two mentions across a clause or list boundary
        if rel_type == SAME_AS:
            source, target = target, source  # the acronym is an alias of its definition
        key = (source, rel_type, target)
        if key in out:
            continue
        if sentence_end - sentence_start <= MAX_EVIDENCE_CHARS:
            begin, stop = sentence_start, sentence_end
        else:
            begin = max(sentence_start, min(a.start - _EVIDENCE_LEAD_CHARS, sentence_end - MAX_EVIDENCE_CHARS))
            stop = begin + MAX_EVIDENCE_CHARS
        out[key] = " ".join(text[begin:stop].split())


def _tight(text: str, tokens: list[_Token], a: _Span, b: _Span) -> bool:
    """Whether two neighbouring mentions are joined by "(", "for", "such as" or "including" alone."""
    count = b.first - a.stop
    if count == 0:
        return text[a.end : b.start].strip() == "("
    return 0 < count <= 2 and tuple(token.word.lower for token in tokens[a.stop : b.first]) in _TIGHT_WORDS


def _coordinated(text: str, tokens: list[_Token], a: _Span, b: _Span) -> bool:
    """Whether two mentions are siblings in a list ("A, B and C"): no relation between them."""
    if any(token.word.lower not in ("and", "or") for token in tokens[a.stop : b.first]):
        return False
    return "(" not in text[a.end : b.start]


def _pattern_type(text: str, tokens: list[_Token], a: _Span, b: _Span) -> str:
    """Relation type from the words between two mentions when no verb stands between them."""
    count = b.first - a.stop
    if count == 0:
        if b.ref[0] == NAMED_ENTITY and b.stop - b.first == 1 and text[a.end : b.start].strip() == "(":
            return SAME_AS
        return CO_OCCURS_WITH
    if count > 4:
        return CO_OCCURS_WITH
    between = [token.word.lower for token in tokens[a.stop : b.first]]
    if (
        count >= 2 and between[0] in COPULAS and between[1] in _ARTICLES
        and all(token.word.flags & _CONTENT for token in tokens[a.stop + 2 : b.first])
    ):
        return IS_A
    if between == ["such", "as"] or between == ["including"]:
        return INCLUDES
    if between == ["for"]:
        return USED_FOR
    return CO_OCCURS_WITH


def _most_frequent(by_surface: dict[str, int]) -> str:
    """The most frequent surface form; the first seen wins a tie."""
    best, best_count = "", 0
    for surface, count in by_surface.items():
        if count > best_count:
            best, best_count = surface, count
    return best


def _assemble(chunk: Chunk, found: _Found) -> ChunkExtraction:
    """Turn spans and candidates into entities, mentions and relations with content-addressed ids."""
    surfaces = found.surfaces
    # a concept spelled like a specific name of the chunk (several words, or an acronym) is that name
    name_keys = {
        key for (label, key), by_surface in surfaces.items()
        if label == NAMED_ENTITY and (" " in key or is_acronym(_most_frequent(by_surface)))
    }
    entity_of: dict[_Ref, Entity] = {}
    entities: dict[str, Entity] = {}
    for ref, by_surface in surfaces.items():
        label, key = ref
        if label == CONCEPT and key in name_keys:
            continue
        entity = Entity.named(_most_frequent(by_surface), label)
        entity = entities.setdefault(entity.id, entity)
        entity_of[ref] = entity
    for ref in surfaces:
        if ref not in entity_of:
            entity_of[ref] = entity_of[(NAMED_ENTITY, ref[1])]
    text, offset = chunk.text, chunk.start
    mentions = [
        Mention.of(
            entity_of[span.ref].id, chunk.id, offset + span.start, offset + span.end, text[span.start : span.end]
        )
        for span in found.spans
    ]
    relations: dict[tuple[str, str, str], Relation] = {}
    types: dict[str, str] = {}
    for (source, raw_type, target), evidence in found.candidates.items():
        source_id, target_id = entity_of[source].id, entity_of[target].id
        if source_id == target_id:
            continue
        rel_type = types.get(raw_type)
        if rel_type is None:
            rel_type = types[raw_type] = to_relation_type(raw_type, CO_OCCURS_WITH)
        if rel_type == CO_OCCURS_WITH and source_id > target_id:
            source_id, target_id = target_id, source_id  # symmetric: one id for either order
        triple = (source_id, rel_type, target_id)
        if triple not in relations:
            relations[triple] = Relation.between(
                source_id, rel_type, target_id, chunk_id=chunk.id, evidence=evidence
            )
    ordered_entities: dict[str, Entity] = {}
    for mention in mentions:
        if mention.entity_id not in ordered_entities:
            ordered_entities[mention.entity_id] = entities[mention.entity_id]
    return ChunkExtraction(
        chunk_id=chunk.id,
        entities=tuple(ordered_entities.values()),
        mentions=tuple(mentions),
        relations=tuple(relations.values()),
    )
