"""TAPE explanations through the real openai client against the test LLM server (tests/llm_server.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from kgweave.agents.explanations import (
    ExplanationError,
    explain_store,
    explanation_schema,
    explanation_text,
    tape_model_name,
)
from kgweave.agents.llm_client import Budget
from kgweave.graph_store.models import Entity, GraphDelta, Relation
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.llm_fixtures import client_config, llm_server_fixture  # noqa: F401
from tests.llm_server import LLMTestServer, request_document

TAPE_MODEL = tape_model_name("test-model")


class HashEmbedder:
    """A fast stand-in for MiniLM: 8 unit-ish dimensions from the text's hash; records what it embedded."""

    name = "hash-test"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen += list(texts)
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:8], dtype=np.uint8) / 255.0 + 0.01 for t in texts]
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), 8)


def papers_store(path: Path) -> list[Entity]:
    """Six labelled papers (two areas) and two unlabelled ones, citing within their area."""
    papers = [Entity.named(f"{area} paper {i}", "Paper", description=f"We study {area} methods, part {i}.",
                           properties={"area": area})
              for area in ("Databases", "Learning") for i in range(3)]
    papers += [Entity.named(f"Untitled {i}", "Paper", description="A paper with no known area.") for i in range(2)]
    cites = [Relation.between(a.id, "CITES", b.id) for a, b in zip(papers, papers[1:], strict=False)]
    with SQLiteGraphStore(path) as store:
        store.upsert(GraphDelta(run_id="load", extractor="test", entities=tuple(papers), relations=tuple(cites)))
    return papers


def test_explanations_are_stored_and_a_rerun_asks_nothing(llm_server: LLMTestServer, tmp_path: Path) -> None:
    papers = papers_store(tmp_path / "g.db")
    config = client_config(llm_server, tmp_path)
    with SQLiteGraphStore(tmp_path / "g.db") as store:
        embedder = HashEmbedder()
        report = explain_store(store, config, embedder, "area", entity_label="Paper")
        assert report.classes == ["Databases", "Learning"] and report.model == TAPE_MODEL == "tape-test-model"
        assert (report.entities, report.explained, report.failed, report.unchanged) == (8, 8, 0, 0)
        assert report.llm_calls == len(llm_server.chat_requests) == 8 and report.dimension == 8
        schema = llm_server.chat_requests[0].response_format["json_schema"]["schema"]  # type: ignore[index]
        assert schema["properties"]["prediction"]["enum"] == ["Databases", "Learning"]
        # the test server predicts the class named in the text; the embedded text is prediction + explanation
        assert explanation_text("Databases", "The text says: Databases paper 0 This points to Databases.") \
            in embedder.seen
        assert set(store.embeddings(TAPE_MODEL)) == {p.id for p in papers}

        again = explain_store(store, config, embedder, "area", entity_label="Paper")
        assert (again.unchanged, again.explained, again.llm_calls) == (8, 0, 0)
        assert len(llm_server.chat_requests) == 8 and len(embedder.seen) == 8  # nothing asked, nothing embedded

        # a new paper is asked; the others are not
        new = Entity.named("Learning paper 9", "Paper", description="More.", properties={"area": "Learning"})
        store.upsert(GraphDelta(run_id="more", extractor="test", entities=(new,)))
        third = explain_store(store, config, embedder, "area", entity_label="Paper")
        assert (third.explained, third.unchanged, third.llm_calls) == (1, 8, 1)
        # a new class changes every prompt (the categories listed): all are asked again
        other = Entity.named("Systems paper", "Paper", description="Kernels.", properties={"area": "Systems"})
        store.upsert(GraphDelta(run_id="more-2", extractor="test", entities=(other,)))
        fourth = explain_store(store, config, embedder, "area", entity_label="Paper")
        assert (fourth.explained, fourth.unchanged, fourth.llm_calls) == (10, 0, 10)


