"""Shared fixtures: paths to the shared data, a Prefect test API, stores for the contract suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data() -> Path:
    """``$KGWEAVE_SHARED_DATA``, else ``../shared/data`` beside the checkout, else /work/shared/data."""
    candidates = [os.environ.get("KGWEAVE_SHARED_DATA"), REPO.parent / "shared" / "data", "/work/shared/data"]
    found = [Path(c) for c in candidates if c and Path(c).is_dir()]
    return found[0] if found else REPO.parent / "shared" / "data"


SHARED_DATA = _shared_data()
SAMPLE_CORPUS = REPO / "examples" / "abstracts" / "iclr2023_gnn_abstracts.jsonl"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip locally, fail in CI: in CI a missing service or data set is an error."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    require(SHARED_DATA.is_dir(), f"shared data folder {SHARED_DATA} is missing")
    return SHARED_DATA


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """A real Prefect API server (temporary SQLite database) for the whole test session."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[object]:
    from kgweave.graph_store.sqlite_store import SQLiteGraphStore

    store = SQLiteGraphStore(tmp_path / "contract.db")
    yield store
    store.close()


@pytest.fixture
def sample_db(tmp_path: Path) -> Path:
    """A SQLite store holding the sample corpus, built with the plain pipeline (offline extractor)."""
    from kgweave.agents.cooccurrence import CooccurrenceExtractor
    from kgweave.agents.pipeline import extract_documents
    from kgweave.agents.sources.files import load_corpus
    from kgweave.graph_store.sqlite_store import SQLiteGraphStore

    documents, failures = load_corpus([SAMPLE_CORPUS])
    assert documents and not failures
    result = extract_documents(documents, CooccurrenceExtractor(), run_id="build-1", fingerprint="fp")
    db = tmp_path / "corpus.db"
    with SQLiteGraphStore(db) as store:
        store.upsert(result.delta)
    return db


STORE_KINDS = ["sqlite", "neo4j"]


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest) -> object:
    """Every GraphStore implementation, fresh and empty."""
    return request.getfixturevalue(f"{request.param}_store")


# Registered here only: importing them in a test module too would start a second session server.
from tests.integration.neo4j_fixture import neo4j_server, neo4j_store  # noqa: E402, F401
