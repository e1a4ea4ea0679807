"""``kgweave ask`` with the LLM: the walk and the answer through the real client and the test LLM server.

The server answers from the request's JSON schema: an enum with its first value (the walk takes the
best-ranked neighbour every step) and a free string with ``"text"`` (every citation names a chunk that is
not in the evidence, so all of them are dropped).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgweave.agents.answering import Citation, ask, kept_citations
from kgweave.analysis.retrieval import AskOptions, EvidenceItem, NoLinkError, link_entities
from kgweave.flows.answer_question import ask_store
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.ask_graph import ask_delta, span_text
from tests.llm_fixtures import client_config, llm_server_fixture  # noqa: F401
from tests.llm_server import LLMTestServer


def _store(tmp_path: Path) -> SQLiteGraphStore:
    store = SQLiteGraphStore(tmp_path / "ask.db")
    store.upsert(ask_delta())
    return store


def test_walk_takes_the_best_ranked_neighbour_each_step_and_records_it(
        llm_server: LLMTestServer, tmp_path: Path) -> None:
    store = _store(tmp_path)
    result = ask_store(store, "What does aspirin do?", "ask-walk", AskOptions(mode="walk", walk_steps=2),
                       client_config(llm_server, tmp_path))
    cox = store.find_entities("COX-1")[0].id
    # from COX-1 both unvisited neighbours have support 1: the first by id is offered first
    second = min((r.target_id if r.source_id == cox else r.source_id) for r, _ in store.incident_relations([cox])
                 if store.find_entities("aspirin")[0].id not in (r.source_id, r.target_id))
    entity = store.get_entity(second)
    assert entity is not None
    assert [(s.source, s.relation, s.target, s.forward) for s in result.walk] == [
        ("Aspirin", "INHIBITS", "COX-1", True),
        ("COX-1", *(("PRODUCES", "Thromboxane", True) if entity.name == "Thromboxane"
                    else ("INHIBITS", "Ibuprofen", False)))]
    assert result.walk[0].text() == "Aspirin --[INHIBITS]--> COX-1"
    assert [(e.kind, e.path, e.step) for e in result.evidence] == [("walk_hop", 0, 0), ("walk_hop", 0, 1)]
    assert result.evidence[0].text == span_text(0, "Aspirin", "COX-1")
    chats = llm_server.chat_requests
    assert len(chats) == result.llm_calls == 3  # two walk steps, one answer
    offered = json.dumps(chats[0].body["messages"])
    assert "COX-1" in offered and "<question>What does aspirin do?</question>" in offered
    assert result.tokens > 0
    run = next(r for r in store.runs() if r.id == "ask-walk")
    assert (run.kind, run.status, run.summary["llm_calls"]) == ("ask", "completed", 3)


def test_citations_outside_the_evidence_are_dropped_and_counted(llm_server: LLMTestServer, tmp_path: Path) -> None:
    store = _store(tmp_path)
    result = ask_store(store, "What does aspirin do?", "ask-cite", AskOptions(hops=1),
                       client_config(llm_server, tmp_path))
    assert result.answer == "text" and result.citations == []
    assert result.dropped_citations == 3  # the server cites chunk "text" three times
    prompt = llm_server.chat_requests[-1].body["messages"][-1]["content"]
    assert result.evidence[0].chunk_id in prompt and "Aspirin inhibits COX-1" in prompt


def test_kept_citations_keep_known_chunks_once() -> None:
    items = [EvidenceItem(kind="relation", relation_id=f"r{i}", source="a", relation="R", target="b", chunk_id=c,
                          start=0, end=1, text="t") for i, c in enumerate(("c1", "c2", None))]
    kept, dropped = kept_citations([Citation(chunk_id=c) for c in ("c2", "zzz", "c2", "c1", "None")], items)
    assert [c.chunk_id for c in kept] == ["c2", "c1"] and dropped == 3


def test_no_llm_makes_no_request(llm_server: LLMTestServer, tmp_path: Path) -> None:
    store = _store(tmp_path)
    result = ask_store(store, "What does aspirin do?", "ask-no-llm", AskOptions(use_llm=False),
                       client_config(llm_server, tmp_path))
    assert result.evidence and result.answer is None and result.llm_calls == 0
    assert llm_server.chat_requests == []


class _Embedder:
    """'acetylsalicylic acid' at cosine 0.7 of aspirin's stored vector (the ambiguous band), the rest far away."""

    name = "ask-band-3d"

    def embed(self, texts: list[str]) -> object:
        import numpy as np

        return np.array([[0.7, 0.0, 0.714] if t == "acetylsalicylic acid" else [0.0, 0.0, 1.0] for t in texts],
                        dtype=np.float32)


def test_ambiguous_embedding_match_is_linked_only_when_the_llm_confirms(
        llm_server: LLMTestServer, tmp_path: Path) -> None:
    store = _store(tmp_path)
    aspirin, ibuprofen = store.find_entities("aspirin")[0], store.find_entities("ibuprofen")[0]
    store.write_embeddings(_Embedder.name, {aspirin.id: ("a", [1.0, 0.0, 0.0]), ibuprofen.id: ("i", [0.0, 1.0, 0.0])})
    question = "What does acetylsalicylic acid do?"
    with pytest.raises(NoLinkError):  # 0.7 is below the threshold, and there is no judge
        link_entities(store, question, embedder=_Embedder())
    with pytest.raises(NoLinkError):  # the judge says none of them
        link_entities(store, question, embedder=_Embedder(), judge=lambda q, candidates: None)
    result = ask(store, question, AskOptions(hops=1), client_config(llm_server, tmp_path), _Embedder())
    assert [(link.name, link.method, link.mention) for link in result.linked_entities] == [
        ("Aspirin", "llm", "acetylsalicylic acid")]
    assert result.llm_calls == 2  # the link, the answer
    link_request = json.dumps(llm_server.chat_requests[0].body)
    assert "Aspirin" in link_request and "Ibuprofen" not in link_request  # only candidates in the band
