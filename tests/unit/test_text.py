"""Sentence splitting, tokenising and the word lists behind the co-occurrence extractor."""

from __future__ import annotations

import time

import pytest

from kgweave.agents.lexicon import ADJECTIVES, PARTICIPLES, STOPWORDS, VERB_TYPES, inflect
from kgweave.agents.text import (
    fold,
    is_acronym,
    is_adverb,
    iter_sentences,
    looks_adjective,
    split_sentences,
    tokenize,
)
from kgweave.graph_store.ids import RELATION_TYPE_PATTERN


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def test_splits_at_terminal_punctuation() -> None:
    text = "We propose X. It works! Does it? Yes."
    assert sentences(text) == ["We propose X.", "It works!", "Does it?", "Yes."]


@pytest.mark.parametrize(
    "text",
    [
        "Models, e.g. BERT and GPT, are large.",
        "Models, i.e. transformers, are large.",
        "As shown by Smith et al. (2020) it holds.",
        "As shown by Smith et al. It holds.",
        "See Fig. 3 for details.",
        "The loss drops to 3.5 after training.",
        "The Lord of the Rings by J. R. R. Tolkien is long.",
        "Written by E.B. White for children.",
        "It costs approx. ten dollars.",
    ],
)
def test_does_not_split_inside_abbreviations_numbers_and_initials(text: str) -> None:
    assert sentences(text) == [text]


def test_line_breaks() -> None:
    assert sentences("First line\nSecond line") == ["First line", "Second line"]
    assert sentences("a hard-wrapped\nsentence goes on.") == ["a hard-wrapped\nsentence goes on."]
    assert sentences("ends here\n\nand a new paragraph") == ["ends here", "and a new paragraph"]


def test_spans_are_trimmed_offsets_into_the_text() -> None:
    text = "  Hello there.   General Kenobi!  \n"
    spans = split_sentences(text)
    assert spans == [(2, 14), (17, 32)]
    assert [text[a:b] for a, b in spans] == ["Hello there.", "General Kenobi!"]


def test_start_and_end_limit_the_range() -> None:
    text = "Skip this. Keep this one. And this. Not this."
    spans = split_sentences(text, 11, 35)
    assert [text[a:b] for a, b in spans] == ["Keep this one.", "And this."]
    assert list(iter_sentences(text, 11, 35)) == spans


@pytest.mark.parametrize("text", ["", "   ", "\n\n\n", "...", "!?!"])
def test_degenerate_text(text: str) -> None:
    spans = split_sentences(text)
    assert all(text[a:b].strip() == text[a:b] and b > a for a, b in spans)


def test_tokens_carry_offsets() -> None:
    text = "GPT-4 beats ResNet-50 by 3.5 points, don't you think? Harriet's book, Schr\\\"odinger."
    tokens = tokenize(text)
    assert all(text[start:end] == word for word, start, end in tokens)
    words = [word for word, _, _ in tokens]
    assert words[:6] == ["GPT-4", "beats", "ResNet-50", "by", "3.5", "points"]
    assert "don't" in words
    assert "Harriet" in words and "Harriet's" not in words
    assert 'Schr\\"odinger' in words


def test_tokenize_range_keeps_document_offsets() -> None:
    text = "alpha beta gamma"
    assert tokenize(text, 6, 10) == [("beta", 6, 10)]


@pytest.mark.parametrize("word", ["BERT", "GNNs", "GPT-4", "mRNA", "ResNet", "NLSE", "T5", "k-NN"])
def test_acronyms(word: str) -> None:
    assert is_acronym(word)


@pytest.mark.parametrize("word", ["Graph", "graph", "Transformer", "4K", "x", "Over-smoothing"])
def test_not_acronyms(word: str) -> None:
    assert not is_acronym(word)


def test_adverbs_and_adjectives() -> None:
    assert is_adverb("significantly") and not is_adverb("family") and not is_adverb("only")
    for word in ("complex", "theoretical", "graph-based", "supervised", "interpretable", "generative"):
        assert looks_adjective(word), word
    for word in ("network", "signal", "retrieval", "metric", "speed", "learning", "variables"):
        assert not looks_adjective(word), word


def test_fold() -> None:
    assert fold("Over-Smoothing") == "over smoothing"
    assert fold("ﬁne") == "fine"  # NFKC ligature


def test_verb_lexicon_maps_inflections_to_one_type() -> None:
    for form in ("use", "uses", "used", "using"):
        assert VERB_TYPES[form] == "USES"
    assert VERB_TYPES["outperforms"] == "OUTPERFORMS"
    assert VERB_TYPES["outperformed"] == "OUTPERFORMS"
    assert VERB_TYPES["based"] == "BASED_ON"
    assert VERB_TYPES["relies"] == "RELIES_ON"
    assert VERB_TYPES["wrote"] == VERB_TYPES["written"] == "WRITES"
    assert "written" in PARTICIPLES and "outperformed" in PARTICIPLES


def test_nominal_forms_are_not_verbs() -> None:
    for word in ("learning", "training", "passing", "attacks", "results", "embedding"):
        assert word not in VERB_TYPES, word
    assert not VERB_TYPES.keys() & STOPWORDS
    assert not VERB_TYPES.keys() & ADJECTIVES


def test_verb_lexicon_is_large_and_types_are_safe() -> None:
    assert len({form for form in VERB_TYPES if VERB_TYPES[form]}) > 1000
    assert len(set(VERB_TYPES.values())) > 300
    assert all(RELATION_TYPE_PATTERN.match(rel_type) for rel_type in VERB_TYPES.values())


@pytest.mark.parametrize(
    ("base", "forms"),
    [
        ("use", ("use", "uses", "used", "using")),
        ("study", ("study", "studies", "studied", "studying")),
        ("stop+", ("stop", "stops", "stopped", "stopping")),
        ("reach", ("reach", "reaches", "reached", "reaching")),
        ("tie", ("tie", "ties", "tied", "tying")),
        ("play", ("play", "plays", "played", "playing")),
        ("agree", ("agree", "agrees", "agreed", "agreeing")),
    ],
)
def test_inflect(base: str, forms: tuple[str, str, str, str]) -> None:
    assert inflect(base) == forms


@pytest.mark.parametrize(
    "text",
    [
        "!" * 300_000,
        " " * 300_000,
        "\n " * 150_000,
        ". " * 150_000,
        "a" * 300_000,
        "a-" * 150_000,
        "1." * 150_000,
        "J. " * 100_000,
        '."' * 150_000,
    ],
)
def test_linear_time_on_pathological_text(text: str) -> None:
    # a quadratic pattern would take minutes on 300k characters
    started = time.perf_counter()
    spans = split_sentences(text)
    tokens = tokenize(text)
    assert time.perf_counter() - started < 10
    assert all(b <= len(text) for _, b in spans)
    assert all(text[a:b] == word for word, a, b in tokens)
