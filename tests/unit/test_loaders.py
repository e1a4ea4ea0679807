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
