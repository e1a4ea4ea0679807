"""What runs show in the Prefect UI: run names, final states, the failure-ratio rule, cost estimates, plots
embedded in artifacts, tables updated in place, Browser queries."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar, cast

from pydantic import BaseModel

from kgweave.deploy.neo4j_browser import query_links_markdown
from kgweave.flows.settings import MonitoringSettings
from kgweave.graph_store.runs import RatioVerdict, new_run_id, ratio_verdict

__all__ = [
    "ANALYZE_QUERIES",
    "BUILD_QUERIES",
    "COMPLETED_WITH_FAILURES",
    "FailureRatioExceededError",
    "LiveTable",
    "RESOLVE_QUERIES",
    "RatioVerdict",
    "StageProgress",
    "browser_queries_markdown",
    "cost_estimate_usd",
    "default_run_id",
    "failure_verdict",
    "final_state",
    "plots_markdown",
    "png_markdown",
    "run_name",
    "show_library_logs",
]


# The ready queries (deploy/neo4j/queries.cypher) linked from run summaries.
BUILD_QUERIES = ("top-hubs", "run-additions")
ANALYZE_QUERIES = ("top-hubs", "bridge-entities", "community-bridges")
RESOLVE_QUERIES = ("merges",)


class FailureRatioExceededError(RuntimeError):
    """A run failed (no item succeeded, or too many failed): its message is the reason, ``summary`` what it did.

    The CLI prints the summary (``--json`` too) and then the reason as one line, exit code 1.
    """

    def __init__(self, message: str, summary: BaseModel | None = None) -> None:
        super().__init__(message)
        self.summary = summary

    def __reduce__(self) -> tuple[type[FailureRatioExceededError], tuple[str, BaseModel | None]]:
        return type(self), (str(self), self.summary)  # the summary survives Prefect's pickling


def failure_verdict(failed: int, items: int, threshold: float | None = None) -> RatioVerdict:
    """Failed share of ``items``; ``threshold`` defaults to ``KGWEAVE_MAX_FAILURE_RATIO`` (1.0: no success only)."""
    return ratio_verdict(failed, items, MonitoringSettings().max_failure_ratio if threshold is None else threshold)


COMPLETED_WITH_FAILURES = "CompletedWithFailures"  # the state name of a run that kept going past failures
Summary = TypeVar("Summary")


def final_state(summary: Summary, verdict: RatioVerdict) -> Summary:
    """What a flow returns: ``summary``, or, where some items failed (not enough to fail the run), a
    Completed state named ``CompletedWithFailures`` carrying it, the counts in its message.

    Prefect makes a State a flow returns the run's final state (the UI's run list and run page show its
    name and message) and hands the state's data to the caller, so callers still get the summary.
    """
    if not verdict.failed:
        return summary
    from prefect.states import Completed

    message = f"{verdict.failed} of {verdict.items} {verdict.unit} failed"
    return cast(Summary, Completed(data=summary, name=COMPLETED_WITH_FAILURES, message=message))


def cost_estimate_usd(prompt_tokens: int, completion_tokens: int) -> float:
    """Tokens times the configured prices (``KGWEAVE_LLM_USD_PER_MILLION_*``; 0 for a self-hosted vLLM)."""
    settings = MonitoringSettings()
    return round((prompt_tokens * settings.llm_usd_per_million_prompt_tokens
                  + completion_tokens * settings.llm_usd_per_million_completion_tokens) / 1e6, 4)


def browser_queries_markdown(run_id: str, store: str) -> str:
    """Links that open Neo4j Browser on ``store`` with the top hubs and what run ``run_id`` added ("" off Neo4j)."""
    return query_links_markdown(store, BUILD_QUERIES, {"run": run_id})


MAX_EMBEDDED_PNG_BYTES = 300_000  # a bigger data URI makes the artifact page slow to load


def png_markdown(path: str | Path, title: str) -> str:
    """Markdown showing the PNG at ``path`` in a Prefect artifact, embedded as a data URI.

    The UI's browser refuses ``file://`` images, and the file may live on a worker anyway. A PNG over
    ``MAX_EMBEDDED_PNG_BYTES`` is named, not embedded, with the reason.
    """
    data = Path(path).read_bytes()
    if len(data) > MAX_EMBEDDED_PNG_BYTES:
        return (f"{title}: `{path}` ({len(data) // 1000} KB, not embedded: over the "
                f"{MAX_EMBEDDED_PNG_BYTES // 1000} KB an artifact carries)\n")
    return f"![{title}](data:image/png;base64,{base64.b64encode(data).decode('ascii')})\n"


def plots_markdown(paths: Iterable[Path]) -> str:
    """:func:`png_markdown` of each PNG among ``paths`` (a report folder's files), titled by its file name."""
    return "".join(png_markdown(path, path.stem.replace("_", " ")) for path in paths if path.suffix == ".png")


def default_run_id(kind: str) -> str:
    """``<kind>-<scheduled start>-<flow run id prefix>`` inside a flow run (scheduled runs pass no run id)."""
    from prefect.runtime import flow_run

    return new_run_id(kind, flow_run.scheduled_start_time, (flow_run.id or "")[:4] or "0000")


def run_name(flow_name: str, kind: str, parameter: str = "run_id") -> Callable[[], str]:
    """A ``flow_run_name`` callable: ``<flow>-<run_id>``; without a run id, the one :func:`default_run_id` gives."""

    def name() -> str:
        from prefect.runtime import flow_run

        return f"{flow_name}-{flow_run.parameters.get(parameter) or default_run_id(kind)}"

    return name


class StageProgress:
    """A Prefect progress artifact that moves through named stages (for flows whose work has no item count).

    Created at 0 % when constructed inside a flow run; :meth:`done` sets it to the share of stages
    finished, so the UI shows how far a run got and where it stopped.
    """

    def __init__(self, key: str, stages: Sequence[str], description: str) -> None:
        from prefect.artifacts import create_progress_artifact

        self.stages = list(stages)
        self._id = create_progress_artifact(progress=0.0, key=key, description=description)

    def done(self, stage: str) -> None:
        """Mark ``stage`` (and every stage before it) finished."""
        from prefect.artifacts import update_progress_artifact

        update_progress_artifact(self._id, 100.0 * (self.stages.index(stage) + 1) / len(self.stages))  # type: ignore[arg-type]


class LiveTable:
    """A Prefect table artifact whose rows are replaced in place: one card in the run's Artifacts tab, however
    often it changes (a new ``create_table_artifact`` under the same key would add a card each time).

    Created on the first :meth:`show`, inside a flow run.
    """

    def __init__(self, key: str, description: str) -> None:
        self.key, self.description = key, description
        self._id: object | None = None

    def show(self, rows: Sequence[dict[str, object]]) -> None:
        """Make ``rows`` the table's content."""
        from prefect.artifacts import TableArtifact, create_table_artifact
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import ArtifactUpdate

        if self._id is None:
            self._id = create_table_artifact(list(rows), key=self.key, description=self.description)
            return
        data = TableArtifact(table=list(rows)).format(_sync=True)  # type: ignore[call-arg]
        get_client(sync_client=True).update_artifact(self._id, ArtifactUpdate(data=data))  # type: ignore[arg-type]


def show_library_logs() -> None:
    """Let INFO records of the loggers in ``PREFECT_LOGGING_EXTRA_LOGGERS`` (``kgweave``,
    where kgweave runs flows) reach the Prefect UI: Prefect attaches its API handler to them but leaves
    their level unset, so the root's WARNING would drop them. A level set explicitly is kept."""
    from prefect.settings import PREFECT_LOGGING_EXTRA_LOGGERS, PREFECT_LOGGING_LEVEL

    for name in PREFECT_LOGGING_EXTRA_LOGGERS.value() or []:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(PREFECT_LOGGING_LEVEL.value())
