"""One run lifecycle for every flow and command: a run id, and a run recorded running -> completed | failed.

A run records the process that runs it (pid, host, process start time) while it is ``running``; a
run whose process died without finishing (SIGKILL, power loss) is marked ``crashed`` by
:func:`reap_dead_runs`, which every kgweave command calls when it opens a store.

Examples
--------
>>> from kgweave.graph_store.sqlite_store import SQLiteGraphStore
>>> store = SQLiteGraphStore(":memory:")
>>> with recorded_run(store, Run(id=new_run_id("demo"), kind="demo")) as run:
...     run.finish(summary={"entities": 3})
>>> [(r.kind, r.status, r.summary["entities"]) for r in store.runs()]
[('demo', 'completed', 3)]
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from kgweave.graph_store.models import Run, Scalar, utc_now
from kgweave.graph_store.protocol import GraphStore

__all__ = [
    "CRASHED",
    "RatioVerdict",
    "RunRecord",
    "new_run_id",
    "process_identity",
    "ratio_verdict",
    "reap_dead_runs",
    "recorded_run",
    "scalar_summary",
]

logger = logging.getLogger(__name__)

CRASHED = "crashed"

# the reason kept on a failed run: enough to read, bounded so a huge message cannot bloat the store
_ERROR_CHARS = 500


def new_run_id(kind: str, when: datetime | None = None, suffix: str | None = None) -> str:
    """A readable, unique run id: ``<kind>-<UTC time>-<4 hex>``, e.g. ``build-20261126T140203-3f9a``.

    ``when`` and ``suffix`` default to now and a random suffix; a scheduled flow run passes its scheduled
    start and the first characters of its flow run id (``flows/monitoring.py``).
    """
    when = (when or datetime.now(UTC)).astimezone(UTC)
    return f"{kind}-{when:%Y%m%dT%H%M%S}-{suffix or secrets.token_hex(2)}"


def scalar_summary(values: Mapping[str, object]) -> dict[str, Scalar]:
    """The entries of a summary a run record can hold (strings, numbers, booleans, None)."""
    return {k: v for k, v in values.items() if v is None or isinstance(v, str | int | float | bool)}  # type: ignore[misc]


class RatioVerdict(BaseModel):
    """How many of a run's items failed, against the threshold: a run over it, or with no success, failed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    failed: int
    items: int
    ratio: float
    threshold: float
    unit: str = "items"

    @property
    def none_succeeded(self) -> bool:
        return self.items > 0 and self.failed >= self.items

    @property
    def exceeded(self) -> bool:
        return self.none_succeeded or self.ratio > self.threshold

    @property
    def reason(self) -> str:
        if self.none_succeeded:
            return f"none succeeded: all {self.items} {self.unit} failed"
        return (f"{self.failed} of {self.items} {self.unit} failed ({self.ratio:.0%}), more than the threshold "
                f"{self.threshold:.0%} (--max-failure-ratio, KGWEAVE_MAX_FAILURE_RATIO)")


def ratio_verdict(failed: int, items: int, threshold: float = 1.0, unit: str = "items") -> RatioVerdict:
    """The verdict on a run of ``items`` of which ``failed`` failed (``threshold`` 1.0: only if none succeeded)."""
    return RatioVerdict(failed=failed, items=items, ratio=failed / items if items else 0.0, threshold=threshold,
                        unit=unit)


class RunRecord:
    """The run being recorded; ``finish`` sets how it ends when the block exits without an error."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.status = "completed"
        self.summary: dict[str, Scalar] = {}

    def finish(self, status: str = "completed", summary: Mapping[str, object] | None = None) -> None:
        """The status and summary recorded at the end (non-scalar summary values are left out)."""
        self.status = status
        self.summary = scalar_summary(summary or {})


@contextmanager
def recorded_run(store: GraphStore | None, run: Run) -> Iterator[RunRecord]:
    """Record ``run`` as running, then completed (or what :meth:`RunRecord.finish` says), or failed.

    ``store=None`` (a flow reading a GraphML file, say) records nothing; the block runs the same.

    Any exception, KeyboardInterrupt included, records the run as failed with ``error`` (type and message)
    added to the summary set so far, and is re-raised: a crashed run is never left "running" when the
    process could still write, and re-running it is the recovery.
    """
    record = RunRecord(run)
    if store is None:
        yield record
        return
    store.record_run(run.model_copy(update={"summary": {**run.summary, **process_identity()}}))
    try:
        yield record
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]
        store.record_run(run.model_copy(update={"finished_at": utc_now(), "status": "failed",
                                                "summary": {**record.summary, "error": error}}))
        raise
    store.record_run(run.model_copy(update={"finished_at": utc_now(), "status": record.status,
                                            "summary": record.summary}))


def process_identity(pid: int | None = None) -> dict[str, Scalar]:
    """Who runs a run: ``pid``, ``host`` and ``pid_started`` (the process start time; tells a reused pid apart)."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "host": socket.gethostname(), "pid_started": _process_started(pid)}


def _process_started(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux ``/proc``), or "" where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _process_dead(summary: Mapping[str, Scalar]) -> bool:
    """Whether the process a running run recorded is gone; False when that cannot be known (other host)."""
    pid, host = summary.get("pid"), summary.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        pass
    started = summary.get("pid_started")
    return bool(started) and _process_started(pid) != started  # the pid now belongs to another process


def reap_dead_runs(store: GraphStore) -> list[Run]:
    """Mark ``crashed`` every ``running`` run whose process (on this host) is dead; the runs marked.

    Runs recorded elsewhere, or before processes were recorded, are left as they are. Idempotent:
    two commands reaping at once write the same record.
    """
    reaped = []
    for run in store.runs():
        if run.status == "running" and _process_dead(run.summary):
            error = (f"process {run.summary['pid']} on {run.summary['host']} died without finishing the run "
                     "(killed?); re-run the same command to resume")
            crashed = run.model_copy(update={"status": CRASHED, "finished_at": utc_now(),
                                             "summary": {**run.summary, "error": error}})
            store.record_run(crashed)
            logger.warning("run %s was left running by a dead process: marked crashed", run.id)
            reaped.append(crashed)
    return reaped
