"""The task runner is a setting: threads by default, Dask or Ray for many machines, with no code change.

Flows are declared with ``task_runner=ConfiguredTaskRunner()``; when a flow run starts, the runner reads
:class:`flows.settings.TaskRunnerSettings` (``KGWEAVE_TASK_RUNNER=threads|dask|ray`` ...) in the process
that runs the flow (a worker, ``kgweave serve`` or the CLI) and hands every task to the chosen runner.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prefect.futures import PrefectFuture
from prefect.settings import get_current_settings
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from kgweave.flows.settings import TaskRunnerSettings

__all__ = ["ConfiguredTaskRunner", "TaskRunnerUnavailableError", "make_task_runner", "missing_api_warning"]


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
        init_kwargs: dict[str, Any] = dict(settings.ray_init)
        if settings.ray_address:
            return RayTaskRunner(address=settings.ray_address, init_kwargs=init_kwargs)
        if settings.task_workers:  # only for a new instance: Ray refuses num_cpus when joining a cluster
            init_kwargs.setdefault("num_cpus", settings.task_workers)
        # "local": a new instance. With no address ray.init() joins RAY_ADDRESS or the last cluster started
        # on this machine (`ray start`, even a dead one: /tmp/ray/ray_current_cluster), which is "auto".
        return RayTaskRunner(address="local", init_kwargs=init_kwargs)
    return ThreadPoolTaskRunner(max_workers=settings.task_workers)


def missing_api_warning(settings: TaskRunnerSettings, api_url: str | None) -> str | None:
    """Why tasks in other processes need ``PREFECT_API_URL``, when they run elsewhere and it is not set."""
    other_processes = settings.task_runner == "ray" or (
        settings.task_runner == "dask" and (settings.dask_processes or settings.dask_address is not None))
    if api_url or not other_processes:
        return None
    # Found with Ray: the flow's temporary API is not passed on, so every worker process starts its own
    # temporary server (slow; on another machine its task runs land in that machine's database).
    return (f"KGWEAVE_TASK_RUNNER={settings.task_runner} without PREFECT_API_URL: each worker process starts its "
            "own temporary Prefect server; start one with `kgweave up` (commands export its URL) or set "
            "PREFECT_API_URL")


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
        settings = self._settings or TaskRunnerSettings()
        warning = missing_api_warning(settings, get_current_settings().api.url)
        if warning:
            self.logger.warning(warning)
        inner = make_task_runner(settings)
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
            # Dask and Ray pickle the arguments, and Prefect's quote() (a tuple subclass whose __new__
            # wraps its value) does not survive pickling: quote(v) comes back as quote((v,)), so the task
            # would get (v,) (Dask: [v]). Unwrapped, Prefect walks the value for futures (slower, correct).
            parameters = {k: v.unwrap() if isinstance(v, quote) else v for k, v in parameters.items()}
        return self._inner.submit(task, parameters, wait_for=wait_for, dependencies=dependencies)
