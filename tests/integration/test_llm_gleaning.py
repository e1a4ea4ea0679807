"""Gleaning ("what did you miss?" passes) of the LLM extractor: real openai client against the test server.

The test server answers three names of the document a call; a follow-up request (one holding earlier
answers) gets only names no earlier answer gave, or empty lists when none is left.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kgweave.agents.domains import get_domain
from kgweave.agents.llm_extractor import LLMExtractor
from kgweave.agents.pipeline import extract_documents
from kgweave.agents.prompts import GLEANING_VERSION
from kgweave.agents.registry import extractor_fingerprint
from kgweave.graph_store.models import Chunk, Document
from tests.llm_fixtures import client_config as _config
from tests.llm_fixtures import llm_server_fixture  # noqa: F401 - provides the llm_server fixture
from tests.llm_server import LLMTestServer, RecordedRequest

pytestmark = pytest.mark.integration

# nine names for the server: six capitalised phrases, then "beats" and "helps" (>= 5 lower-case letters)
NINE = "Alpha Net beats Beta Net. Gamma Set helps Delta Task. Epsilon Tool uses Zeta Data."
THREE = "Alpha Net uses Beta Net with Gamma Set."


def _chunk(text: str) -> Chunk:
    doc = Document.from_text(text, "doc.txt")
    return Chunk.of(doc, 0, 0, len(text))


def _follow_up(request: RecordedRequest) -> bool:
    return any(m["role"] == "assistant" for m in request.body["messages"])


def test_gleaning_passes_send_the_answers_so_far_and_merge_what_they_add(
        llm_server: LLMTestServer, tmp_path: Path) -> None:
    chunk = _chunk(NINE)
    (alone,) = LLMExtractor(_config(llm_server, tmp_path / "a"), "papers").extract([chunk])
    llm_server.reset()
    (gleaned,) = LLMExtractor(_config(llm_server, tmp_path / "b"), "papers", gleaning=2).extract([chunk])
    assert gleaned.error is None
    requests = llm_server.chat_requests
    assert len(requests) == 3 and [_follow_up(r) for r in requests] == [False, True, True]
    second = requests[1].body["messages"]
    assert [m["role"] for m in second[-2:]] == ["assistant", "user"]
    assert second[-1]["content"] == get_domain("papers").prompt.gleaning()
    assert len(requests[2].body["messages"]) == len(second) + 2  # the conversation grows by one answer
    names = {e.name for e in gleaned.entities}
    assert {e.name for e in alone.entities} == {"Alpha Net", "Beta Net", "Gamma Set"}
    assert names == {"Alpha Net", "Beta Net", "Gamma Set", "Delta Task", "Epsilon Tool", "Zeta Data", "beats",
                     "helps"}
    assert (gleaned.llm_calls, gleaned.gleaning_usage.llm_calls) == (3, 2)
    assert 0 < gleaned.gleaning_usage.tokens < gleaned.tokens
    first = {r.id for r in alone.relations}
    assert set(gleaned.gleaned_relations) == {r.id for r in gleaned.relations} - first != set()
    assert all(e.label in get_domain("papers").entity_types for e in gleaned.entities)


def test_gleaning_stops_early_when_a_pass_adds_nothing(llm_server: LLMTestServer, tmp_path: Path) -> None:
    (result,) = LLMExtractor(_config(llm_server, tmp_path), "papers", gleaning=4).extract([_chunk(THREE)])
    assert result.error is None
    assert [_follow_up(r) for r in llm_server.chat_requests] == [False, True]  # the second pass found nothing
    assert (result.llm_calls, result.gleaning_usage.llm_calls, result.gleaned_relations) == (2, 1, ())


def test_each_pass_is_its_own_cached_call(llm_server: LLMTestServer, tmp_path: Path) -> None:
    extractor = LLMExtractor(_config(llm_server, tmp_path), "papers", gleaning=2)
    (first,) = extractor.extract([_chunk(NINE)])
    (again,) = LLMExtractor(_config(llm_server, tmp_path), "papers", gleaning=2).extract([_chunk(NINE)])
    assert len(llm_server.chat_requests) == 3  # the second run asked nothing
    assert (again.cached_llm_calls, again.llm_calls, again.gleaning_usage.cached_llm_calls) == (3, 0, 2)
    assert again.relations == first.relations and again.gleaned_relations == first.gleaned_relations
    assert extractor_fingerprint(extractor) != extractor_fingerprint(
        LLMExtractor(_config(llm_server, tmp_path), "papers"))
    assert GLEANING_VERSION in extractor.settings_key()


def test_a_failed_gleaning_pass_fails_its_chunk_with_the_costs(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.rule = lambda body: "malformed" if any(m["role"] == "assistant" for m in body["messages"]) else None
    (result,) = LLMExtractor(_config(llm_server, tmp_path), "papers", gleaning=1).extract([_chunk(NINE)])
    assert result.error is not None and result.error.startswith("gleaning pass 1: invalid LLM output")
    assert result.entities == () and result.llm_calls == 3  # the first pass, the gleaning pass and its re-ask
    assert result.gleaning_usage.llm_calls == 2


def test_batch_result_sums_gleaning_and_names_gleaned_observations(
        llm_server: LLMTestServer, tmp_path: Path) -> None:
    extractor = LLMExtractor(_config(llm_server, tmp_path), "papers", gleaning=1)
    docs = [Document.from_text(NINE, "a.txt"), Document.from_text(THREE, "b.txt")]
    batch = extract_documents(docs, extractor, run_id="r", fingerprint=extractor_fingerprint(extractor))
    assert batch.failures == () and batch.llm_calls == 4 and batch.gleaning_usage.llm_calls == 2
    observations = {(r.id, r.chunk_id) for r in batch.delta.relations}
    assert batch.gleaned_relations and set(batch.gleaned_relations) <= observations
    assert {chunk for _, chunk in batch.gleaned_relations} == {batch.delta.chunks[0].id}  # THREE gains nothing


def test_gleaning_must_not_be_negative(tmp_path: Path, llm_server: LLMTestServer) -> None:
    with pytest.raises(ValueError, match="gleaning must be >= 0"):
        LLMExtractor(_config(llm_server, tmp_path), "papers", gleaning=-1)
