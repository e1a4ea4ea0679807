"""The task runner is a setting: threads by default, Dask or Ray for many machines, with no code change.

Flows are declared with ``task_runner=ConfiguredTaskRunner()``; when a flow run starts, the runner reads
:class:`flows.settings.TaskRunnerSettings` (``KGWEAVE_TASK_RUNNER=threads|dask|ray`` ...) in the process
that runs the flow (a worker, ``kgweave serve`` or the CLI) and hands every task to the chosen runner.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.settings import TaskRunnerSettings

__all__ = ["ConfiguredTaskRunner", "TaskRunnerUnavailableError", "make_task_runner"]


class TaskRunnerUnavailableError(RuntimeError):
    """The configured task runner needs a package that is not installed."""


def make_task_runner(settings: TaskRunnerSettings | None = None) -> TaskRunner[Any]:
    """The Prefect task runner that ``settings`` (default: from the environment) asks for."""
    settings = settings or TaskRunnerSettings()
    if settings.task_runner == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as exc:
            raise TaskRunnerUnavailableError(
                "KGWEAVE_TASK_RUNNER=dask needs prefect-dask: pip install prefect-dask") from exc
        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        cluster_kwargs: dict[str, Any] = {"processes": settings.dask_processes}
        if settings.task_workers:
            cluster_kwargs["n_workers"] = settings.task_workers
        return DaskTaskRunner(cluster_kwargs=cluster_kwargs)
    if settings.task_runner == "ray":
        try:
            from prefect_ray import RayTaskRunner
        except ImportError as exc:
            raise TaskRunnerUnavailableError(
                "KGWEAVE_TASK_RUNNER=ray needs prefect-ray: pip install prefect-ray") from exc
        return RayTaskRunner(address=settings.ray_address) if settings.ray_address else RayTaskRunner()
    return ThreadPoolTaskRunner(max_workers=settings.task_workers)


class ConfiguredTaskRunner(TaskRunner[PrefectFuture[Any]]):
    """Delegates to the runner the settings name, chosen when the flow run starts (not at import)."""

    def __init__(self, settings: TaskRunnerSettings | None = None) -> None:
        self._settings = settings
        self._inner: TaskRunner[Any] | None = None
        super().__init__()  # reads self.name

    @property
    def name(self) -> str:
        return f"configured-{self._inner.name}" if self._inner is not None else "configured"

    def duplicate(self) -> ConfiguredTaskRunner:
        return type(self)(self._settings)

    def __enter__(self) -> ConfiguredTaskRunner:
        inner = make_task_runner(self._settings)
        inner.__enter__()
        self._inner = inner
        super().__enter__()
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        try:
            if self._inner is not None:
                self._inner.__exit__(exc_type, exc_value, traceback)
        finally:
            self._inner = None
            super().__exit__(exc_type, exc_value, traceback)

    def submit(  # type: ignore[override]
        self,
        task: Any,
        parameters: dict[str, Any],
        wait_for: Iterable[PrefectFuture[Any]] | None = None,
        dependencies: dict[str, set[Any]] | None = None,
    ) -> PrefectFuture[Any]:
        if self._inner is None:
            raise RuntimeError("the task runner must be started before submitting work")
        if not isinstance(self._inner, ThreadPoolTaskRunner):
            # Dask packs tuple arguments as lists, and quote() is a NamedTuple: the task would get
            # [value] instead of value. Unwrapped, Prefect walks the value for futures (slower, correct).
            parameters = {k: v.unwrap() if isinstance(v, quote) else v for k, v in parameters.items()}
        return self._inner.submit(task, parameters, wait_for=wait_for, dependencies=dependencies)
