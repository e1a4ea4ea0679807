"""`kgweave build --extractor llm` end to end: the real openai client over HTTP against tests/llm_server.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgweave.agents.domains.papers import PAPERS
from kgweave.graph_store.ids import LABEL_PATTERN, RELATION_TYPE_PATTERN
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.conftest import SAMPLE_CORPUS
from tests.flows.test_cli import kgweave_env, run_kgweave
from tests.llm_fixtures import llm_server_fixture  # noqa: F401
from tests.llm_server import Fault, LLMTestServer

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Ten abstracts of the sample corpus (ten chunks)."""
    path = tmp_path / "ten.jsonl"
    path.write_text("\n".join(SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines()[:10]) + "\n", "utf-8")
    return path


def build_llm(server: LLMTestServer, corpus: Path, db: Path, *extra: str) -> tuple[int, dict[str, object]]:
    env = {**kgweave_env(), "KGWEAVE_LLM_CACHE_DIR": str(db.parent / "llm-cache"), "KGWEAVE_LLM_MAX_RETRIES": "6",
           "KGWEAVE_LLM_TIMEOUT_S": "2.5"}  # under the "timeout" fault's 3 s, with room for a loaded machine
    done = run_kgweave("build", str(corpus), "--store", str(db), "--extractor", "llm", "--domain", "papers",
                       "--llm-base-url", server.base_url, "--llm-model", "kgweave-test-model", "--json", *extra,
                       env=env)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_llm_build_survives_faults_and_reruns_make_no_requests(
    llm_server: LLMTestServer, corpus: Path, tmp_path: Path
) -> None:
    llm_server.script([500, 429, "timeout", "malformed", 503, "echo_schema"])
    db = tmp_path / "g.db"
    code, summary = build_llm(llm_server, corpus, db)
    assert code == 0, summary
    assert summary["documents"] == 10, summary
    assert summary["failed_chunks"] == 0, summary["failures"]  # no chunk lost to a transient fault
    assert summary["entities"] > 10 and summary["relations"] > 0
    assert summary["llm_calls"] >= summary["chunks"] + 6 and summary["tokens"] > 0
    formats = {r.response_format["type"] for r in llm_server.chat_requests}  # type: ignore[index]
    assert formats == {"json_schema"}
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, TaskRunFilter, TaskRunFilterTags

    with get_client(sync_client=True) as client:  # build runs only: other flows of the session tag theirs too
        tagged = client.read_task_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["build-graph"])),
                                       task_run_filter=TaskRunFilter(tags=TaskRunFilterTags(all_=["llm"])))
    assert {t.name.rsplit("-", 1)[0] for t in tagged} == {"extract-batch"}
    with SQLiteGraphStore(db) as store:
        (run,) = list(store.runs())
        assert run.model == "kgweave-test-model" and run.parameters["prompt_version"] == "papers-v2"
        before = store.snapshot()
    sent = len(llm_server.chat_requests)
    code, again = build_llm(llm_server, corpus, db)
    assert code == 0 and again["skipped_documents"] == 10 and again["llm_calls"] == 0
    code, forced = build_llm(llm_server, corpus, db, "--force")
    assert code == 0 and forced["llm_calls"] == 0 and forced["cached_llm_calls"] == summary["chunks"]
    assert len(llm_server.chat_requests) == sent  # neither re-run reached the server
    with SQLiteGraphStore(db) as store:
        assert store.snapshot() == before


