"""The CiteSeer (TAPE) loader: title/abstract split, per-line failures, the real file's counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgweave.agents.sources.citeseer import citeseer_delta, split_title
from tests.conftest import SHARED_DATA, require


@pytest.mark.parametrize(("text", "title", "abstract_start"), [
    ("Decomposition in Data Mining: An Industrial Case Study Data mining offers tools for discovery",
     "Decomposition in Data Mining: An Industrial Case Study", "Data mining offers"),
    ("Argument in Multi-Agent Systems Multi-agent systems research is concerned",
     "Argument in Multi-Agent Systems", "Multi-agent systems research"),
    ("Patterns as Tools for User Interface Design . Designing usable systems is difficult",
     "Patterns as Tools for User Interface Design", "Designing usable"),
])
def test_split_title(text: str, title: str, abstract_start: str) -> None:
    got_title, abstract = split_title(text)
    assert got_title == title and abstract.startswith(abstract_start)


def test_bad_records_are_recorded_and_the_rest_loaded(tmp_path: Path) -> None:
    (tmp_path / "citeseer_texts.txt").write_text(
        "p1\nGraph Mining Methods We study graphs.\nML\n"
        "p2\nSome Paper Title Here we go.\nNOT_A_CLASS\n"
        "p3\nAgent Talk Agents talk to agents.\nAgents\n", encoding="utf-8")
    (tmp_path / "citeseer.cites").write_text("p1\tp3\nbroken line\np1\tunknown\n", encoding="utf-8")
    delta, failures = citeseer_delta(tmp_path, run_id="r")
    assert sorted(e.properties["citeseer_id"] for e in delta.entities) == ["p1", "p3"]
    reasons = [f.reason for f in failures]
    assert len(reasons) == 2  # one per bad record or line: the bad record is skipped whole
    assert any("NOT_A_CLASS" in r for r in reasons) and any("cited<TAB>citing" in r for r in reasons)
    assert [f.source.rsplit(":", 1)[1] for f in failures if "NOT_A_CLASS" in f.reason] == ["4"]
    paper = {e.properties["citeseer_id"]: e for e in delta.entities}
    assert len(delta.relations) == 1
    rel = delta.relations[0]
    assert (rel.source_id, rel.type, rel.target_id) == (paper["p3"].id, "CITES", paper["p1"].id)  # citing -> cited
    assert paper["p1"].name == "Graph Mining Methods" and paper["p1"].description == "We study graphs."
    assert paper["p1"].properties["category"] == "ML" and paper["p1"].label == "Paper"


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        citeseer_delta(tmp_path, run_id="r")


def test_real_citeseer_counts() -> None:
    folder = SHARED_DATA / "citeseer_tape_text"
    require(folder.is_dir(), f"{folder} is missing")
    delta, failures = citeseer_delta(folder, run_id="r")
    assert (len(delta.entities), len(delta.relations), failures) == (3186, 4277, [])
    categories = {e.properties["category"] for e in delta.entities}
    assert categories == {"Agents", "AI", "DB", "IR", "ML", "HCI"}
    assert len({e.id for e in delta.entities}) == 3186  # ids from CiteSeer ids: duplicate titles stay apart


def test_real_citeseer_folder_is_a_papers_domain_source() -> None:
    from kgweave.agents.sources.records import load_domain_source

    folder = SHARED_DATA / "citeseer_tape_text"
    require(folder.is_dir(), f"{folder} is missing")
    source = load_domain_source([folder], "papers")
    assert source.failures == [] and source.records == 3186  # the licence file is not a failed document
    papers = [e for e in source.graph.entities if e.label == "Paper"]
    assert len(papers) == 3186 and sum(r.type == "CITES" for r in source.graph.relations) == 4277
    assert len(source.documents) == len({p.description for p in papers if p.description})  # one text per abstract
