"""What a run shows in the Prefect UI, read back from a real Prefect API: a CLI run's logs, its final state."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.artifacts import artifacts_of
from tests.conftest import SAMPLE_CORPUS
from tests.flows.test_cli import run_kgweave

pytestmark = pytest.mark.usefixtures("prefect_api")


def _flow_run_of(summary_key: str, run_id: str):  # type: ignore[no-untyped-def]
    """The flow run (read from the API) that published the summary artifact of ``run_id``."""
    from prefect.client.orchestration import get_client

    artifact = artifacts_of([summary_key], run_id)[summary_key]
    with get_client(sync_client=True) as client:
        return client.read_flow_run(artifact.flow_run_id)


def test_cli_run_sends_info_logs_to_the_api_and_keeps_the_terminal_quiet(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    done = run_kgweave("build", str(SAMPLE_CORPUS), "--store", str(tmp_path / "g.db"), "--run-id", "cli-logs",
                       "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["run_id"] == "cli-logs"
    flow_run = _flow_run_of("build-graph-summary", "cli-logs")
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])))
    info = [log for log in logs if log.level == logging.INFO]
    assert any("documents read" in log.message for log in info)  # the flow's run logger
    assert any(log.name.startswith("kgweave.") for log in info)  # a library logger (agents/pipeline.py)
    for log in info:
        assert log.message not in done.stderr
    assert "INFO" not in done.stderr
