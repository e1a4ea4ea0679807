"""LLMExtractor end to end: real openai client over HTTP, test server, pipeline and SQLite store."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kgweave.agents.domains import get_domain
from kgweave.agents.extractor import ChunkExtraction, Extractor
from kgweave.agents.llm_client import Budget, LLMConfig
from kgweave.agents.llm_extractor import BUDGET_EXHAUSTED, LLMExtractor
from kgweave.agents.pipeline import extract_documents
from kgweave.agents.registry import extractor_fingerprint
from kgweave.graph_store.ids import LABEL_PATTERN, RELATION_TYPE_PATTERN, normalize_name
from kgweave.graph_store.models import Chunk, Document
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.llm_fixtures import client_config as _config
from tests.llm_fixtures import llm_server_fixture  # noqa: F401 - provides the llm_server fixture
from tests.llm_server import HOSTILE_NAMES, UNGROUNDED_NAME, Fault, LLMTestServer, request_document

pytestmark = pytest.mark.integration

HEX_ID = re.compile(r"^[0-9a-f]{32}$")
TEXTS = [
    "Frodo Baggins carries the One Ring from the Shire to Mordor. Samwise Gamgee follows Frodo Baggins.",
    "Gandalf the Grey guides the Fellowship through Moria. Gandalf falls fighting the Balrog.",
    "Aragorn leads the Rangers of the North and becomes king of Gondor.",
]




def _chunks(texts: list[str]) -> list[Chunk]:
    chunks = []
    for text in texts:
        doc = Document.from_text(text, f"{text[:10]}.txt")
        chunks.append(Chunk.of(doc, 0, 0, len(text)))
    return chunks


def _many(count: int) -> list[Chunk]:
    return _chunks([f"Record {i}: Bilbo Baggins visits Rivendell with Thorin Oakenshield." for i in range(count)])


def _assert_safe(result: ChunkExtraction, chunk: Chunk, domain: str = "reviews") -> None:
    assert result.error is None
    for entity in result.entities:
        assert HEX_ID.match(entity.id) and LABEL_PATTERN.match(entity.label)
        assert entity.label in get_domain(domain).entity_types
        assert entity.name in " ".join(chunk.text.split())  # named by its surface form in the chunk
    for relation in result.relations:
        assert HEX_ID.match(relation.id) and RELATION_TYPE_PATTERN.match(relation.type)
        assert relation.evidence is None or relation.evidence in " ".join(chunk.text.split())
    ids = {e.id for e in result.entities}
    assert all(r.source_id in ids and r.target_id in ids for r in result.relations)
    assert all(m.entity_id in ids and m.chunk_id == chunk.id for m in result.mentions)


def test_extracts_grounded_typed_graph(llm_server: LLMTestServer, tmp_path: Path) -> None:
    extractor = LLMExtractor(_config(llm_server, tmp_path), domain="reviews")
    assert isinstance(extractor, Extractor)
    assert (extractor.name, extractor.version, extractor.model) == ("llm", "reviews-v2", "test-model")
    chunks = _chunks(TEXTS)
    results = extractor.extract(chunks)
    assert [r.chunk_id for r in results] == [c.id for c in chunks]
    for chunk, result in zip(chunks, results, strict=True):
        _assert_safe(result, chunk)
        assert result.entities and result.relations and result.mentions
        assert (result.llm_calls, result.cached_llm_calls) == (1, 0)
        assert result.prompt_tokens > 0 and result.completion_tokens > 0
    assert extractor.ungrounded == 0
    assert len(llm_server.chat_requests) == 3


def test_pipeline_and_store_accept_the_output(llm_server: LLMTestServer, tmp_path: Path) -> None:
    extractor = LLMExtractor(_config(llm_server, tmp_path), domain="text")
    docs = [Document.from_text(text, f"doc{i}.txt") for i, text in enumerate(TEXTS)]
    batch = extract_documents(docs, extractor, run_id="r1", fingerprint=extractor_fingerprint(extractor))
    assert batch.failures == () and batch.llm_calls == 3 and batch.prompt_tokens > 0
    assert set(batch.delta.done_documents) == {d.id for d in docs}
    store = SQLiteGraphStore(tmp_path / "g.db")
    try:
        store.upsert(batch.delta)
        counts = store.counts()
        assert counts.entities > 0 and counts.relations > 0 and counts.documents == 3
    finally:
        store.close()


def test_no_chunk_is_lost_to_transient_errors(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.script(["500", "429", Fault.delay(2.0), "502", Fault.rate_limit(retry_after_ms=100), "503"] * 3)
    chunks = _many(32)
    results = LLMExtractor(_config(llm_server, tmp_path, timeout_s=0.5, concurrency=8)).extract(chunks)
    assert [r.error for r in results] == [None] * 32
    assert all(r.entities for r in results)
    assert sum(r.llm_calls for r in results) == 32 + 18 == len(llm_server.chat_requests)


def test_twice_invalid_answer_fails_only_its_chunk(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.rule = lambda body: "malformed" if "Moria" in request_document(body) else None
    results = LLMExtractor(_config(llm_server, tmp_path), domain="reviews").extract(_chunks(TEXTS))
    failed = [r for r in results if r.error is not None]
    assert len(failed) == 1 and failed[0].chunk_id == _chunks(TEXTS)[1].id
    assert failed[0].error is not None and failed[0].error.startswith("invalid LLM output after one re-ask")
    assert failed[0].llm_calls == 2 and failed[0].entities == () and not failed[0].budget_exhausted
    assert all(r.entities for r in results if r.error is None)


def test_schema_echo_is_re_asked_then_recorded_as_failure(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.script(["echo_schema"])
    extractor = LLMExtractor(_config(llm_server, tmp_path))
    (ok,) = extractor.extract(_chunks(TEXTS[:1]))
    assert ok.error is None and ok.llm_calls == 2
    llm_server.rule = lambda body: "echo_schema"
    (failed,) = extractor.extract(_chunks(TEXTS[1:2]))
    assert failed.error is not None and "Extra inputs are not permitted" in failed.error


def test_endpoint_rejection_is_a_failed_chunk(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.rule = lambda body: 400 if "Aragorn" in request_document(body) else None
    results = LLMExtractor(_config(llm_server, tmp_path)).extract(_chunks(TEXTS))
    assert [r.error is None for r in results] == [True, True, False]
    assert results[2].error is not None and "HTTP 400" in results[2].error and results[2].llm_calls == 1


def test_second_run_is_served_from_the_cache(llm_server: LLMTestServer, tmp_path: Path) -> None:
    config = _config(llm_server, tmp_path)
    chunks = _chunks(TEXTS)
    first = LLMExtractor(config, "reviews").extract(chunks)
    assert len(llm_server.chat_requests) == 3
    second = LLMExtractor(config, "reviews").extract(chunks)
    assert len(llm_server.chat_requests) == 3
    assert [(r.llm_calls, r.cached_llm_calls, r.prompt_tokens) for r in second] == [(0, 1, 0)] * 3
    assert [r.relations for r in second] == [r.relations for r in first]
    more = _chunks([*TEXTS, "Legolas and Gimli count orcs at Helm's Deep."])
    LLMExtractor(config, "reviews").extract(more)
    assert len(llm_server.chat_requests) == 4  # only the new chunk
    LLMExtractor(config.model_copy(update={"model": "other-model"}), "reviews").extract(chunks)
    assert len(llm_server.chat_requests) == 7  # another model: every chunk again
    LLMExtractor(config, "text").extract(chunks[:1])
    assert len(llm_server.chat_requests) == 8  # another prompt (and version): asked again


def test_estimate_is_a_dry_run(llm_server: LLMTestServer, tmp_path: Path) -> None:
    extractor = LLMExtractor(_config(llm_server, tmp_path, max_tokens_per_call=400), "papers")
    chunks = _chunks(TEXTS)
    before = extractor.estimate(chunks)
    assert (before.calls, before.cached, before.completion_tokens) == (3, 0, 1200) and before.prompt_tokens > 0
    assert llm_server.chat_requests == []
    extractor.extract(chunks[:2])
    after = extractor.estimate(chunks)
    assert (after.calls, after.cached) == (1, 2)


@pytest.mark.parametrize("concurrency", [1, 8])
def test_budget_stops_after_max_calls_and_the_rest_is_resumable(
    llm_server: LLMTestServer, tmp_path: Path, concurrency: int
) -> None:
    config = _config(llm_server, tmp_path, concurrency=concurrency)
    chunks = _many(8)
    results = LLMExtractor(config, budget=Budget(max_calls=3)).extract(chunks)
    assert len(llm_server.chat_requests) == 3
    done = [r for r in results if r.error is None]
    exhausted = [r for r in results if r.budget_exhausted]
    assert len(done) == 3 and len(exhausted) == 5
    assert all(r.error == BUDGET_EXHAUSTED and r.entities == () and r.llm_calls == 0 for r in exhausted)
    if concurrency == 1:
        assert [r.budget_exhausted for r in results] == [False] * 3 + [True] * 5
    rerun = LLMExtractor(config, budget=Budget(max_calls=10)).extract(chunks)
    assert all(r.error is None for r in rerun)
    assert sum(r.cached_llm_calls for r in rerun) == 3 and len(llm_server.chat_requests) == 8


def test_budget_exhausted_documents_are_not_marked_done(llm_server: LLMTestServer, tmp_path: Path) -> None:
    extractor = LLMExtractor(_config(llm_server, tmp_path, concurrency=1), budget=Budget(max_calls=1))
    docs = [Document.from_text(text, f"doc{i}.txt") for i, text in enumerate(TEXTS)]
    batch = extract_documents(docs, extractor, run_id="r1", fingerprint="fp")
    assert len(batch.delta.done_documents) == 1
    assert [f.reason for f in batch.failures] == [BUDGET_EXHAUSTED] * 2


def test_hostile_answers_become_data_and_safe_identifiers(llm_server: LLMTestServer, tmp_path: Path) -> None:
    text = (
        "In the review, the `Evil` Corp hires Mallory. She shouts }) MATCH (n) DETACH DELETE n // at "
        'Robert"); DROP TABLE entities; -- and at Line\nBreak, who is O\'Brien\'s {$param} friend.'
    )
    (chunk,) = _chunks([text])
    llm_server.script(["hostile"])
    # the text domain: relation types are free text there (reviews-v2 holds them to an enum)
    (result,) = LLMExtractor(_config(llm_server, tmp_path), "text").extract([chunk])
    _assert_safe(result, chunk, "text")
    names = {normalize_name(e.name) for e in result.entities}
    assert {normalize_name(n) for n in HOSTILE_NAMES} <= names  # they occur in the text, so they are data
    types = {r.type for r in result.relations}  # injected "types" are not plausible: RELATED_TO, text kept
    assert "MATCH_N_DETACH_DELETE_N" not in types and "KNOWS_M_SET_M_PWNED_TRUE" not in types
    assert "}) MATCH (n) DETACH DELETE n //" in {r.properties.get("original_type") for r in result.relations}
    store = SQLiteGraphStore(tmp_path / "g.db")
    try:
        store.upsert(extract_documents(
            [Document.from_text(text, "r.txt")], _Replay(result), run_id="r", fingerprint="f"
        ).delta)
        counts = store.counts()
        assert counts.entities == len(result.entities)
        assert all(RELATION_TYPE_PATTERN.match(t) for t in counts.relation_types)
    finally:
        store.close()


class _Replay:
    """An extractor that returns a recorded result (to push one LLM answer through the pipeline)."""

    name = "replay"
    version = "1"

    def __init__(self, result: ChunkExtraction) -> None:
        self.result = result
        self.model: str | None = None

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        return [self.result.model_copy(update={"chunk_id": c.id}) for c in chunks]


def test_over_long_names_fail_validation_not_the_store(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.rule = lambda body: "hostile_long"
    (result,) = LLMExtractor(_config(llm_server, tmp_path)).extract(_chunks(TEXTS[:1]))
    assert result.error is not None and "at most 120 characters" in result.error and result.entities == ()


def test_ungrounded_entities_and_their_relations_are_dropped(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.script(["ungrounded", "ungrounded"])
    extractor = LLMExtractor(_config(llm_server, tmp_path), "reviews")
    chunks = _chunks(TEXTS[:2])
    results = extractor.extract(chunks)
    for chunk, result in zip(chunks, results, strict=True):
        _assert_safe(result, chunk)
        assert UNGROUNDED_NAME not in {e.name for e in result.entities}
        assert result.entities  # the grounded ones stay
    assert extractor.ungrounded == 2
    answers = [r for r in llm_server.chat_requests if r.fault == "ungrounded"]
    assert len(answers) == 2


def test_chunks_run_concurrently(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.latency_s = 0.2
    chunks = _many(32)
    started = time.monotonic()
    results = LLMExtractor(_config(llm_server, tmp_path, concurrency=32)).extract(chunks)
    elapsed = time.monotonic() - started
    assert all(r.error is None for r in results)
    assert llm_server.max_in_flight == 31  # the first request probed the structured-output form alone
    assert elapsed < 32 * 0.2 / 4  # serial would take 6.4 s


def test_extract_works_inside_a_running_event_loop_and_in_threads(llm_server: LLMTestServer, tmp_path: Path) -> None:
    extractor = LLMExtractor(_config(llm_server, tmp_path, cache_dir=None))
    chunks = _chunks(TEXTS)

    async def inside_loop() -> list[ChunkExtraction]:
        return extractor.extract(chunks)

    assert all(r.error is None for r in asyncio.run(inside_loop()))
    with ThreadPoolExecutor(max_workers=3) as pool:
        batches = list(pool.map(extractor.extract, [chunks] * 3))
    assert all(r.error is None for batch in batches for r in batch)
    assert len(llm_server.chat_requests) == 12
    assert not [t for t in threading.enumerate() if t.name.startswith("kgweave-llm")]  # helper thread is gone


def test_settings_key_follows_domain_prompt_and_mode(tmp_path: Path) -> None:
    config = LLMConfig(base_url="http://127.0.0.1:1/v1", model="m", cache_dir=None)
    base = LLMExtractor(config, "papers")
    assert base.settings_key() == "domain=papers;prompt=papers-v2;structured_output=json_schema;temperature=0.0"
    gleaning = LLMExtractor(config, "papers", gleaning=2)
    assert gleaning.settings_key() == f"{base.settings_key()};gleaning=2;gleaning_prompt=gleaning-v1"
    others = [
        gleaning,
        LLMExtractor(config, "reviews"),
        LLMExtractor(config.model_copy(update={"structured_output": "json_object"}), "papers"),
        LLMExtractor(config.model_copy(update={"model": "m2"}), "papers"),
    ]
    prints = {extractor_fingerprint(e) for e in [base, *others]}
    assert len(prints) == 5
    assert extractor_fingerprint(LLMExtractor(config.model_copy(update={"concurrency": 3}), "papers")) in prints
    with pytest.raises(ValueError, match="unknown domain"):
        LLMExtractor(config, "auto")
