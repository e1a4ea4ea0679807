"""TextGNN neighbourhoods: what a paper receives from its neighbours, and what it never receives."""

from __future__ import annotations

from pathlib import Path

from kgweave.agents.cooccurrence import CooccurrenceExtractor
from kgweave.agents.pipeline import extract_documents
from kgweave.agents.research_graph import PAPER, PaperRecord, ResearcherRecord, research_graph
from kgweave.agents.text_gnn import (
    nearest_neighbour_paper,
    node_messages,
    paper_neighbourhood,
    papers_with_text,
    select_masked,
)
from kgweave.graph_store.models import Entity
from kgweave.graph_store.sqlite_store import SQLiteGraphStore

TARGET = "Graph Transformers for Molecules"


def _store(tmp_path: Path) -> SQLiteGraphStore:
    papers = [
        PaperRecord(source="t", title=TARGET, abstract="We study graph transformers on molecules. SECRET phrase.",
                    authors=("Ada Lovelace", "Alan Turing"), topics=("graphs",), references=("Attention Is All",)),
        PaperRecord(source="t", title="Attention Is All", abstract="Attention replaces recurrence."),
        PaperRecord(source="t", title="Turing Machines", abstract="Machines compute. They halt or not.",
                    authors=("Alan Turing",)),
        PaperRecord(source="t", title="Two Shared Authors", abstract="Ada and Alan write again.",
                    authors=("Ada Lovelace", "Alan Turing")),
        PaperRecord(source="t", title="Unrelated Paper", abstract="Nothing in common here.", authors=("Grace Hopper",)),
    ]
    people = [ResearcherRecord(source="t", name="Ada Lovelace", bio="Ada writes about analytical engines.")]
    graph = research_graph(people, papers)
    store = SQLiteGraphStore(tmp_path / "g.db")
    store.upsert(graph.delta("r"))
    store.upsert(graph.link(extract_documents(graph.documents, CooccurrenceExtractor(), run_id="r", fingerprint="f"))
                 .delta)
    return store


def test_neighbourhood_messages_and_hidden_nodes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    target = Entity.named(TARGET, PAPER).id
    hood = paper_neighbourhood(store, target)
    roles = [(m.role, m.name) for m in hood.neighbours]
    assert roles == [("author", "Ada Lovelace"), ("author", "Alan Turing"), ("cited paper", "Attention Is All"),
                     ("topic", "graphs")]
    texts = {m.name: m.text for m in hood.neighbours}
    assert texts["Ada Lovelace"] == "Ada writes about analytical engines."  # bio
    assert texts["Alan Turing"].startswith("Other papers: ") and "Turing Machines: Machines compute" in texts[
        "Alan Turing"]  # no bio: his other papers speak for him
    prompt = "".join(m["content"] for m in node_messages(hood))
    assert "SECRET" not in prompt and TARGET not in prompt  # the node's own text and concepts are never sent
    hidden = {Entity.named("Attention Is All", PAPER).id, Entity.named("Turing Machines", PAPER).id}
    masked = paper_neighbourhood(store, target, hidden=hidden)
    assert "Attention Is All" not in [m.name for m in masked.neighbours]
    assert "Turing Machines" not in (dict((m.name, m.text) for m in masked.neighbours)["Alan Turing"] or "")
    store.close()


def test_nearest_neighbour_and_selection(tmp_path: Path) -> None:
    store = _store(tmp_path)
    target = Entity.named(TARGET, PAPER).id
    assert nearest_neighbour_paper(store, target, hidden=()).name == "Two Shared Authors"  # type: ignore[union-attr]
    assert nearest_neighbour_paper(store, target, hidden={Entity.named("Two Shared Authors", PAPER).id}).name in (
        "Attention Is All", "Turing Machines")  # type: ignore[union-attr]
    papers = papers_with_text(store)
    assert len(papers) == 5
    for seed in range(5):
        chosen = select_masked(papers, store, n=10, seed=seed)
        assert chosen and "Unrelated Paper" not in [p.name for p in chosen]  # its only neighbour says nothing
        hidden = {p.id for p in chosen}
        for paper in chosen:  # with every chosen paper hidden, each still hears something
            assert any(m.text for m in paper_neighbourhood(store, paper.id, hidden=hidden - {paper.id}).neighbours)
    assert select_masked(papers, store, n=2, seed=1) == select_masked(papers, store, n=2, seed=1)
    store.close()
