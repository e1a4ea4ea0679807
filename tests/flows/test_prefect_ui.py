"""What a run shows in the Prefect UI, read back from a real Prefect API: a CLI run's logs, its final state."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from kgweave.flows.build_graph import BuildSummary, build_graph
from kgweave.flows.monitoring import COMPLETED_WITH_FAILURES
from kgweave.flows.stores import close_flow_stores
from tests.artifacts import flow_run_of
from tests.conftest import SAMPLE_CORPUS
from tests.flows.test_cli import run_kgweave

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_cli_run_sends_info_logs_to_the_api_and_keeps_the_terminal_quiet(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    done = run_kgweave("build", str(SAMPLE_CORPUS), "--store", str(tmp_path / "g.db"), "--run-id", "cli-logs",
                       "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["run_id"] == "cli-logs"
    flow_run = flow_run_of("build-graph-summary", "cli-logs")
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])))
    info = [log for log in logs if log.level == logging.INFO]
    assert any("documents read" in log.message for log in info)  # the flow's run logger
    assert any(log.name.startswith("kgweave.") for log in info)  # a library logger (agents/pipeline.py)
    for log in info:
        assert log.message not in done.stderr
    assert "INFO" not in done.stderr


def test_a_build_with_failures_says_so_in_its_final_state(tmp_path: Path) -> None:
    corpus = tmp_path / "mixed"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("Knowledge graphs connect entities. Knowledge graphs store facts.", "utf-8")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02BINARY")
    try:
        summary = build_graph(paths=[str(corpus)], run_id="state-mixed", store=str(tmp_path / "g.db"))
        clean = build_graph(paths=[str(SAMPLE_CORPUS)], run_id="state-clean", store=str(tmp_path / "g.db"))
    finally:
        close_flow_stores()
    assert isinstance(summary, BuildSummary) and summary.status == "completed_with_failures"  # the caller's value
    state = flow_run_of("build-graph-summary", "state-mixed").state
    assert state.is_completed() and state.name == COMPLETED_WITH_FAILURES
    assert state.message == f"1 of {summary.failed_documents + summary.chunks} items failed"
    assert clean.failures == []
    assert flow_run_of("build-graph-summary", "state-clean").state.name == "Completed"
