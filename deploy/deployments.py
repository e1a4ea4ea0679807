"""Register the deployments of ``deploy/prefect.yaml`` with a Prefect API, or serve them from one process.

``register_deployments`` (``kgweave deploy``) creates what the deployments need, idempotently: the
work pools (``kgweave-cpu``, ``kgweave-gpu``; process type), the ``llm`` tag concurrency limit, the
Secret blocks for the Neo4j password and the LLM key (from ``KGWEAVE_NEO4J_PASSWORD`` /
``KGWEAVE_LLM_API_KEY`` when set), then creates or updates every deployment whose flow file exists.
``serve_deployments`` (``kgweave serve``) runs the same deployments, with their schedules, in this
process via ``prefect.serve`` (no work pool or worker needed).
"""

from __future__ import annotations

import importlib.resources
import logging
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field

from kgweave.flows.settings import DeploySettings, LLMSettings, Neo4jSettings, StoreSettings

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

__all__ = [
    "DEPLOY_FILE",
    "DeployError",
    "DeployFile",
    "DeployResult",
    "DeploymentSpec",
    "WORKER_ENV",
    "load_deploy_file",
    "project_dir",
    "register_deployments",
    "serve_deployments",
]

log = logging.getLogger(__name__)

# deploy/prefect.yaml ships as package data of kgweave.deploy, so a wheel installed anywhere can deploy
DEPLOY_FILE = Path(str(importlib.resources.files("kgweave.deploy").joinpath("prefect.yaml")))
LLM_TAG = "llm"
# Library loggers whose records reach the Prefect UI (set where flows run: workers, serve).
WORKER_ENV = {"PREFECT_LOGGING_EXTRA_LOGGERS": "kgweave"}
_PLACEHOLDER = re.compile(r"\{\{\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SECRET_REF = re.compile(r"\{\{\s*prefect\.blocks\.secret\.([a-z0-9-]+)\s*\}\}")


class DeployError(RuntimeError):
    """The deployments file is invalid or the Prefect API refused something."""


class ScheduleSpec(BaseModel):
    """One cron schedule of a deployment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cron: str
    timezone: str | None = "UTC"
    active: bool = True


class WorkPoolSpec(BaseModel):
    """Where a deployment's runs go."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    work_queue_name: str | None = None
    job_variables: dict[str, Any] = Field(default_factory=dict)


class DeploymentSpec(BaseModel):
    """One entry of ``deployments:`` in prefect.yaml (the keys kgweave uses)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    entrypoint: str = Field(pattern=r"^kgweave(\.\w+)+$", description="module path of the flow object")
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    schedules: list[ScheduleSpec] = Field(default_factory=list)
    concurrency_limit: int | None = None
    work_pool: WorkPoolSpec

    def load_flow(self) -> Flow[..., Any]:
        """Import the flow object the entrypoint names (as a worker does)."""
        from prefect.utilities.importtools import import_object

        return import_object(self.entrypoint)  # type: ignore[no-any-return]


class DeployFile(BaseModel):
    """deploy/prefect.yaml, placeholders filled (Prefect's own keys such as ``build`` are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    pull: list[dict[str, Any]] = Field(default_factory=list)
    deployments: list[DeploymentSpec]
    tag_concurrency_limits: dict[str, int] = Field(
        default_factory=dict, description="definitions.tag_concurrency_limits: tag -> task runs at once.")


class DeployedItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="<flow name>/<deployment name>")
    id: str
    entrypoint: str
    work_pool: str
    schedules: list[str]


class DeployResult(BaseModel):
    """What ``kgweave deploy --json`` prints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_url: str | None
    project_dir: str
    deployments: list[DeployedItem]
    skipped: dict[str, str] = Field(description="entrypoint -> why it was not registered")
    work_pools: list[str]
    concurrency_limits: dict[str, int]
    secret_blocks: list[str]
    seconds: float


def project_dir(settings: DeploySettings | None = None) -> Path:
    """Where flow runs start: ``KGWEAVE_PROJECT_DIR``, else the checkout kgweave runs from, else the current folder.

    The code itself is found by module path (``kgweave.flows.build_graph.build_graph``), wherever kgweave is
    installed; the folder anchors the relative paths in the deployments' parameters (the sample corpus of a
    checkout, a relative store). A checkout is the folder holding ``flows/`` and ``pyproject.toml`` (an
    editable install); a wheel in site-packages has none, so its runs start where ``kgweave deploy`` ran.
    """
    settings = settings or DeploySettings()
    return (settings.project_dir or _checkout_root() or Path.cwd()).resolve()


def _checkout_root() -> Path | None:
    import kgweave.flows

    root = Path(kgweave.flows.__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "deploy").is_dir() else None


def _fill(value: Any, env: dict[str, str]) -> Any:
    """Replace ``{{ $VAR }}`` placeholders from ``env`` (as ``prefect deploy`` does at deploy time)."""
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            if match.group(1) not in env:
                raise DeployError(f"prefect.yaml needs environment variable {match.group(1)}")
            return env[match.group(1)]

        return _PLACEHOLDER.sub(sub, value)
    if isinstance(value, dict):
        return {k: _fill(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, env) for v in value]
    return value


def load_deploy_file(
    path: Path | None = None, settings: DeploySettings | None = None, store: str | None = None,
) -> DeployFile:
    """Parse prefect.yaml and fill ``{{ $VAR }}`` from the environment (defaults for the project dir, store)."""
    settings = settings or DeploySettings()
    path = path or settings.prefect_file or DEPLOY_FILE
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DeployError(f"cannot read {path}: {exc}") from exc
    env = {"KGWEAVE_PROJECT_DIR": str(project_dir(settings)), "KGWEAVE_STORE": StoreSettings().store, **os.environ}
    if store:
        env["KGWEAVE_STORE"] = store  # --store wins
    try:
        filled = _fill(raw, env)
        limits = (filled.get("definitions") or {}).get("tag_concurrency_limits") or {}
        return DeployFile.model_validate({**filled, "tag_concurrency_limits": limits})
    except ValueError as exc:
        raise DeployError(f"{path}: {exc}") from exc


def _ensure_work_pools(names: list[str]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        for name in names:
            try:
                client.read_work_pool(name)
            except ObjectNotFound:
                client.create_work_pool(WorkPoolCreate(
                    name=name, type="process", base_job_template=ProcessWorker.get_default_base_job_template(),
                    description="kgweave " + ("GPU work (vLLM-adjacent, GNN)" if "gpu" in name else "CPU work"),
                ))
                log.info("created work pool %s (process)", name)


def _tag_limits(file: DeployFile, settings: DeploySettings) -> dict[str, int]:
    """The file's tag concurrency limits, ``KGWEAVE_LLM_CONCURRENCY_LIMIT`` winning for ``llm``."""
    limits = {LLM_TAG: 4, **file.tag_concurrency_limits}
    if settings.llm_concurrency_limit is not None:
        limits[LLM_TAG] = settings.llm_concurrency_limit
    return limits


