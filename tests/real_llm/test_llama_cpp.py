"""kgweave against a real model server (issue 18): build, expand and resolve --llm-judge with default settings.

SmolLM2-135M cannot extract papers well, so these tests assert behaviour, not quality: one request for
the rejected json_schema and none re-sent in that form, at most two requests per chunk (answer and one
re-ask), no request abandoned (no timeout), a bounded wall time, a reason for every failed chunk, and
nothing ungrounded stored (every stored mention is the text at its offsets; every extracted entity has one).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kgweave.agents.domains.papers import PAPERS
from tests.conftest import SAMPLE_CORPUS
from tests.flows.test_cli import kgweave_env, run_kgweave
from tests.real_llm.conftest import LlamaServer

pytestmark = [pytest.mark.real_llm, pytest.mark.integration, pytest.mark.slow,
              pytest.mark.usefixtures("prefect_api")]

ABSTRACTS = 3
MAX_BUILD_SECONDS = 600  # 3 abstracts, 4 chunks: ~75 s on 2 busy cores, at most ~9 requests of <= 1,024 tokens


def kgweave(server: LlamaServer, cache: Path, *args: str) -> tuple[int, dict[str, object], str]:
    """Run the CLI with the default LLM settings: only the endpoint, the model name and a cache folder set."""
    env = {k: v for k, v in kgweave_env().items() if not k.startswith("KGWEAVE_LLM_")}
    env.update(KGWEAVE_LLM_BASE_URL=server.base_url, KGWEAVE_LLM_MODEL="smollm2-135m",
               KGWEAVE_LLM_CACHE_DIR=str(cache))
    done = run_kgweave(*args, "--json", env=env)
    assert done.stdout, done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout), done.stderr


@pytest.fixture(scope="module")
def built(llama_server: LlamaServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("real-build")
    corpus = folder / "abstracts.jsonl"
    corpus.write_text("".join(SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines(keepends=True)[:ABSTRACTS]))
    before = len(llama_server.statuses())
    started = time.monotonic()
    code, summary, stderr = kgweave(llama_server, folder / "cache", "build", str(corpus), "--extractor", "llm",
                                    "--domain", "papers", "--store", str(folder / "g.db"))
    return {"code": code, "summary": summary, "stderr": stderr, "wall": time.monotonic() - started,
            "statuses": llama_server.statuses(before), "db": folder / "g.db", "folder": folder}


def test_build_negotiates_once_and_abandons_nothing(built: dict[str, object]) -> None:
    summary, statuses = built["summary"], built["statuses"]
    assert isinstance(summary, dict) and isinstance(statuses, list)
    assert built["code"] in (0, 3), built["stderr"]
    endpoint = summary["llm_endpoint"]
    assert endpoint["structured_output"] == "json_object+schema" and endpoint["slots"] == 1
    assert [f.split(":")[0] for f in endpoint["fallbacks"]] == ["json_schema"]
    assert endpoint["timeouts"] == 0  # a timeout is the only way kgweave abandons a request the server computes
    # the server answered exactly the requests kgweave counted: one HTTP 500 (json_schema), never re-sent
    assert len(statuses) == summary["llm_calls"] and statuses[0] == 500 and statuses[1:].count(500) == 0
    assert set(statuses[1:]) <= {200}
    assert summary["llm_calls"] <= 1 + 2 * summary["chunks"]
    assert built["wall"] < MAX_BUILD_SECONDS
    assert summary["documents"] == ABSTRACTS and summary["chunks"] >= ABSTRACTS
    for failure in summary["failures"]:
        assert failure["kind"] == "chunk" and failure["reason"].strip()
    if summary["failed_chunks"] == summary["chunks"]:
        assert summary["note"].startswith("no chunk succeeded")


def test_build_stores_nothing_ungrounded(built: dict[str, object], llama_server: LlamaServer) -> None:
    out = Path(str(built["folder"])) / "graph.json"
    done = run_kgweave("export", str(out), "--format", "json", "--store", str(built["db"]))
    assert done.returncode == 0, done.stderr
    graph = json.loads(out.read_text(encoding="utf-8"))
    documents = {d["id"]: d["text"] for d in graph["documents"]}
    chunks = {c["id"]: c for c in graph["chunks"]}
    for mention in graph["mentions"]:
        text = documents[chunks[mention["chunk_id"]]["document_id"]]
        assert text[mention["start"]:mention["end"]] == mention["text"]
    mentioned = {m["entity_id"] for m in graph["mentions"]}
    extracted = [n for n in graph["nodes"] if n["label"] in PAPERS.entity_types]
    assert all(n["id"] in mentioned for n in extracted)


def test_rerun_makes_no_request(built: dict[str, object], llama_server: LlamaServer) -> None:
    folder = Path(str(built["folder"]))
    before = len(llama_server.statuses())
    code, summary, _ = kgweave(llama_server, folder / "cache", "build", str(folder / "abstracts.jsonl"),
                               "--extractor", "llm", "--domain", "papers", "--store", str(built["db"]))
    assert code == built["code"] and summary["llm_calls"] <= 1 + 2 * summary["failed_chunks"] + 1
    assert summary["skipped_documents"] == ABSTRACTS - len({f["source"] for f in summary["failures"]})
    assert llama_server.statuses(before).count(500) <= 1


def test_expand_three_iterations(llama_server: LlamaServer, tmp_path: Path) -> None:
    before = len(llama_server.statuses())
    started = time.monotonic()
    code, summary, stderr = kgweave(llama_server, tmp_path / "cache", "expand", "--seed", "graph neural networks",
                                    "--iterations", "3", "--store", str(tmp_path / "x.db"))
    assert code in (0, 3), stderr
    assert summary["stopped_because"] in ("iterations", "llm_errors")
    steps = [r for r in summary["iterations"] if r["iteration"] > 0]
    assert 1 <= len(steps) <= 3 and time.monotonic() - started < MAX_BUILD_SECONDS
    statuses = llama_server.statuses(before)
    assert statuses[0] == 500 and statuses[1:].count(500) == 0  # json_schema rejected once per process
    assert len(statuses) == summary["llm_calls"] <= 1 + 2 * len(steps)
    for previous, step in zip(steps, steps[1:], strict=False):
        if previous["error"] is not None:  # a failed iteration's retry changed something, and says what
            assert step["retry"] and "temperature" in step["retry"]


def test_resolve_with_the_llm_judge(llama_server: LlamaServer, tmp_path: Path) -> None:
    db = tmp_path / "offline.db"
    built = run_kgweave("build", str(SAMPLE_CORPUS), "--store", str(db), "--json")  # offline: many near-duplicates
    assert built.returncode == 0, built.stderr
    before = len(llama_server.statuses())
    code, summary, stderr = kgweave(llama_server, tmp_path / "cache", "resolve", "--llm-judge", "--store", str(db))
    assert code == 0, stderr
    statuses = llama_server.statuses(before)
    judged = summary["pairs"]["ambiguous"]
    assert judged > 0  # the offline sample graph has an ambiguous band (25 pairs on 2026-12-03)
    assert statuses[0] == 500 and statuses[1:].count(500) == 0
    assert len(statuses) <= 1 + 2 * judged
    assert summary["entities_after"] == summary["entities"] - summary["merges_written"]

