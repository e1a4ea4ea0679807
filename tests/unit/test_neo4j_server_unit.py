"""The Neo4j launcher without a JVM: rendered pom and conf, defaults, pid-file handling, clear errors."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kgweave.deploy.neo4j_server import (
    APOC_VERSION,
    BROWSER_VERSION,
    DEFAULT_PASSWORD,
    DEFAULT_VERSION,
    Neo4jServer,
    Neo4jServerError,
    default_home,
    default_password,
    render_conf,
    render_pom,
)
from kgweave.graph_store.errors import GraphStoreError


def _conf_dict(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {k: v for k, v in pairs}


def test_pom_lists_server_browser_and_apoc() -> None:
    root = ET.fromstring(render_pom())
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    deps = {
        (d.findtext("m:groupId", namespaces=ns), d.findtext("m:artifactId", namespaces=ns)):
            d.findtext("m:version", namespaces=ns)
        for d in root.iterfind("m:dependencies/m:dependency", ns)
    }
    assert deps == {
        ("org.neo4j", "neo4j"): DEFAULT_VERSION,
        ("org.neo4j.client", "neo4j-browser"): BROWSER_VERSION,
        ("org.neo4j.procedure", "apoc-common"): APOC_VERSION,
        ("org.neo4j.procedure", "apoc-core"): APOC_VERSION,
    }
    assert "apoc" not in render_pom(apoc_version=None)
    assert "neo4j-browser" not in render_pom(browser_version=None)


def test_conf_binds_loopback_with_auth_and_no_https(tmp_path: Path) -> None:
    conf = _conf_dict(render_conf(tmp_path, tmp_path / "plugins", bolt_port=17687, http_port=17474,
                                  pagecache="64m", heap="256m", extra={"db.logs.query.enabled": "OFF"}))
    assert conf["server.default_listen_address"] == "127.0.0.1"
    assert conf["server.bolt.listen_address"] == "127.0.0.1:17687"
    assert conf["server.http.listen_address"] == "127.0.0.1:17474"
    assert conf["server.https.enabled"] == "false"
    assert conf["dbms.security.auth_enabled"] == "true"
    assert conf["dbms.security.procedures.unrestricted"] == "apoc.*"
    assert conf["server.directories.data"] == str(tmp_path / "data")
    assert conf["server.directories.logs"] == str(tmp_path / "logs")
    assert conf["server.directories.plugins"] == str(tmp_path / "plugins")
    assert conf["server.memory.pagecache.size"] == "64m"
    assert conf["server.memory.heap.max_size"] == "256m"
    assert conf["db.logs.query.enabled"] == "OFF"
    assert "dbms.memory.transaction.total.max" not in conf  # Neo4j's default: 70 % of the heap


def test_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KGWEAVE_NEO4J_HOME", raising=False)
    monkeypatch.delenv("KGWEAVE_NEO4J_PASSWORD", raising=False)
    monkeypatch.delenv("KGWEAVE_NEO4J_PAGECACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_home() == tmp_path / ".kgweave" / "neo4j"
    assert default_password() == DEFAULT_PASSWORD
    monkeypatch.setenv("KGWEAVE_NEO4J_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("KGWEAVE_NEO4J_PASSWORD", "from-the-env")
    monkeypatch.setenv("KGWEAVE_NEO4J_HEAP", "2g")
    server = Neo4jServer()
    assert server.home == (tmp_path / "elsewhere").resolve() and server.password == "from-the-env"
    assert (server.heap, server.pagecache) == ("2g", "256m")
    assert server.lib_dir == server.home / "lib"


def test_short_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="8 characters"):
        Neo4jServer(tmp_path, password="short")


def test_nothing_running_in_a_fresh_home(tmp_path: Path) -> None:
    server = Neo4jServer(tmp_path, bolt_port=17687, http_port=17474)
    status = server.status()
    assert not status.running and status.pid is None
    assert status.browser_url == "http://127.0.0.1:17474/browser/"
    assert status.to_dict()["bolt_url"] == "bolt://127.0.0.1:17687"
    assert server.stop() is False
    assert not server.is_installed()


def test_a_recycled_pid_is_not_taken_for_the_server(tmp_path: Path) -> None:
    server = Neo4jServer(tmp_path)
    server.pid_file.parent.mkdir(parents=True)
    server.pid_file.write_text(f"{os.getpid()}\n")  # alive, but pytest, not Neo4j
    if not Path(f"/proc/{os.getpid()}/cmdline").exists():
        pytest.skip("needs /proc to tell processes apart")
    assert not server.status().running
    assert server.stop() is False  # and it must not signal this process
    assert not server.pid_file.exists()


def test_missing_tools_give_clear_errors(tmp_path: Path) -> None:
    server = Neo4jServer(tmp_path, mvn="no-such-mvn-kgweave", java="no-such-java-kgweave")
    with pytest.raises(Neo4jServerError, match="Maven"):
        server.install()
    with pytest.raises(Neo4jServerError, match="Java") as info:
        server.start()
    assert isinstance(info.value, GraphStoreError)
