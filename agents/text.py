"""Sentence splitting and tokenising with character offsets, in linear time (pure ``re``).

Offsets always index the string passed in, so a caller can map a span back to its document by
adding the chunk's start. Patterns use possessive quantifiers and look-behinds so that no input
(long runs of punctuation, whitespace or letters) makes a regular expression backtrack
quadratically.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from kgweave.agents.lexicon import ABBREVIATIONS, ADJECTIVE_SUFFIX_NOUNS, ADJECTIVES, ADVERB_LY_WORDS, STOPWORDS

__all__ = [
    "TOKEN_PATTERN",
    "fold",
    "is_acronym",
    "is_adverb",
    "iter_sentences",
    "looks_adjective",
    "split_sentences",
    "tokenize",
]

# A word: letters/digits, joined by inner hyphens or apostrophes ("GPT-4", "don't", not the "'s"
# of a possessive), by a LaTeX accent ("Schr\"odinger") and by the point or comma of a number
# ("3.5", "1,000").
TOKEN_PATTERN = re.compile(r"[^\W_]++(?:(?:[-'’](?![sS]\b)|\\[\"'`^~]|(?<=\d)[.,](?=\d))[^\W_]++)*+")

# A sentence ends at terminal punctuation (plus closing quotes/brackets) followed by whitespace,
# or at a line break. The look-behinds make each run of punctuation or spaces start one attempt.
_BOUNDARY = re.compile(
    r"(?<![.!?…])(?P<punct>[.!?…]++[\"'”’)\]]*+)(?P<space>\s++)"
    r"|(?<!\s)(?P<nl>[^\S\n]*+\n\s*+)"
)
_LEADING_SPACE = re.compile(r"\s*+")
_WORD = re.compile(r"[^\W_]{1,20}+")
_NON_WORD = re.compile(r"[\W_]+")
_HAS_DIGIT = re.compile(r"\d")
_ABBREVIATION_LOOKBACK = 12
_ADJECTIVE_SUFFIXES = ("ous", "ful", "less", "able", "ible", "ive", "al", "ic")
_ADJECTIVE_COMPOUND_SUFFIXES = (
    "-based", "-like", "-aware", "-free", "-specific", "-level", "-scale", "-wise", "-art", "-shot",
    "-end", "-order", "-efficient", "-dependent", "-independent", "-invariant", "-agnostic",
    "-friendly", "-preserving", "-consuming",
)


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` spans of the sentences of ``text[start:end]``, whitespace trimmed.

    See :func:`iter_sentences` for the rules.
    """
    return list(iter_sentences(text, start, end))


def iter_sentences(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Yield the ``(start, end)`` spans of the sentences of ``text[start:end]``, whitespace trimmed.

    A period ends a sentence unless it closes an abbreviation ("e.g.", "et al.", "Fig."), an
    initial ("J. R. R. Tolkien") or the next word starts in lower case; a point inside a number
    ("3.5") is never a boundary. A blank line always ends a sentence; a single line break does
    unless the next line starts in lower case.
    """
    stop = len(text) if end is None else min(end, len(text))
    sentence_start = start
    for match in _BOUNDARY.finditer(text, start, stop):
        after = match.end()
        next_char = text[after] if after < stop else ""
        newline_gap = match.group("nl")
        if newline_gap is not None:
            if newline_gap.count("\n") < 2 and next_char.islower():
                continue
            cut = match.start()
        else:
            space = match.group("space")
            cut = match.start("space")
            if "\n" in space:
                if space.count("\n") < 2 and next_char.islower():
                    continue
            elif next_char.islower() or not _ends_sentence(text, match.start("punct"), match.group("punct"), after):
                continue
        span = _trim(text, sentence_start, cut)
        if span is not None:
            yield span
        sentence_start = after
    span = _trim(text, sentence_start, stop)
    if span is not None:
        yield span


def _ends_sentence(text: str, punct_start: int, punct: str, next_start: int) -> bool:
    """Whether terminal punctuation at ``punct_start`` really ends a sentence (abbreviations do not)."""
    if punct[0] != "." or punct.startswith(".."):
        return True
    low = max(0, punct_start - _ABBREVIATION_LOOKBACK)
    word_start = punct_start
    while word_start > low and (text[word_start - 1].isalnum() or text[word_start - 1] == "."):
        word_start -= 1
    word = text[word_start:punct_start]
    if not word:
        return True
    if word.lower() in ABBREVIATIONS:
        return False
    # initials ("J." or "E.B.") go on, unless a function word follows: "method X. It works."
    if word[0].isupper() and all(len(part) == 1 for part in word.split(".")):
        following = _WORD.match(text, next_start)
        return following is not None and following.group().lower() in STOPWORDS
    return True


def _trim(text: str, begin: int, end: int) -> tuple[int, int] | None:
    """``(begin, end)`` without surrounding whitespace, or None when nothing is left."""
    begin = _LEADING_SPACE.match(text, begin, end).end()  # type: ignore[union-attr]
    if begin >= end:
        return None
    end = begin + len(text[begin:end].rstrip())
    return (begin, end) if end > begin else None


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[tuple[str, int, int]]:
    """Return the words of ``text[start:end]`` as ``(word, start, end)`` with offsets into ``text``."""
    stop = len(text) if end is None else end
    return [(m.group(), m.start(), m.end()) for m in TOKEN_PATTERN.finditer(text, start, stop)]


def fold(word: str) -> str:
    """Case-fold and NFKC-normalise a word, punctuation to spaces (``normalize_name`` without plurals)."""
    text = unicodedata.normalize("NFKC", word).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def is_acronym(word: str) -> bool:
    """Whether a word is written like an acronym or model name: "BERT", "GNNs", "GPT-4", "mRNA"."""
    if not word[:1].isalpha():
        return False
    rest = word[1:]
    if rest != rest.lower():
        return True
    return word[0].isupper() and _HAS_DIGIT.search(word) is not None


def is_adverb(lower: str) -> bool:
    """Whether a lower-case word looks like an ``-ly`` adverb ("significantly", not "family")."""
    return len(lower) > 4 and lower.endswith("ly") and lower not in ADVERB_LY_WORDS


def looks_adjective(lower: str) -> bool:
    """Whether a lower-case word reads as an adjective ("complex", "theoretical", "graph-based")."""
    if lower in ADJECTIVES:
        return True
    if len(lower) <= 4 or lower in ADJECTIVE_SUFFIX_NOUNS:
        return False
    if lower.endswith(_ADJECTIVE_SUFFIXES) or lower.endswith(_ADJECTIVE_COMPOUND_SUFFIXES):
        return True
    return lower.endswith("ed") and not lower.endswith("eed")
