"""Progress reporting: a Prefect progress artifact, plus the terminal bar when the CLI asks for one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["ProgressSink", "progress_sink", "report_progress"]

ProgressSink = Callable[[str, int, int], None]
_sink: ContextVar[ProgressSink | None] = ContextVar("kgweave_progress_sink", default=None)


@contextmanager
def progress_sink(sink: ProgressSink) -> Iterator[None]:
    """Send progress of flows run inside this block to ``sink(stage, done, total)``."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


def report_progress(stage: str, done: int, total: int) -> None:
    """Tell the terminal sink, if any, how far a stage has got."""
    sink = _sink.get()
    if sink is not None:
        sink(stage, done, total)
