"""The Neo4j launcher against a real JVM: start on free ports, Bolt + Browser answer, data persists, stop."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import neo4j
import pytest

from kgweave.deploy.neo4j_server import DEFAULT_VERSION, Neo4jServer, Neo4jServerError
from tests.integration.neo4j_fixture import TEST_PASSWORD, free_port, launcher_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (loopback test server)
        return resp.status, resp.read().decode("utf-8", "replace")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_server_lifecycle(tmp_path: Path) -> None:
    server = launcher_for(tmp_path / "home")
    try:
        status = server.start(wait_s=240)
        assert status.running and status.pid and status.version == DEFAULT_VERSION
        assert status.bolt_url == f"bolt://127.0.0.1:{server.bolt_port}"
        assert status.rss_bytes is None or status.rss_bytes > 50 * 2**20
        conf = (server.home / "conf" / "neo4j.conf").read_text()
        assert f"server.bolt.listen_address=127.0.0.1:{server.bolt_port}" in conf
        assert "server.https.enabled=false" in conf and "dbms.security.auth_enabled=true" in conf

        data = server.home / "data"
        assert data.stat().st_mode & 0o077 == 0  # the databases and the auth store are the owner's only
        assert (data / "dbms" / "auth.ini").stat().st_mode & 0o077 == 0
        code, body = _get(server.http_url)
        assert code == 200 and json.loads(body)["neo4j_version"] == DEFAULT_VERSION
        code, body = _get(f"{server.http_url}browser/")
        assert code == 200 and "Neo4j Browser" in body

        with neo4j.GraphDatabase.driver(status.bolt_url, auth=("neo4j", TEST_PASSWORD)) as driver:
            driver.verify_connectivity()
            assert driver.execute_query("RETURN apoc.version() AS v").records[0]["v"].startswith("5.26")
            driver.execute_query("CREATE (:Probe {id: 'kept'})")
        with (pytest.raises(neo4j.exceptions.AuthError),
              neo4j.GraphDatabase.driver(status.bolt_url, auth=("neo4j", "wrong-password")) as driver):
            driver.verify_connectivity()

        assert server.start().pid == status.pid  # already running: no second server
        assert server.stop() is True
        assert not server.status().running and not _port_open(server.bolt_port)
        assert server.stop() is False

        # A warm restart keeps the data (and the password set before the first start).
        restarted = server.start(wait_s=240)
        assert restarted.pid != status.pid
        with neo4j.GraphDatabase.driver(restarted.bolt_url, auth=("neo4j", TEST_PASSWORD)) as driver:
            records = driver.execute_query("MATCH (p:Probe) RETURN p.id AS id").records
            assert [r["id"] for r in records] == ["kept"]
    finally:
        server.stop()
    assert not server.pid_file.exists()


def test_the_password_never_reaches_a_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22: ``neo4j-admin dbms set-initial-password PASSWORD`` showed it in ``ps`` for ~1.6 s."""
    import shutil
    import subprocess

    from kgweave.deploy import neo4j_server

    server = launcher_for(tmp_path / "home")
    server.install()
    seen: list[tuple[list[str], str | None]] = []
    real_run = subprocess.run

    def spy(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.append((list(cmd), kwargs.get("input")))  # type: ignore[arg-type]
        return real_run(cmd, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(neo4j_server.subprocess, "run", spy)
    (server.home / "data").mkdir(parents=True)
    server._set_initial_password(shutil.which("java") or "java")
    (cmd, given), = seen
    assert not any(TEST_PASSWORD in part for part in cmd) and given == TEST_PASSWORD + "\n"
    auth = server.home / "data" / "dbms" / "auth.ini"
    assert auth.is_file() and auth.stat().st_mode & 0o077 == 0
    assert TEST_PASSWORD not in auth.read_text(encoding="utf-8")  # a salted hash, as neo4j-admin writes it


def test_busy_port_is_reported_before_starting(tmp_path: Path) -> None:
    server = launcher_for(tmp_path / "home")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", server.bolt_port))
        busy.listen(1)
        with pytest.raises(Neo4jServerError, match=f"port {server.bolt_port} .* already in use"):
            server.start(wait_s=60)
    assert not server.status().running


def test_a_bad_setting_is_reported(tmp_path: Path) -> None:
    good = launcher_for(tmp_path / "home")
    bad = Neo4jServer(good.home, bolt_port=free_port(), http_port=free_port(), password=TEST_PASSWORD,
                      jars_home=good.jars_home, extra_conf={"server.no_such_setting": "1"})
    with pytest.raises(Neo4jServerError, match="no_such_setting"):
        bad.start(wait_s=120)
    assert not bad.status().running


def test_a_server_that_dies_shows_its_log(tmp_path: Path) -> None:
    good = launcher_for(tmp_path / "home")
    bad = Neo4jServer(good.home, bolt_port=free_port(), http_port=free_port(), password=TEST_PASSWORD,
                      jars_home=good.jars_home, heap="1m")  # the JVM refuses so small a heap
    with pytest.raises(Neo4jServerError, match="exited with code") as info:
        bad.start(wait_s=120)
    assert "heap" in str(info.value).lower()  # the log tail names the cause
    assert not bad.status().running and not bad.pid_file.exists()
