"""LLM calls as Prefect task runs tagged ``llm``: the tag concurrency limit that ``kgweave deploy`` creates
(deploy/prefect.yaml) then caps them across every run, and the UI shows each call with its duration and state."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from prefect import tags, task
from prefect.cache_policies import NO_CACHE

from kgweave.deploy.deployments import LLM_TAG  # the tag the limit is created for

__all__ = ["LLM_TAG", "run_llm_task"]

T = TypeVar("T")


@task(name="llm-call", task_run_name="{name}", cache_policy=NO_CACHE, persist_result=False)
def _llm_call(name: str, call: Callable[[], T]) -> T:
    """One LLM call (the answers are cached by the LLM client, not by Prefect)."""
    return call()


def run_llm_task(name: str, call: Callable[[], T]) -> T:
    """An :class:`agents.llm_options.CallRunner`: ``call`` as the task run ``name`` tagged ``llm``."""
    with tags(LLM_TAG):
        return _llm_call(name, call)
