"""``kgweave up`` / build / ``down`` with a real Prefect server, and a first build on busy cores without one.

Every command runs as a real process in a temporary folder with a fresh PREFECT_HOME and no PREFECT_*
variable from this process, so what it finds is only what ``kgweave up`` recorded there.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kgweave.deploy.processes import group_pids, pid_alive, port_open
from tests.conftest import SAMPLE_CORPUS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KGWEAVE_"))}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), DO_NOT_TRACK="1", **extra)
    return env


def _kgweave(cwd: Path, env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kgweave.flows.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _api_post(url: str, body: dict[str, object]) -> list[dict[str, object]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the test's own server)
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.fixture
def stack_dir(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A working folder and environment for ``kgweave up``; whatever it recorded is stopped afterwards."""
    env = _env(tmp_path, KGWEAVE_PREFECT_PORT=str(_free_port()))
    yield tmp_path, env
    _kgweave(tmp_path, env, "down")


def test_up_build_down_is_one_stack_used_without_export_and_leaves_no_process(
        stack_dir: tuple[Path, dict[str, str]]) -> None:
    cwd, env = stack_dir
    first = _kgweave(cwd, env, "up", "--json")
    assert first.returncode == 0, first.stderr
    prefect = json.loads(first.stdout)["services"][0]
    assert prefect["name"] == "prefect" and prefect["healthy"] and prefect["started_by_up"]
    assert json.loads(first.stdout)["prefect_api"] == {"source": "local", "url": prefect["url"]}
    assert (cwd / ".kgweave" / "prefect" / "prefect.db").is_file()  # its SQLite under the stack folder

    again = _kgweave(cwd, env, "up", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["services"][0]["pid"] == prefect["pid"]  # up twice is one stack
    server_pids = group_pids(prefect["pid"])
    assert prefect["pid"] in server_pids

    build = _kgweave(cwd, env, "build", str(SAMPLE_CORPUS), "--json")
    assert build.returncode == 0, build.stderr
    run_id = json.loads(build.stdout)["run_id"]
    runs = _api_post(f"{prefect['url']}/flow_runs/filter", {"limit": 50})
    assert any(run_id in str(run["name"]) for run in runs), [run["name"] for run in runs]
    artifacts = _api_post(f"{prefect['url']}/artifacts/filter", {"limit": 200})
    assert any(str(a.get("key") or "").startswith("build-graph") for a in artifacts)

    # an explicit PREFECT_API_URL wins over the running stack (nothing listens there: the build must fail)
    closed = f"http://127.0.0.1:{_free_port()}/api"
    elsewhere = _kgweave(cwd, {**env, "PREFECT_API_URL": closed}, "build", str(SAMPLE_CORPUS), "--json",
                         "--force")
    assert elsewhere.returncode == 1 and closed.removesuffix("/api") in elsewhere.stderr, elsewhere.stderr
    status = json.loads(_kgweave(cwd, {**env, "PREFECT_API_URL": closed}, "status", "--json").stdout)
    assert status["prefect_api"] == {"source": "configured", "url": closed}

    down = _kgweave(cwd, env, "down", "--json")
    assert down.returncode == 0, down.stderr
    assert [s["pid"] for s in json.loads(down.stdout)["stopped"]] == [prefect["pid"]]
    assert not [pid for pid in server_pids if pid_alive(pid)], "a server process outlived kgweave down"
    assert not group_pids(prefect["pid"])
    assert not port_open(int(prefect["url"].rsplit(":", 1)[1].split("/")[0]))
    status = json.loads(_kgweave(cwd, env, "status", "--json").stdout)
    assert status["services"][0]["running"] is False and status["prefect_api"]["source"] == "ephemeral"


def test_first_build_on_a_fresh_prefect_home_survives_two_busy_cores(tmp_path: Path) -> None:
    """No stack, a fresh PREFECT_HOME (the ephemeral server creates its database) and both cores busy."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        done = _kgweave(tmp_path, _env(tmp_path), "build", str(SAMPLE_CORPUS), "--json", timeout=900)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["documents"] == 40
    assert (tmp_path / "prefect-home").is_dir()  # it really ran on the fresh home


def test_an_ephemeral_start_that_times_out_is_one_line_exit_1_and_writes_no_run(tmp_path: Path) -> None:
    done = _kgweave(tmp_path, _env(tmp_path, KGWEAVE_PREFECT_START_TIMEOUT_S="1"), "build", str(SAMPLE_CORPUS),
                    "--json")
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "did not start within 1 s" in lines[0] and "kgweave up" in lines[0], done.stderr
    stats = json.loads(_kgweave(tmp_path, _env(tmp_path), "stats", "--json").stdout)
    assert stats["runs"] == 0 and stats["documents"] == 0
