"""Pytest fixtures for a real Neo4j: one server for the whole test session, a clean store per test.

Register them in ``tests/conftest.py`` with
``from tests.integration.neo4j_fixture import neo4j_server, neo4j_store  # noqa: F401``.

The server is started by :class:`graph_store.neo4j_server.Neo4jServer` on free loopback ports in a
temporary home, with the jars of the default home (``$KGWEAVE_NEO4J_HOME`` or
``<repo>/.kgweave/neo4j``), resolved by Maven on first use and reused afterwards. To test against a
server you run yourself instead (``deploy/docker-compose.yml``), set ``KGWEAVE_TEST_NEO4J_URL`` and
``KGWEAVE_TEST_NEO4J_PASSWORD``.

Without Java, Maven or the jars the fixtures skip; with ``CI=true`` they fail, because CI must run
the Neo4j tests.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kgweave.deploy.neo4j_server import Neo4jServer, Neo4jServerError
from tests.conftest import REPO, require

TEST_PASSWORD = "kgweave-test-password"


def jars_home() -> Path:
    """Where the resolved jars live: shared by every test server and by ``kgweave neo4j start``."""
    env = os.environ.get("KGWEAVE_NEO4J_HOME")
    return Path(env) if env else REPO / ".kgweave" / "neo4j"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launcher_for(home: Path) -> Neo4jServer:
    """A test server in ``home`` on free ports, using the shared jars; skips (fails in CI) without tools."""
    require(shutil.which("java") is not None, "Java is not installed (the Neo4j tests need Java 17)")
    server = Neo4jServer(
        home, bolt_port=free_port(), http_port=free_port(), password=TEST_PASSWORD, jars_home=jars_home(),
        heap="512m", pagecache="128m",
    )
    if not server.is_installed():
        require(shutil.which("mvn") is not None, "Maven is not installed and the Neo4j jars are not resolved")
        try:
            server.install()
        except Neo4jServerError as exc:
            require(False, f"the Neo4j jars could not be resolved: {exc}")
    return server


@dataclass(frozen=True)
class Neo4jConnection:
    """How tests reach the session's Neo4j."""

    url: str
    user: str
    password: str
    http_url: str | None
    server: Neo4jServer | None


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jConnection]:
    """One Neo4j for the whole test session, stopped at its end."""
    url = os.environ.get("KGWEAVE_TEST_NEO4J_URL")
    if url:
        password = os.environ.get("KGWEAVE_TEST_NEO4J_PASSWORD", TEST_PASSWORD)
        yield Neo4jConnection(url=url, user="neo4j", password=password, http_url=None, server=None)
        return
    server = launcher_for(tmp_path_factory.mktemp("neo4j-home"))
    try:
        status = server.start(wait_s=240)
    except Neo4jServerError as exc:
        pytest.fail(f"the Neo4j test server did not start: {exc}")
    try:
        yield Neo4jConnection(url=status.bolt_url, user="neo4j", password=TEST_PASSWORD,
                              http_url=server.http_url, server=server)
    finally:
        server.stop()


@pytest.fixture
def neo4j_store(neo4j_server: Neo4jConnection) -> Iterator[object]:
    """A Neo4jGraphStore on an empty database with the schema in place."""
    from kgweave.graph_store.neo4j_store import Neo4jGraphStore

    store = Neo4jGraphStore(neo4j_server.url, user=neo4j_server.user, password=neo4j_server.password)
    store.clear()
    store.ensure_schema()
    yield store
    store.close()
