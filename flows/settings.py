"""Settings, one pydantic-settings class per area, read from ``KGWEAVE_*`` env vars (and ``.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, JsonValue, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kgweave.agents.llm_options import LLMCallOptions

__all__ = [
    "BuildSettings", "DeploySettings", "LLMSettings", "MonitoringSettings", "Neo4jSettings", "StackSettings",
    "StoreSettings", "TaskRunnerSettings",
]


class StoreSettings(BaseSettings):
    """Where the graph lives."""

    model_config = SettingsConfigDict(env_prefix="KGWEAVE_", env_file=".env", extra="ignore")

    store: str = Field(
        default="kgweave.db",
        description="Store URL: a path or sqlite:///PATH (embedded), bolt://HOST:7687 or neo4j://... (Neo4j).",
    )
    write_batch_size: int = Field(default=1000, ge=1, description="Rows per Neo4j write transaction.")


class Neo4jSettings(BaseSettings):
    """Credentials and database for a Neo4j store."""

    model_config = SettingsConfigDict(env_prefix="KGWEAVE_NEO4J_", env_file=".env", extra="ignore")

    user: str = Field(default="neo4j", description="Neo4j user name.")
    password: SecretStr = Field(
        default=SecretStr("kgweave-dev-password"),
        description="Neo4j password (the local launcher sets this one as the initial password).",
    )
    database: str | None = Field(default=None, description="Database name; None = the server's default.")


class BuildSettings(BaseSettings):
    """How a corpus becomes a graph."""

    model_config = SettingsConfigDict(env_prefix="KGWEAVE_", env_file=".env", extra="ignore")

    extractor: str = Field(default="cooccurrence", description="Extractor: cooccurrence (offline) or llm.")
    domain: str = Field(default="auto", description="A registered domain (agents/domains): auto (= text), text, "
                                                    "papers, reviews, profiles, or one you register.")
    chunk_chars: int = Field(default=2000, ge=200, description="Maximum characters per chunk.")
    batch_documents: int = Field(
        default=250, ge=1, description="Documents per extraction task (one Prefect task run per batch)."
    )
    max_file_mb: float = Field(default=20.0, gt=0, description="Whole-document files (.txt/.md/.json) larger "
                                                               "than this are reported, not read.")
    max_record_mb: float = Field(default=20.0, gt=0, description="JSONL lines and CSV rows larger than this are "
                                                                 "reported, not read (files are streamed).")
    text_field: str | None = Field(default=None, description="JSON/CSV field holding the text (default: auto).")


class LLMSettings(BaseSettings, LLMCallOptions):
    """The OpenAI-compatible endpoint (vLLM, OpenAI, ...) that the ``llm`` extractor calls.

    The call options (``KGWEAVE_LLM_TIMEOUT_S``, ``..._CONCURRENCY``, ...) are :class:`LLMCallOptions`'
    fields, defaults included; ``flows.extractors.llm_config`` turns them into the client's ``LLMConfig``.
    """

    model_config = SettingsConfigDict(env_prefix="KGWEAVE_LLM_", env_file=".env", extra="ignore")

    base_url: str | None = Field(default=None, description="API root, e.g. http://gpu-1:8000/v1 or https://api.openai.com/v1.")
    model: str | None = Field(default=None, description="Model name as the endpoint knows it.")
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("KGWEAVE_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key (KGWEAVE_LLM_API_KEY, else OPENAI_API_KEY; none needed for a vLLM without --api-key).",
    )
    gleaning: int = Field(default=0, ge=0, description="Extra 'what did you miss?' passes per chunk (--gleaning).")


class TaskRunnerSettings(BaseSettings):
    """Where a flow's tasks run: threads in the flow's process, or a Dask or Ray cluster (no code change)."""

    model_config = SettingsConfigDict(env_prefix="KGWEAVE_", env_file=".env", extra="ignore")

    task_runner: Literal["threads", "dask", "ray"] = Field(
        default="threads", description="threads (default), dask (prefect-dask) or ray (prefect-ray)."
    )
    task_workers: int | None = Field(
        default=None, ge=1,
        description="Threads, local Dask workers or local Ray CPUs; None = Prefect's / Dask's / Ray's default.",
    )
    dask_address: str | None = Field(
        default=None, description="Scheduler of an existing Dask cluster (tcp://HOST:8786); None = a LocalCluster."
    )
    dask_processes: bool = Field(default=True, description="LocalCluster workers as processes (else threads).")
    ray_address: str | None = Field(
        default=None,
        description="Ray cluster (HOST:6379, ray://HOST:10001, or auto = the one `ray start` joined on this machine); "
                    "None = a new local Ray instance.",
    )
    ray_init: dict[str, JsonValue] = Field(
        default_factory=dict,
        description='ray.init keyword arguments as JSON, e.g. {"include_dashboard": false, "runtime_env": {...}}; '
                    "a local instance gets num_cpus from task_workers unless given here.",
    )


class MonitoringSettings(BaseSettings):
    """What a run reports and when it counts as failed."""

    model_config = SettingsConfigDict(env_prefix="KGWEAVE_", env_file=".env", extra="ignore")

    max_failure_ratio: float = Field(
        default=1.0, ge=0, le=1,
        description="A build whose failed items (documents + chunks) exceed this share of its items ends Failed "
                    "(1.0 = never; the scheduled deployments set 0.2).",
    )
    llm_usd_per_million_prompt_tokens: float = Field(
        default=0.0, ge=0, description="Price used for the cost estimate in run summaries (0 = self-hosted)."
    )
    llm_usd_per_million_completion_tokens: float = Field(
        default=0.0, ge=0, description="Price used for the cost estimate in run summaries (0 = self-hosted)."
    )


class DeploySettings(BaseSettings):
    """How ``kgweave deploy`` / ``kgweave serve`` register the deployments of deploy/prefect.yaml."""

    model_config = SettingsConfigDict(env_prefix="KGWEAVE_", env_file=".env", extra="ignore")

    prefect_file: Path | None = Field(
        default=None, description="The deployments file; None = deploy/prefect.yaml of the project."
    )
    project_dir: Path | None = Field(
        default=None,
        description="Folder flow runs start in (anchors relative paths in the deployments' parameters); None = the "
                    "checkout kgweave is installed from, else the folder kgweave deploy runs in.",
    )
    llm_concurrency_limit: int | None = Field(
        default=None, ge=1,
        description="Task runs tagged llm allowed at once across all flows; None = the limit in prefect.yaml (4).",
    )
    neo4j_password_block: str = Field(
        default="kgweave-neo4j-password", description="Prefect Secret block holding the Neo4j password."
    )
    llm_api_key_block: str = Field(
        default="kgweave-llm-api-key", description="Prefect Secret block holding the LLM API key."
    )


class StackSettings(BaseSettings):
    """The local stack ``kgweave up`` starts, and how a command finds a Prefect API without one."""

    model_config = SettingsConfigDict(env_prefix="KGWEAVE_", env_file=".env", extra="ignore")

    stack_dir: Path = Field(
        default=Path(".kgweave"),
        description="Folder of the local stack: stack.json (what kgweave up started), server logs, the Prefect "
                    "SQLite database (prefect/prefect.db); commands run from this folder's parent find the stack.",
    )
    prefect_port: int = Field(default=4200, ge=1, le=65535, description="Port of the Prefect server kgweave up starts "
                              "on 127.0.0.1 (API /api, UI /).")
    prefect_start_timeout_s: int = Field(
        default=180, ge=1,
        description="Seconds to wait for a Prefect server to answer: the one kgweave up starts, and the temporary one "
                    "a command starts without a stack (sets PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, "
                    "Prefect's default 20, unless that is set).",
    )
