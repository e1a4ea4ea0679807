"""Structured sources (ResearchTown, book reviews): record graphs from the real shared data and bad records."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from kgweave.agents.domains import get_domain, register, unregister
from kgweave.agents.domains.research_records import bibliography_title
from kgweave.agents.pipeline import BatchResult, extract_documents
from kgweave.agents.record_graph import MENTIONS
from kgweave.agents.research_graph import AUTHORED, CITES, COLLABORATES_WITH, PAPER, RESEARCHER, REVIEW, REVIEWED
from kgweave.agents.sources.records import load_domain_source
from kgweave.graph_store.models import Entity

RT = "researchtown_agent_data"
DATA = Path(__file__).resolve().parents[1] / "data"


def _labels(source) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(e.label for e in source.graph.entities)


def _types(source) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(r.type for r in source.graph.relations)


def test_profiles_give_researchers_collaborations_and_bios(shared_data: Path) -> None:
    source = load_domain_source([shared_data / RT / "examples" / "profiles" / "ProfileDB.json"], "profiles")
    assert source.records == 63 and not source.failures
    profiled = [e for e in source.graph.entities if e.label == RESEARCHER and e.description]
    assert len(profiled) >= 60
    assert _types(source)[COLLABORATES_WITH] >= 500
    neubig = Entity.named("Graham Neubig", RESEARCHER)
    assert any(neubig.id in (r.source_id, r.target_id) for r in source.graph.relations if r.type == COLLABORATES_WITH)
    assert len(source.documents) == 63  # one bio each, to extract concepts from


def test_iclr_set_gives_papers_authors_and_scored_reviews(shared_data: Path) -> None:
    source = load_domain_source([shared_data / RT / "iclr2023_review_score_papers"], "papers")
    assert source.records == 622 and not source.failures  # 613 distinct titles (9 papers in two areas)
    labels, types = _labels(source), _types(source)
    assert labels[PAPER] >= 600 and types[AUTHORED] >= 1500
    assert labels[REVIEW] == types[REVIEWED] > 2000
    ordered = Entity.named("Ordered GNN: Ordering Message Passing to Deal with Heterophily and Over-smoothing", PAPER)
    scores = sorted(r.properties["score"] for r in source.graph.relations
                    if r.type == REVIEWED and r.target_id == ordered.id)
    assert scores == [5.0, 5.0, 5.0, 8.0]
    paper = next(e for e in source.graph.entities if e.id == ordered.id)
    assert paper.properties["decision"] == "Accept: poster" and paper.description.startswith("Most graph neural")


def test_paperdb_bibliography_becomes_cites_by_title(shared_data: Path) -> None:
    source = load_domain_source([shared_data / RT / "examples" / "research_town_demo_log" / "PaperDB.json"], "papers")
    cites = [r for r in source.graph.relations if r.type == CITES]
    assert len(cites) >= 50
    xgboost = Entity.named("Xgboost: A scalable tree boosting system", PAPER)
    assert any(r.target_id == xgboost.id for r in cites)


def test_bibliography_title_is_the_third_block() -> None:
    entry = "\nChen (2016)\n\nTianqi Chen.\n\n\nXgboost: A scalable tree\nboosting system.\n\n\nIn KDD, 2016.\n"
    assert bibliography_title(entry) == "Xgboost: A scalable tree boosting system"
    assert bibliography_title("just one block") is None


def test_teg_goodreads_textual_edges(shared_data: Path) -> None:
    source = load_domain_source([shared_data / "teg_goodreads_sample" / "final_data.json"], "reviews")
    assert source.records == 68 and not source.failures
    labels = _labels(source)
    assert labels["Review"] == 68 and labels["Book"] == 66 and labels["Reader"] >= 1
    assert _types(source)["HAS_REVIEW"] == 68 == _types(source)["WROTE"]


def test_bad_records_are_reported_one_by_one(tmp_path: Path) -> None:
    papers = tmp_path / "papers.jsonl"
    papers.write_text("\n".join([
        json.dumps({"title": "Good Paper", "abstract": "Graph neural networks learn.", "authors": ["A B", "C D"],
                    "year": 2023, "references": ["Cited Work", {"title": "Other Work"}]}),
        json.dumps({"title": "", "abstract": "no title"}),
        json.dumps({"title": "Bad Authors", "authors": [1, 2]}),
        "{broken",
        json.dumps({"title": "Second Good", "abstract": "Another abstract.", "authors": "E F; G H"}),
    ]) + "\n", "utf-8")
    plain = tmp_path / "notes.txt"
    plain.write_text("A plain text file is read by the generic loader.", "utf-8")
    source = load_domain_source([papers, plain], "papers")
    reasons = {f.source.rsplit(":", 1)[-1]: f.reason for f in source.failures}
    assert set(reasons) == {"2", "3", "4"}
    assert "title" in reasons["2"] and "authors" in reasons["3"] and "invalid JSON" in reasons["4"]
    assert source.records == 2
    assert _labels(source)[PAPER] == 4 and _types(source)[CITES] == 2 and _types(source)[AUTHORED] == 4
    assert len(source.documents) == 3  # two abstracts and the plain text file


def test_papers_with_text_or_body_and_non_papers_reported_per_record(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join([
        json.dumps({"text": "A plain note without a title opens the file."}),  # not a paper: reported, not a switch
        json.dumps({"title": "Text Paper", "text": "Graph neural networks learn from text."}),
        json.dumps({"title": "Body Paper", "body": "Transformers read whole bodies."}),
        json.dumps({"title": "Abstract Wins", "abstract": "The abstract.", "text": "The full text."}),
        json.dumps({"name": "Ada", "note": "neither a paper nor a researcher"}),
    ]) + "\n", "utf-8")
    notes = tmp_path / "notes.jsonl"  # no record is a paper: the whole file is plain documents, as before
    notes.write_text(json.dumps({"text": "Only plain texts here."}) + "\n", "utf-8")
    source = load_domain_source([mixed, notes], "papers")
    reasons = {f.source.rsplit(":", 1)[-1]: f.reason for f in source.failures}
    assert set(reasons) == {"1", "5"}
    assert all(r.startswith("record is not a paper (title, abstract/text/body/authors)") for r in reasons.values())
    papers = {e.name: e.description for e in source.graph.entities if e.label == PAPER}
    assert papers == {"Text Paper": "Graph neural networks learn from text.",
                      "Body Paper": "Transformers read whole bodies.", "Abstract Wins": "The abstract."}
    assert source.records == 3
    assert sorted(d.text for d in source.documents) == [
        "Graph neural networks learn from text.", "Only plain texts here.", "The abstract.",
        "Transformers read whole bodies."]


def test_link_adds_mentions_from_the_owner_and_review_relation_ids() -> None:
    source = load_domain_source([DATA / "hobbit_reviews.jsonl"], "reviews")
    assert {f.source.rsplit(":", 1)[-1] for f in source.failures} == {"5", "7"}  # empty text, not JSON
    from kgweave.agents.cooccurrence import CooccurrenceExtractor

    result = source.graph.link(extract_documents(source.documents, CooccurrenceExtractor(), run_id="r",
                                                 fingerprint="f"))
    assert isinstance(result, BatchResult)
    delta = result.delta
    mentions = [r for r in delta.relations if r.type == MENTIONS]
    names = {e.id: e.name for e in delta.entities}
    assert {names[r.target_id] for r in mentions} >= {"Bilbo", "Gandalf", "Smaug", "Alice", "Bob"}
    assert all(r.chunk_id for r in mentions)
    reviews = [e for e in delta.entities if e.label == "Review"]
    assert len(reviews) == 5
    extracted = {r.id for r in delta.relations if r.type != MENTIONS}
    listed = {i for e in reviews for i in str(e.properties.get("relation_ids", "")).split(",") if i}
    assert listed and listed <= extracted


def test_unknown_domain_is_refused() -> None:
    with pytest.raises(ValueError, match="no structured source"):
        load_domain_source([DATA], "text")


def test_reviews_csv_with_titles_ratings_and_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text("book_title,review,rating,user_id\n"
                    "The Hobbit,Bilbo meets Gandalf.,5,u1\n"
                    "The Hobbit,Gandalf helps Bilbo.,not a number,u2\n"
                    "Dune,Paul rides the worm.,4,\n", "utf-8")
    source = load_domain_source([path], "reviews")
    assert [f.source.rsplit(":", 1)[-1] for f in source.failures] == ["3"]
    assert "rating" in source.failures[0].reason
    books = {e.name: e for e in source.graph.entities if e.label == "Book"}
    assert set(books) == {"The Hobbit", "Dune"} and books["Dune"].properties["book_id"] == "Dune"
    ratings = sorted(e.properties["rating"] for e in source.graph.entities if e.label == "Review")
    assert ratings == [4.0, 5.0]


def test_a_domain_naming_an_unknown_folder_format_is_refused() -> None:
    reviews = get_domain("reviews")
    assert reviews.records is not None
    register(replace(reviews, name="odd", records=replace(reviews.records, folders=("nope",))))
    try:
        with pytest.raises(ValueError, match="unknown folder formats"):
            load_domain_source([DATA], "odd")
    finally:
        unregister("odd")


def test_hostile_records_fail_alone_under_a_record_domain(tmp_path: Path) -> None:
    from kgweave.agents.sources.files import LoadOptions

    deep = "[" * 10_000 + "]" * 10_000
    papers = tmp_path / "papers.jsonl"
    papers.write_text("\n".join([
        json.dumps({"title": "First Paper", "abstract": "Graph neural networks learn."}),
        '{"title": "Deep", "abstract": ' + deep + "}",
        json.dumps({"title": "Huge", "abstract": "z " * (1024 * 1024)}),
        json.dumps({"title": "Last Paper", "abstract": "Transformers read text."}),
    ]) + "\n", "utf-8")
    (tmp_path / "deep.json").write_text(deep, "utf-8")
    source = load_domain_source([tmp_path], "papers", LoadOptions(max_record_mb=1))
    reasons = {Path(f.source).name: f.reason for f in source.failures}
    assert reasons == {"deep.json": "invalid JSON: nested deeper than the parser's recursion limit",
                       "papers.jsonl:2": "invalid JSON: nested deeper than the parser's recursion limit",
                       "papers.jsonl:3": "record too large (2.0 MB > 1 MB limit; raise --max-record-mb)"}
    assert sorted(e.name for e in source.graph.entities if e.label == PAPER) == ["First Paper", "Last Paper"]
