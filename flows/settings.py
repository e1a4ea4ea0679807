"""Settings, one pydantic-settings class per area, read from ``KGWEAVE_*`` env vars (and ``.env``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["BuildSettings", "Neo4jSettings", "StoreSettings"]


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
    chunk_chars: int = Field(default=2000, ge=200, description="Maximum characters per chunk.")
    batch_documents: int = Field(
        default=250, ge=1, description="Documents per extraction task (one Prefect task run per batch)."
    )
    max_file_mb: float = Field(default=20.0, gt=0, description="Files larger than this are reported, not read.")
    text_field: str | None = Field(default=None, description="JSON/CSV field holding the text (default: auto).")