def test_a_fresh_store_takes_the_answers_from_the_llm_cache(llm_server: LLMTestServer, tmp_path: Path) -> None:
    papers_store(tmp_path / "a.db")
    papers_store(tmp_path / "b.db")
    config = client_config(llm_server, tmp_path)
    with SQLiteGraphStore(tmp_path / "a.db") as first:
        explain_store(first, config, HashEmbedder(), "area")
    asked = len(llm_server.chat_requests)
    with SQLiteGraphStore(tmp_path / "b.db") as second:
        report = explain_store(second, config, HashEmbedder(), "area")
    assert (report.explained, report.llm_calls, report.cached_llm_calls) == (8, 0, 8)
    assert len(llm_server.chat_requests) == asked


def test_malformed_answers_are_recorded_failures(llm_server: LLMTestServer, tmp_path: Path) -> None:
    papers = papers_store(tmp_path / "g.db")
    target = papers[4]
    llm_server.rule = lambda body: "malformed" if target.name in request_document(body) else None
    config = client_config(llm_server, tmp_path)
    with SQLiteGraphStore(tmp_path / "g.db") as store:
        report = explain_store(store, config, HashEmbedder(), "area")
        assert (report.explained, report.failed) == (7, 1)
        assert report.failures[0].node_id == target.id and "invalid LLM output" in report.failures[0].error
        assert target.id not in store.embeddings(TAPE_MODEL)
        # two requests for the bad node (the answer and the re-ask), one for each other node
        assert report.llm_calls == 9

        from kgweave.analysis.gnn import require_ml, store_graph_data

        require_ml()
        store.write_embeddings("text-test", {p.id: (p.id, [1.0, 2.0, 3.0]) for p in papers})
        graph = store_graph_data(store, features="text", embedding_model="text-test", label_property="area",
                                 extra_embeddings=(TAPE_MODEL,))
        x = graph.data.x.numpy()
        assert x.shape == (8, 3 + 8)  # text features then TAPE features
        row = graph.node_ids.index(target.id)
        assert np.all(x[row, 3:] == 0) and np.all(x[row, :3] == [1.0, 2.0, 3.0])
        assert np.all(np.abs(x[np.arange(8) != row, 3:]).sum(axis=1) > 0)
        assert graph.feature_names[3] == f"{TAPE_MODEL}[0]"

        # the failure was not cached: the next run asks that node again, and only that node
        llm_server.rule = None
        again = explain_store(store, config, HashEmbedder(), "area")
        assert (again.explained, again.failed, again.llm_calls, again.unchanged) == (1, 0, 1, 7)
        assert target.id in store.embeddings(TAPE_MODEL)

        # a third class makes every stored explanation stale; the node that fails now loses its old vector
        theory = Entity.named("Theory paper", "Paper", description="We prove bounds.", properties={"area": "Theory"})
        store.upsert(GraphDelta(run_id="more", extractor="test", entities=(theory,)))
        llm_server.rule = lambda body: "malformed" if target.name in request_document(body) else None
        third = explain_store(store, config, HashEmbedder(), "area")
        assert third.classes == ["Databases", "Learning", "Theory"]
        assert (third.explained, third.failed, third.unchanged) == (8, 1, 0)
        assert set(store.embeddings(TAPE_MODEL)) == {p.id for p in papers if p != target} | {theory.id}


def test_budget_and_bad_input(llm_server: LLMTestServer, tmp_path: Path) -> None:
    papers_store(tmp_path / "g.db")
    config = client_config(llm_server, tmp_path)
    with SQLiteGraphStore(tmp_path / "g.db") as store:
        report = explain_store(store, config, HashEmbedder(), "area", budget=Budget(max_calls=3))
        assert (report.explained, report.failed) == (3, 5) and len(llm_server.chat_requests) == 3
        assert "budget" in report.failures[0].error
        with pytest.raises(ExplanationError, match="'colour'"):
            explain_store(store, config, HashEmbedder(), "colour")
    with pytest.raises(ExplanationError):
        explanation_schema(())


def test_model_names_are_valid_store_names() -> None:
    from kgweave.graph_store.vectors import check_model_name

    for llm in ("Qwen/Qwen2.5-7B-Instruct", "gpt-4o-mini", "x" * 200, "///"):
        assert check_model_name(tape_model_name(llm)).startswith("tape-")
    assert tape_model_name("Qwen/Qwen2.5-7B-Instruct") == "tape-qwen-qwen2.5-7b-instruct"
