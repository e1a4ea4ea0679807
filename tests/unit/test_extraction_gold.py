"""Gold readers of ``kgweave eval extraction``: DyGIE and triples, with bad lines reported one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgweave.agents.sources.gold import parse_dygie, parse_gold, parse_triples

DATA = Path(__file__).resolve().parents[1] / "data"
TEXT = "We use graph neural networks for link prediction. The model outperforms BERT on Cora."


def _surfaces(doc: object) -> list[tuple[str, str]]:
    return [(doc.text[e.start:e.end], e.type) for e in doc.entities]  # type: ignore[attr-defined]


def test_dygie_tokens_become_exact_character_spans() -> None:
    gold = parse_gold((DATA / "extraction_gold.dygie.jsonl").read_text(), "dygie")
    assert [d.key for d in gold.documents] == ["d1", "d2"]
    d1 = gold.documents[0]
    assert d1.text == "We use graph neural networks for link prediction . The model outperforms BERT on Cora ."
    assert _surfaces(d1) == [("graph neural networks", "Method"), ("link prediction", "Task"), ("BERT", "Method"),
                             ("Cora", "Dataset")]
    assert [(e.start, e.end) for e in d1.entities] == [(7, 28), (33, 48), (73, 77), (81, 85)]
    used, evaluated = d1.relations
    assert (d1.text[used.head.start:used.head.end], used.type, d1.text[used.tail.start:used.tail.end]) == (
        "graph neural networks", "Used-For", "link prediction")
    assert (evaluated.head.type, evaluated.tail.type) == ("Method", "Dataset")
    assert _surfaces(gold.documents[1]) == [("Dropout", "Method"), ("deep networks", "Method")]


def test_dygie_bad_lines_are_reported_one_by_one() -> None:
    gold = parse_dygie((DATA / "extraction_gold.dygie.jsonl").read_text())
    assert [e.line for e in gold.errors] == [2, 3]
    assert gold.errors[0].reason.startswith("not JSON")
    assert "outside the document's 3 tokens" in gold.errors[1].reason


@pytest.mark.parametrize(("line", "reason"), [
    ('{"sentences": [["a"]]}', "no doc_key"),
    ('{"doc_key": 1, "sentences": [["a", ""]]}', "non-empty token"),
    ('{"doc_key": 1, "sentences": [["a"]], "ner": [[[0, 0]]]}', "is not [start, end, type]"),
    ('{"doc_key": 1, "sentences": [["a"], ["b"]], "ner": [[]]}', "one list per sentence"),
    ('{"doc_key": 1, "sentences": [["a", "b"]], "relations": [[[0, 0, 1, 1]]]}', "is not [s1, e1, s2, e2, type]"),
    ('[1]', "not a JSON object"),
])
def test_dygie_malformed_documents(line: str, reason: str) -> None:
    gold = parse_dygie(line + "\n")
    assert gold.documents == () and len(gold.errors) == 1 and reason in gold.errors[0].reason


def test_triples_csv_texts_from_any_row_first_occurrence_spans() -> None:
    gold = parse_gold((DATA / "extraction_gold.triples.csv").read_text(), "triples", name="gold.csv")
    (t1,) = gold.documents
    assert t1.key == "t1" and t1.text == TEXT
    assert _surfaces(t1) == [("graph neural networks", "untyped"), ("link prediction", "untyped"),
                             ("BERT", "untyped"), ("Cora", "untyped")]
    assert [r.type for r in t1.relations] == ["Used-For", "Evaluated-With"]
    reasons = {e.line: e.reason for e in gold.errors}
    assert set(reasons) == {4, 5, 6}
    assert "no text for text_id 't2'" in reasons[4]
    assert "'ImageNet' does not occur" in reasons[5]
    assert "missing relation, tail" in reasons[6]


def test_triples_jsonl_with_offsets_checks_them_against_the_text() -> None:
    gold = parse_gold((DATA / "extraction_gold.triples.jsonl").read_text(), "triples", name="gold.jsonl")
    (t1,) = gold.documents
    assert [(r.head.start, r.head.end, r.tail.start, r.tail.end) for r in t1.relations] == [
        (7, 28, 33, 48), (72, 76, 80, 84)]
    assert [(e.line, e.reason) for e in gold.errors] == [
        (3, "head 'BERT' is not the text at [70, 74)"), (4, "not a JSON object")]


def test_triples_header_and_conflicting_texts() -> None:
    assert parse_triples("id,head,tail\n1,a,b\n").errors[0].reason == "header lacks text_id, relation"
    gold = parse_triples("text_id,head,relation,tail,text\nx,a,R,b,a b\nx,a,R,b,a  b\ny,a,R,c,a c,extra\n")
    assert len(gold.documents) == 1 and len(gold.documents[0].relations) == 1  # the conflicting row is skipped
    assert [(e.line, e.reason) for e in gold.errors] == [
        (3, "a second, different text for text_id 'x'"), (4, "more fields than the header")]
    partial = parse_triples("text_id,head,relation,tail,head_start,text\nx,a,R,b,0,a b\n")
    assert "give all of head_start" in partial.errors[0].reason


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown gold format 'brat'"):
        parse_gold("", "brat")
