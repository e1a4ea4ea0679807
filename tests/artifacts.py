"""Read what a flow run published to the Prefect API (the test harness's server)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def artifacts_of(keys: Iterable[str], marker: str) -> dict[str, Any]:
    """The artifacts with one of ``keys`` whose description mentions ``marker`` (a run id), by key."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=list(keys))))
    return {a.key: a for a in found if marker in (a.description or "")}
