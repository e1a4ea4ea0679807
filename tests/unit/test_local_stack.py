"""The local stack's plain functions, with stand-in processes and a stand-in /api/health (no Prefect)."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kgweave.deploy.local_stack import (
    EPHEMERAL_TIMEOUT_ENV,
    RecordedService,
    StackState,
    configured_prefect_api_url,
    down,
    prefect_start_failure,
    read_state,
    stack_status,
    state_path,
    use_prefect_api,
)
from kgweave.deploy.processes import pid_alive
from kgweave.flows.settings import StackSettings
from tests.conftest import SAMPLE_CORPUS

# what Prefect 3.9 raises when its ephemeral server does not answer in time (prefect/server/api/server.py)
PREFECT_TIMEOUT = "Timed out while attempting to connect to ephemeral Prefect API server."


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_url() -> Iterator[str]:
    """A stand-in Prefect API that answers /api/health."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def _sleeper(*marker: str) -> subprocess.Popen[bytes]:
    """A process in its own group whose command line ends with ``marker`` (e.g. prefect server start)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", *marker], start_new_session=True)


@pytest.fixture
def settings(tmp_path: Path) -> StackSettings:
    return StackSettings(stack_dir=tmp_path / ".kgweave", prefect_port=1)


def _record(settings: StackSettings, pid: int, url: str) -> None:
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = StackState(services={"prefect": RecordedService(pid=pid, url=url, started_at="2026-12-02T00:00:00")})
    path.write_text(state.model_dump_json())


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PREFECT_HOME": str(tmp_path / "prefect-home"), **extra}


@pytest.fixture
def recorded_server(tmp_path: Path, settings: StackSettings, health_url: str,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen[bytes]]:
    """A stand-in ``prefect server start`` process recorded in stack.json, answering on ``health_url``."""
    monkeypatch.chdir(tmp_path)
    server = _sleeper("prefect", "server", "start")
    _record(settings, server.pid, health_url)
    yield server
    server.kill()
    server.wait()


def test_a_running_recorded_server_is_exported_as_the_api(
        tmp_path: Path, settings: StackSettings, health_url: str, recorded_server: subprocess.Popen[bytes]) -> None:
    env = _env(tmp_path)
    api = use_prefect_api(settings, env)
    assert (api.source, api.url) == ("local", health_url)
    assert env["PREFECT_API_URL"] == health_url and EPHEMERAL_TIMEOUT_ENV not in env


def test_a_configured_url_wins_over_the_stack(
        tmp_path: Path, settings: StackSettings, recorded_server: subprocess.Popen[bytes]) -> None:
    env = _env(tmp_path, PREFECT_API_URL="http://prefect.example:4200/api")
    api = use_prefect_api(settings, env)
    assert (api.source, api.url) == ("configured", "http://prefect.example:4200/api")
    assert env["PREFECT_API_URL"] == "http://prefect.example:4200/api"


def test_configured_url_sources_in_prefect_order(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert configured_prefect_api_url(env, tmp_path) is None
    home = tmp_path / "prefect-home"
    home.mkdir()
    (home / "profiles.toml").write_text('active = "dev"\n[profiles.dev]\nPREFECT_API_URL = "http://profile/api"\n')
    assert configured_prefect_api_url(env, tmp_path) == "http://profile/api"
    assert configured_prefect_api_url({**env, "PREFECT_PROFILE": "other"}, tmp_path) is None
    (tmp_path / "prefect.toml").write_text('[api]\nurl = "http://toml/api"\n')
    assert configured_prefect_api_url(env, tmp_path) == "http://toml/api"
    (tmp_path / ".env").write_text("PREFECT_API_URL=http://dotenv/api\n")
    assert configured_prefect_api_url(env, tmp_path) == "http://dotenv/api"
    assert configured_prefect_api_url({**env, "PREFECT_API_URL": "http://env/api"}, tmp_path) == "http://env/api"


def test_without_a_live_stack_the_ephemeral_timeout_is_raised_unless_set(
        tmp_path: Path, settings: StackSettings, health_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    dead = _sleeper("prefect", "server", "start")
    dead.kill()
    dead.wait()
    _record(settings, dead.pid, health_url)  # recorded, answering URL, but its process is gone
    env = _env(tmp_path)
    assert use_prefect_api(settings, env).source == "ephemeral"
    assert env[EPHEMERAL_TIMEOUT_ENV] == "180" and "PREFECT_API_URL" not in env
    mine = _env(tmp_path, **{EPHEMERAL_TIMEOUT_ENV: "45"})
    use_prefect_api(settings, mine)
    assert mine[EPHEMERAL_TIMEOUT_ENV] == "45"  # Prefect's own setting, when given, wins


def test_a_recycled_pid_is_neither_used_nor_stopped(
        tmp_path: Path, settings: StackSettings, health_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stranger = _sleeper("not-ours")
    try:
        _record(settings, stranger.pid, health_url)
        assert use_prefect_api(settings, _env(tmp_path)).source == "ephemeral"
        assert stack_status(settings)[0].running is False
        assert down(settings) == []
        assert stranger.poll() is None, "down stopped a process kgweave up did not start"
        assert not state_path(settings).exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_down_stops_the_recorded_process_group_and_forgets_it(
        settings: StackSettings, recorded_server: subprocess.Popen[bytes]) -> None:
    assert [s.name for s in stack_status(settings) if s.running and s.healthy] == ["prefect"]
    stopped = down(settings)
    assert [(s.name, s.pid) for s in stopped] == [("prefect", recorded_server.pid)]
    recorded_server.wait(timeout=10)
    assert not pid_alive(recorded_server.pid)
    assert read_state(state_path(settings)).services == {}
    assert down(settings) == []  # twice is harmless


def test_prefect_start_failure_is_one_line_pointing_at_kgweave_up() -> None:
    line = prefect_start_failure(RuntimeError(PREFECT_TIMEOUT + " stdout: lots of server output"),
                                 {EPHEMERAL_TIMEOUT_ENV: "180"})
    assert line is not None and "\n" not in line
    assert "within 180 s" in line and "kgweave up" in line and "stdout" not in line
    assert prefect_start_failure(RuntimeError("something else")) is None


NO_PREFECT = """
import sys
from kgweave.flows.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
imported = any(m == "prefect" or m.startswith("prefect.") for m in sys.modules)
print(code, "PREFECT_IMPORTED" if imported else "NO_PREFECT")
"""


@pytest.mark.parametrize(("args", "code"), [
    (["--help"], 0), (["stats"], 0), (["stats", "--json"], 0), (["export", "--format", "json", "g.json"], 0),
    (["path", "graph neural networks", "GNNs"], 0), (["store", "clear", "--yes"], 0),
    (["neo4j", "status"], 1), (["build", str(SAMPLE_CORPUS), "--dry-run", "--json"], 0), (["status"], 0),
    (["down"], 0), (["report", "--run-id", "expand-1", "--out", "plots"], 2),
])
def test_commands_without_orchestration_never_import_prefect(
        args: list[str], code: int, sample_db: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "kgweave.db").write_bytes(sample_db.read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    done = subprocess.run([sys.executable, "-c", NO_PREFECT, *args], cwd=work, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == f"{code} NO_PREFECT", done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]


def test_status_json_names_each_service(tmp_path: Path, settings: StackSettings) -> None:
    services = [s.to_dict() for s in stack_status(settings)]
    assert [s["name"] for s in services] == ["prefect", "neo4j"]
    assert all({"url", "pid", "healthy", "running", "started_by_up"} <= s.keys() for s in services)
    json.dumps(services)


def _fake_neo4j(home: Path) -> subprocess.Popen[bytes]:
    """A process the Neo4j launcher takes for its server under ``home`` (entry point and home on its command line)."""
    process = _sleeper("org.neo4j.server.CommunityEntryPoint", f"--home-dir={home.resolve()}")
    (home / "run").mkdir(parents=True)
    (home / "run" / "kgweave-neo4j.pid").write_text(f"{process.pid}\n")
    return process


def test_down_stops_a_neo4j_that_up_recorded_and_leaves_one_started_elsewhere(
        tmp_path: Path, settings: StackSettings) -> None:
    ours, theirs = _fake_neo4j(tmp_path / "ours"), _fake_neo4j(tmp_path / "theirs")
    try:
        path = state_path(settings)
        path.parent.mkdir(parents=True)
        path.write_text(StackState(services={"neo4j": RecordedService(
            pid=ours.pid, url="bolt://127.0.0.1:7687", home=str((tmp_path / "ours").resolve()),
            started_at="2026-12-02T00:00:00")}).model_dump_json())
        assert [s.started_by_up for s in stack_status(settings) if s.name == "neo4j"] == [True]
        assert [(s.name, s.pid) for s in down(settings)] == [("neo4j", ours.pid)]
        ours.wait(timeout=30)
        assert theirs.poll() is None, "down stopped a Neo4j that kgweave up did not start"
    finally:
        for process in (ours, theirs):
            process.kill()
            process.wait()