def _ensure_tag_limits(limits: dict[str, int]) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for tag, limit in limits.items():
            client.create_concurrency_limit(tag=tag, concurrency_limit=limit)  # an upsert


def _ensure_secret_blocks(settings: DeploySettings) -> list[str]:
    """Save the secrets that are set as Prefect Secret blocks; returns the names of those that exist."""
    from prefect.blocks.system import Secret

    neo4j, llm = Neo4jSettings(), LLMSettings()
    values = {
        settings.neo4j_password_block: neo4j.password if "password" in neo4j.model_fields_set else None,
        settings.llm_api_key_block: llm.api_key,
    }
    present = []
    for name, secret in values.items():
        if secret is not None and secret.get_secret_value():
            Secret(value=secret).save(name, overwrite=True)
            present.append(name)
            continue
        try:
            Secret.load(name)
        except ValueError:
            continue
        present.append(name)
    return present


def _job_variables(spec: DeploymentSpec, secret_blocks: list[str]) -> dict[str, Any]:
    """The pool's job variables with env entries that name a missing Secret block left out."""
    variables = dict(spec.work_pool.job_variables)
    env = {**WORKER_ENV, **variables.get("env", {})}
    kept = {}
    for key, value in env.items():
        ref = _SECRET_REF.search(str(value))
        if ref and ref.group(1) not in secret_blocks:
            log.info("%s: Secret block %s not found, %s comes from the worker's environment",
                     spec.entrypoint, ref.group(1), key)
            continue
        kept[key] = value
    variables["env"] = kept
    return variables


