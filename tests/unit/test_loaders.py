from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgweave.agents.sources.files import InputPathError, LoadOptions, load_corpus


def _reasons(failures: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {Path(f.source.split("#")[0].split(":")[0]).name: f.reason for f in failures}


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputPathError, match="no such file"):
        load_corpus([tmp_path / "nope.txt"])


def test_bad_files_are_reported_and_good_ones_loaded(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Graph neural networks learn on graphs.", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good.md").write_text("# Notes\nKnowledge graphs.", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n")
    with (tmp_path / "huge.txt").open("wb") as fh:
        fh.write(b"word " * (50 * 1024 * 1024 // 5))
    docs, failures = load_corpus([tmp_path])
    assert sorted(d.source.split("/")[-1] for d in docs) == ["good.md", "good.txt"]
    reasons = _reasons(failures)
    assert reasons["empty.txt"] == "empty file"
    assert reasons["binary.txt"].startswith("binary file")
    assert reasons["latin1.txt"].startswith("invalid UTF-8 at byte 3")
    assert reasons["image.png"] == "unsupported file type '.png'"
    assert reasons["huge.txt"].startswith("file too large (50.0 MB > 20 MB limit")
    assert len(failures) == 5


def test_utf8_bom_and_utf16_are_decoded(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfHello graphs")
    (tmp_path / "u16.txt").write_bytes("Hello graphs".encode("utf-16"))
    docs, failures = load_corpus([tmp_path])
    assert failures == [] and {d.text for d in docs} == {"Hello graphs"}


def test_json_shapes_and_text_fields(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text(json.dumps([{"abstract": "A one."}, {"text": "B two."}, {"x": 1}, 5]))
    (tmp_path / "keyed.json").write_text(json.dumps({"Paper T": {"abstract": "C three.", "year": 2023}}))
    (tmp_path / "single.json").write_text(json.dumps({"review": "D four.", "title": "Book"}))
    (tmp_path / "lines.jsonl").write_text('{"body": "E five."}\n\nnot json\n{"text": "  "}\n')
    (tmp_path / "rows.csv").write_text('id,review,rating\n1,"F six, with comma.",5\n2,,3\n')
    (tmp_path / "broken.json").write_text('{"text": "unterminated')
    docs, failures = load_corpus([tmp_path])
    by_text = {d.text: d for d in docs}
    assert set(by_text) == {"A one.", "B two.", "C three.", "D four.", "E five.", "F six, with comma."}
    assert by_text["C three."].title == "Paper T" and by_text["C three."].metadata == {"year": 2023}
    assert by_text["D four."].title == "Book"
    reasons = sorted(f.reason.split(" at ")[0].split(":")[0] for f in failures)
    assert reasons == sorted([
        "no text in field(s) text, abstract, review, review_text, body, content",
        "record is a int, not an object",
        "invalid JSON",
        "no text in field(s) text, abstract, review, review_text, body, content",
        "no text in field(s) text, abstract, review, review_text, body, content",
        "invalid JSON",
    ])


def test_configured_text_field(tmp_path: Path) -> None:
    (tmp_path / "r.jsonl").write_text('{"summary": "Only this.", "text": "Not this."}\n')
    docs, _ = load_corpus([tmp_path], LoadOptions(text_field="summary"))
    assert [d.text for d in docs] == ["Only this."]


def test_same_text_twice_is_one_document(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Same text.")
    (tmp_path / "b.txt").write_text("Same text.")
    docs, _ = load_corpus([tmp_path])
    assert len(docs) == 1


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_json_fails_alone_and_the_rest_is_read(tmp_path: Path) -> None:
    (tmp_path / "a_good.txt").write_text("Graph neural networks learn on graphs.", encoding="utf-8")
    (tmp_path / "deep.json").write_text(_nested(10_000), encoding="utf-8")
    lines = [json.dumps({"text": "First record."}), '{"text": ' + _nested(10_000) + "}",
             json.dumps({"text": "Third record."})]
    (tmp_path / "deep.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs, failures = load_corpus([tmp_path])
    assert sorted(d.text for d in docs) == ["First record.", "Graph neural networks learn on graphs.", "Third record."]
    by_source = {Path(f.source).name: f.reason for f in failures}
    deep = "invalid JSON: nested deeper than the parser's recursion limit"
    assert by_source["deep.json"] == by_source["deep.jsonl:2"] == deep
    assert len(failures) == 2


def test_json_errors_name_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('[\n  {"text": "a"},\n  {"text": }\n]', encoding="utf-8")
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{"text": "x",}\n', encoding="utf-8")
    docs, failures = load_corpus([tmp_path])
    reasons = {Path(f.source).name: f.reason for f in failures}
    assert reasons["bad.json"] == "invalid JSON at line 3 column 12: Expecting value"
    assert reasons["bad.jsonl:2"] == "invalid JSON at column 14: Expecting property name enclosed in double quotes"
    assert [d.text for d in docs] == ["ok"]


def test_an_oversized_csv_field_drops_only_its_row(tmp_path: Path) -> None:
    big = "x" * (2 * 1024 * 1024)
    rows = ["title,text", "One,First text.", 'Two,"Second\ntext."', f"Big,{big}", "Four,Fourth text.",
            "Five,Fifth text."]
    (tmp_path / "big_field.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    docs, failures = load_corpus([tmp_path], LoadOptions(max_record_mb=1))
    assert [d.title for d in docs] == ["One", "Two", "Four", "Five"]
    assert [d.source.rsplit("/", 1)[-1] for d in docs] == ["big_field.csv:2", "big_field.csv:3", "big_field.csv:6",
                                                           "big_field.csv:7"]
    assert [(Path(f.source).name, f.reason.split(":")[0]) for f in failures] == [("big_field.csv:5", "invalid CSV")]
    assert "--max-record-mb" in failures[0].reason


def test_large_record_files_are_streamed_and_limited_per_record(tmp_path: Path) -> None:
    big = json.dumps({"text": "y " * (1024 * 1024)})
    good = [json.dumps({"text": f"Record number {i}."}) for i in range(3)]
    (tmp_path / "many.jsonl").write_text("\n".join([good[0], big, good[1], good[2]]) + "\n", encoding="utf-8")
    docs, failures = load_corpus([tmp_path], LoadOptions(max_file_mb=1, max_record_mb=1))
    assert [d.text for d in docs] == ["Record number 0.", "Record number 1.", "Record number 2."]
    assert [(Path(f.source).name, f.reason) for f in failures] == [
        ("many.jsonl:2", "record too large (2.0 MB > 1 MB limit; raise --max-record-mb)")]


def test_a_bad_byte_fails_its_record_only(tmp_path: Path) -> None:
    (tmp_path / "mixed.jsonl").write_bytes(b'{"text": "ok one"}\n{"text": "caf\xe9"}\n{"text": "ok two"}\n')
    (tmp_path / "mixed.csv").write_bytes(b"text\nok three\ncaf\xe9\nok four\n")
    docs, failures = load_corpus([tmp_path])
    assert sorted(d.text for d in docs) == ["ok four", "ok one", "ok three", "ok two"]
    assert sorted(Path(f.source).name for f in failures) == ["mixed.csv:3", "mixed.jsonl:2"]
