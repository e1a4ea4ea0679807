"""Settings, one pydantic-settings class per area, read from ``KGWEAVE_*`` env vars (and ``.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["BuildSettings", "LLMSettings", "Neo4jSettings", "StoreSettings"]


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
    domain: str = Field(default="auto", description="auto, text, papers, reviews or profiles (LLM schema).")
    chunk_chars: int = Field(default=2000, ge=200, description="Maximum characters per chunk.")
    batch_documents: int = Field(
        default=250, ge=1, description="Documents per extraction task (one Prefect task run per batch)."
    )
    max_file_mb: float = Field(default=20.0, gt=0, description="Files larger than this are reported, not read.")
    text_field: str | None = Field(default=None, description="JSON/CSV field holding the text (default: auto).")


class LLMSettings(BaseSettings):
    """The OpenAI-compatible endpoint (vLLM, OpenAI, ...) that the ``llm`` extractor calls."""

    model_config = SettingsConfigDict(env_prefix="KGWEAVE_LLM_", env_file=".env", extra="ignore")

    base_url: str | None = Field(default=None, description="API root, e.g. http://gpu-1:8000/v1 or https://api.openai.com/v1.")
    model: str | None = Field(default=None, description="Model name as the endpoint knows it.")
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("KGWEAVE_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key (KGWEAVE_LLM_API_KEY, else OPENAI_API_KEY; none needed for a vLLM without --api-key).",
    )
    timeout_s: float = Field(default=120.0, gt=0, description="Per-request timeout in seconds.")
    max_retries: int = Field(default=5, ge=0, description="Retries after a transient error (429, 5xx, timeout).")
    concurrency: int = Field(default=32, ge=1, description="Requests in flight per extraction task.")
    structured_output: Literal["json_schema", "json_object"] = Field(
        default="json_schema", description="json_schema (strict; OpenAI, vLLM guided decoding) or json_object."
    )
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    cache_dir: Path | None = Field(
        default=Path(".kgweave/llm-cache"), description="Response cache folder; re-runs make no requests."
    )