def _runner_deployment(spec: DeploymentSpec, root: Path, work_pool: bool, secret_blocks: list[str]) -> RunnerDeployment:
    from prefect.deployments.runner import EntrypointType
    from prefect.runner.storage import LocalStorage
    from prefect.schedules import Cron

    kwargs: dict[str, Any] = dict(
        name=spec.name, description=spec.description, tags=spec.tags, parameters=spec.parameters,
        schedules=[Cron(s.cron, timezone=s.timezone, active=s.active) for s in spec.schedules],
        concurrency_limit=spec.concurrency_limit, entrypoint_type=EntrypointType.MODULE_PATH,
    )
    if work_pool:
        kwargs.update(work_pool_name=spec.work_pool.name, work_queue_name=spec.work_pool.work_queue_name,
                      job_variables=_job_variables(spec, secret_blocks))
    deployment = cast("RunnerDeployment", spec.load_flow().to_deployment(**kwargs))  # called sync: no coroutine
    unknown = set(spec.parameters) - set(deployment._parameter_openapi_schema.properties or {})
    if unknown:
        raise DeployError(f"{spec.entrypoint}: unknown parameters in prefect.yaml: {', '.join(sorted(unknown))}")
    # pull step set_working_directory(root): runs start in the project dir, served or on a worker
    deployment.storage = LocalStorage(str(root))
    return deployment


def _runner_deployments(
    file: DeployFile, root: Path, work_pool: bool, secret_blocks: list[str],
) -> tuple[list[tuple[DeploymentSpec, RunnerDeployment]], dict[str, str]]:
    built, skipped = [], {}
    for spec in file.deployments:
        try:
            built.append((spec, _runner_deployment(spec, root, work_pool, secret_blocks)))
        except (ImportError, AttributeError) as exc:  # e.g. train-gnn without the ml extra
            skipped[spec.entrypoint] = f"cannot import it: {exc}"
            log.warning("skipping %s: %s", spec.entrypoint, skipped[spec.entrypoint])
    return built, skipped


def register_deployments(
    path: Path | None = None, settings: DeploySettings | None = None, store: str | None = None,
) -> DeployResult:
    """Create or update every deployment of prefect.yaml against the configured Prefect API (idempotent).

    ``store`` (default ``KGWEAVE_STORE``) fills ``{{ $KGWEAVE_STORE }}``: the store the deployments write.
    """
    from prefect.settings import PREFECT_API_URL

    started = time.perf_counter()
    settings = settings or DeploySettings()
    file = load_deploy_file(path, settings, store)
    root = project_dir(settings)
    pools = sorted({d.work_pool.name for d in file.deployments})
    _ensure_work_pools(pools)
    limits = _tag_limits(file, settings)
    _ensure_tag_limits(limits)
    secret_blocks = _ensure_secret_blocks(settings)
    built, skipped = _runner_deployments(file, root, True, secret_blocks)
    deployed = []
    for spec, deployment in built:
        deployment_id = deployment.apply()
        deployed.append(DeployedItem(name=deployment.full_name, id=str(deployment_id), entrypoint=spec.entrypoint,
                                     work_pool=spec.work_pool.name, schedules=[s.cron for s in spec.schedules]))
    return DeployResult(
        api_url=PREFECT_API_URL.value(), project_dir=str(root), deployments=deployed, skipped=skipped,
        work_pools=pools, concurrency_limits=limits, secret_blocks=secret_blocks,
        seconds=round(time.perf_counter() - started, 3),
    )


def serve_deployments(
    path: Path | None = None, settings: DeploySettings | None = None, limit: int | None = None,
    store: str | None = None,
) -> None:
    """Serve every deployment of prefect.yaml (schedules included) from this process until interrupted."""
    from prefect import serve

    settings = settings or DeploySettings()
    root = project_dir(settings)
    for key, value in WORKER_ENV.items():
        os.environ.setdefault(key, value)  # flow runs are subprocesses of this one
    file = load_deploy_file(path, settings, store)
    built, _ = _runner_deployments(file, root, False, [])
    _ensure_tag_limits(_tag_limits(file, settings))
    os.chdir(root)  # relative paths in the deployments' parameters are relative to the project dir
    serve(*(deployment for _, deployment in built), limit=limit)