def test_budget_stops_cleanly_and_the_rerun_resumes(llm_server: LLMTestServer, corpus: Path, tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    code, summary = build_llm(llm_server, corpus, db, "--max-llm-calls", "4", "--batch-documents", "2")
    assert code == 3 and summary["status"] == "stopped_budget" and summary["stopped_because"] == "budget"
    assert summary["llm_calls"] == 4 and summary["failed_chunks"] == 0
    with SQLiteGraphStore(db) as store:
        assert 0 < store.counts().documents < 10 + 1
    code, rest = build_llm(llm_server, corpus, db)
    assert code == 0 and rest["status"] == "completed"
    # the 4 calls finished the documents whose every chunk they covered (batches share the endpoint's
    # in-flight cap, so which chunks got them depends on the threads' order); those are not asked again
    assert 1 <= rest["skipped_documents"] <= 4
    asked = [r.document for r in llm_server.chat_requests]
    assert len(asked) == summary["llm_calls"] + rest["llm_calls"] == len(set(asked))  # each chunk asked once


def test_gleaning_from_the_cli(llm_server: LLMTestServer, corpus: Path, tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    code, summary = build_llm(llm_server, corpus, db, "--gleaning", "1")
    chunks = summary["chunks"]
    assert code == 0 and summary["failed_chunks"] == 0 and isinstance(chunks, int), summary
    requests = llm_server.chat_requests
    follow_ups = [r for r in requests if any(m["role"] == "assistant" for m in r.body["messages"])]
    assert summary["llm_calls"] == len(requests) == 2 * chunks and len(follow_ups) == chunks
    with SQLiteGraphStore(db) as store:
        (run,) = list(store.runs())
        assert run.parameters["gleaning"] == 1


def test_dry_run_estimates_and_spends_nothing(llm_server: LLMTestServer, corpus: Path, tmp_path: Path) -> None:
    code, estimate = build_llm(llm_server, corpus, tmp_path / "g.db", "--dry-run")
    assert code == 0 and estimate["dry_run"] is True
    assert estimate["chunks"] >= 10 and estimate["llm_calls"] == estimate["chunks"] and estimate["tokens"] > 0
    assert llm_server.chat_requests == []
    assert not (tmp_path / "g.db").exists()  # a dry run reads a store if there is one, never creates it


def test_a_llama_cpp_like_server_costs_one_extra_call_per_run(
    llm_server: LLMTestServer, corpus: Path, tmp_path: Path
) -> None:
    llm_server.limit()  # rejects json_schema (HTTP 500), one slot, honours max_tokens only
    code, summary = build_llm(llm_server, corpus, tmp_path / "g.db")
    assert code == 0 and summary["failed_chunks"] == 0 and summary["note"] is None, summary["failures"]
    assert summary["llm_calls"] == summary["chunks"] + 1  # the one rejected json_schema request, never retried
    endpoint = summary["llm_endpoint"]
    assert endpoint["structured_output"] == "json_object+schema" and endpoint["slots"] == 1
    assert [f.split(":")[0] for f in endpoint["fallbacks"]] == ["json_schema"]
    assert llm_server.max_in_flight == 1 and llm_server.abandoned == 0
    sent = [r.body for r in llm_server.chat_requests[1:]]
    assert all(b["max_tokens"] == b["max_completion_tokens"] == PAPERS.max_completion_tokens for b in sent)


def test_a_build_where_no_chunk_succeeds_says_so(llm_server: LLMTestServer, corpus: Path, tmp_path: Path) -> None:
    llm_server.rule = lambda body: Fault.http(400, "model is not loaded")
    env = {**kgweave_env(), "KGWEAVE_LLM_CACHE_DIR": str(tmp_path / "llm-cache")}
    done = run_kgweave("build", str(corpus), "--store", str(tmp_path / "g.db"), "--extractor", "llm", "--domain",
                       "papers", "--llm-base-url", llm_server.base_url, "--llm-model", "kgweave-test-model", "--json",
                       "--max-tokens-per-call", "77", env=env)
    summary = json.loads(done.stdout)  # the summary is printed, then the cause as one line, exit 1
    assert done.returncode == 1 and summary["status"] == "failed"
    assert summary["failed_chunks"] == summary["chunks"] > 0
    assert summary["note"] == f"no chunk succeeded: all {summary['chunks']} chunks failed (reasons in failures)"
    assert summary["failure_reason"].startswith(f"none succeeded: all {summary['chunks']} items failed; first: ")
    assert "model is not loaded" in summary["failure_reason"]
    print(done.stderr)
    assert "Traceback" not in done.stderr  # one line per failed chunk, then the cause
    assert done.stderr.strip().splitlines()[-1] == f"kgweave: failed: build {summary['run_id']}: " \
                                                  f"{summary['failure_reason']}"
    with SQLiteGraphStore(tmp_path / "g.db") as store:
        assert next(r for r in store.runs() if r.id == summary["run_id"]).status == "failed"
    assert summary["llm_calls"] == summary["chunks"]  # a 400 is not retried
    assert all(r.body["max_tokens"] == 77 for r in llm_server.chat_requests)  # the flag reached every request


def test_hostile_answers_leave_the_store_intact(llm_server: LLMTestServer, corpus: Path, tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    run_kgweave("build", str(SAMPLE_CORPUS), "--store", str(db), "--json")  # an offline graph first
    with SQLiteGraphStore(db) as store:
        before = store.counts()
    llm_server.script(["hostile"] * 10)
    code, summary = build_llm(llm_server, corpus, db)
    assert code in (0, 3)
    with SQLiteGraphStore(db) as store:
        after = store.counts()
        assert after.documents == before.documents and after.entities >= before.entities
        assert all(LABEL_PATTERN.match(label) for label in after.labels)
        assert all(RELATION_TYPE_PATTERN.match(t) for t in after.relation_types)


def test_llm_without_endpoint_is_bad_usage(tmp_path: Path, corpus: Path) -> None:
    env = {k: v for k, v in kgweave_env().items() if not k.startswith("KGWEAVE_LLM_")}
    done = run_kgweave("build", str(corpus), "--store", str(tmp_path / "g.db"), "--extractor", "llm", env=env)
    assert done.returncode == 2 and "--llm-base-url" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
