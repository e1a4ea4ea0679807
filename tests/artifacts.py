"""Read what a flow run published to the Prefect API (the test harness's server)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def artifacts_of(keys: Iterable[str], marker: str) -> dict[str, Any]:
    """The artifacts with one of ``keys`` whose description mentions ``marker`` (a run id), by key."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=list(keys))))
    return {a.key: a for a in found if marker in (a.description or "")}


def flow_run_of(summary_key: str, run_id: str) -> Any:
    """The flow run (read from the API, with its final state) that published the summary artifact of ``run_id``."""
    from prefect.client.orchestration import get_client

    artifact = artifacts_of([summary_key], run_id)[summary_key]
    with get_client(sync_client=True) as client:
        return client.read_flow_run(artifact.flow_run_id)


def llm_task_runs(summary_key: str, run_id: str) -> list[str]:
    """The names of the task runs tagged ``llm`` of the flow run that published ``run_id``'s summary, sorted."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    flow_run = flow_run_of(summary_key, run_id)
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
    return sorted(t.name for t in task_runs if "llm" in t.tags)


def embedded_pngs(markdown: object) -> list[bytes]:
    """The images a markdown artifact embeds as ``data:image/png;base64,`` URIs, decoded (each a PNG)."""
    images = [base64.b64decode(m, validate=True)
              for m in re.findall(r"\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", str(markdown))]
    assert all(image.startswith(PNG_SIGNATURE) for image in images)
    return images
