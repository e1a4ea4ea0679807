from __future__ import annotations

import pytest

from kgweave.agents.chunking import chunk_document
from kgweave.graph_store.models import Document


def _doc(text: str) -> Document:
    return Document.from_text(text, source="t")


@pytest.mark.parametrize("max_chars", [50, 200, 2000])
def test_chunks_cover_text_with_exact_offsets(max_chars: int) -> None:
    text = " ".join(f"Sentence number {i} talks about graphs." for i in range(60)) + "\n\nA new paragraph."
    doc = _doc(text)
    chunks = chunk_document(doc, max_chars)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text == text[chunk.start:chunk.end] and chunk.text.strip() == chunk.text
        assert 0 < len(chunk.text) <= max_chars
    covered = "".join(text[c.start:c.end] for c in chunks).replace(" ", "").replace("\n", "")
    assert covered == text.replace(" ", "").replace("\n", "")


def test_cuts_fall_on_sentence_boundaries() -> None:
    text = "First sentence here. Second sentence here. Third sentence here."
    chunks = chunk_document(_doc(text), 45)
    assert [c.text for c in chunks] == ["First sentence here. Second sentence here.", "Third sentence here."]


def test_a_long_word_run_is_cut_hard() -> None:
    text = "x" * 1000
    chunks = chunk_document(_doc(text), 300)
    assert [len(c.text) for c in chunks] == [300, 300, 300, 100]


def test_ids_are_stable_and_distinct() -> None:
    doc = _doc("One. Two. Three. " * 50)
    first, second = chunk_document(doc, 100), chunk_document(doc, 100)
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first)


def test_blank_document_has_no_chunks() -> None:
    assert chunk_document(_doc("   \n\n  "), 100) == []
