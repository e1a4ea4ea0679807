"""A real ``prefect server start`` (SQLite, temporary PREFECT_HOME, free port) and process workers, for
integration tests and benchmarks. Every process is started in its own group and ended by its id."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "PrefectServer", "prefect_env", "prefect_process", "running_kgweave_serve", "running_prefect_server",
    "running_worker",
]

PREFECT = [sys.executable, "-m", "prefect"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prefect_env(home: Path, api_url: str | None = None, **extra: str) -> dict[str, str]:
    """This process's environment with Prefect pointed at ``home`` and ``api_url`` (quiet, no analytics)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               PREFECT_LOGGING_LEVEL="INFO", PREFECT_UI_ENABLED="false")
    if api_url:
        env["PREFECT_API_URL"] = api_url
    env.update(extra)
    return env


def prefect_process(
    args: list[str], env: dict[str, str], log: Path, cwd: Path | None = None, program: list[str] = PREFECT,
) -> subprocess.Popen[bytes]:
    """Start ``prefect ARGS`` (or ``program ARGS``) in its own process group, output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen([*program, *args], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM the process group we started, then SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


class PrefectServer:
    """A started server: its API URL, home folder, log and start-up time."""

    def __init__(self, url: str, home: Path, log: Path, start_seconds: float) -> None:
        self.url, self.home, self.log, self.start_seconds = url, home, log, start_seconds

    def env(self, **extra: str) -> dict[str, str]:
        return prefect_env(self.home, self.url, **extra)


@contextlib.contextmanager
def running_prefect_server(home: Path, timeout: float = 120.0, ui: bool = False) -> Iterator[PrefectServer]:
    """``prefect server start`` on a free port with a SQLite database under ``home``; stopped on exit.

    With ``ui`` the server also serves the Prefect UI at the URL without ``/api``.
    """
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = prefect_env(home, PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home / 'prefect.db'}",
                      PREFECT_SERVER_LOGGING_LEVEL="WARNING", PREFECT_UI_ENABLED=str(ui).lower(),
                      # the UI's API address defaults to the settings' port (4200), not --port
                      PREFECT_UI_API_URL=url)
    log = home / "server.log"
    started = time.perf_counter()
    process = prefect_process(["server", "start", "--host", "127.0.0.1", "--port", str(port)], env, log)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"prefect server exited ({process.returncode}): {log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"prefect server not healthy after {timeout} s: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield PrefectServer(url, home, log, time.perf_counter() - started)
    finally:
        stop(process)


@contextlib.contextmanager
def running_worker(
    server: PrefectServer, pool: str, log: Path, cwd: Path, **env: str,
) -> Iterator[subprocess.Popen[bytes]]:
    """``prefect worker start --pool POOL`` (process type) polling every 2 s; stopped on exit."""
    worker_env = server.env(PREFECT_WORKER_QUERY_SECONDS="2", PREFECT_WORKER_PREFETCH_SECONDS="5", **env)
    process = prefect_process(["worker", "start", "--pool", pool, "--type", "process", "--limit", "2"],
                              worker_env, log, cwd=cwd)
    try:
        yield process
    finally:
        stop(process)


@contextlib.contextmanager
def running_kgweave_serve(server: PrefectServer, log: Path, cwd: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """``kgweave serve`` (every deployment served from one process); stopped on exit."""
    process = prefect_process(["serve"], server.env(**env), log, cwd=cwd,
                              program=[sys.executable, "-m", "kgweave.flows.cli"])
    try:
        yield process
    finally:
        stop(process)
