"""The local stack ``kgweave up`` starts and every later command finds: a Prefect server (and Neo4j).

``up`` starts ``prefect server start`` as a detached process group (its SQLite database under the stack
folder), waits until ``/api/health`` answers, and records the pid in ``<stack_dir>/stack.json``;
``down`` stops only what that file records. Before a command runs, :func:`use_prefect_api` chooses the
Prefect API: a configured ``PREFECT_API_URL`` (environment, ``.env``, ``prefect.toml`` or the active
Prefect profile) wins; else a recorded server whose pid is alive and which answers is exported as
``PREFECT_API_URL``; else Prefect starts its temporary (ephemeral) server, with a start-up timeout sized
for a loaded machine. Nothing here imports Prefect, so ``kgweave status`` and ``down`` stay instant.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, MutableMapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, ValidationError

from kgweave.deploy.neo4j_server import Neo4jServer
from kgweave.deploy.processes import cmdline, http_ok, pid_alive, port_open, terminate_group
from kgweave.flows.settings import StackSettings

__all__ = [
    "EPHEMERAL_TIMEOUT_ENV", "PrefectApi", "RecordedService", "ServiceStatus", "StackError", "StackState",
    "configured_prefect_api_url", "down", "prefect_start_failure", "prefect_ui_url", "read_state", "stack_status",
    "state_path", "up", "use_prefect_api",
]

STATE_FILE = "stack.json"
EPHEMERAL_TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
_EPHEMERAL_FAILURE = "Timed out while attempting to connect to ephemeral Prefect API server"
_PREFECT_MARKERS = ("prefect", "server", "start")  # a recorded pid counts only while its command holds these
_HEALTH_TIMEOUT_S = 3.0  # a loaded server answers /health in milliseconds; this only bounds a hung one
_STOP_TIMEOUT_S = 20.0


class StackError(RuntimeError):
    """The local stack could not be started or stopped."""


class RecordedService(BaseModel):
    """A process ``kgweave up`` started, as recorded in stack.json."""

    model_config = ConfigDict(extra="forbid")

    pid: int
    url: str
    ui_url: str | None = None
    log_file: str | None = None
    home: str | None = None
    started_at: str


class StackState(BaseModel):
    """stack.json: the services ``kgweave up`` started, by name (prefect, neo4j)."""

    model_config = ConfigDict(extra="forbid")

    services: dict[str, RecordedService] = {}


@dataclass(frozen=True)
class ServiceStatus:
    """One service of the stack as ``kgweave status`` shows it."""

    name: str
    url: str
    ui_url: str | None
    pid: int | None
    running: bool
    healthy: bool
    started_by_up: bool
    log_file: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class PrefectApi:
    """Which Prefect API this process uses: a configured one, the local stack's, or an ephemeral one
    (``preset``: Prefect was imported before the choice, so its own settings stand)."""

    source: Literal["configured", "local", "ephemeral", "preset"]
    url: str | None


# -- state file --------------------------------------------------------------------------------------

def state_path(settings: StackSettings) -> Path:
    return settings.stack_dir.resolve() / STATE_FILE


def read_state(path: Path) -> StackState:
    """The recorded stack; empty when the file is missing or unreadable (nothing is then ours to stop)."""
    try:
        return StackState.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError):
        return StackState()


def _write_state(path: Path, state: StackState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not state.services:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)


@contextlib.contextmanager
def _locked(settings: StackSettings) -> Iterator[None]:
    """One ``up``/``down`` at a time per stack folder, so two ``up`` at once still make one stack."""
    folder = settings.stack_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "stack.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# -- Prefect server ----------------------------------------------------------------------------------

def _prefect_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def prefect_ui_url(api_url: str) -> str:
    """The Prefect UI's address for an API URL: the same server, without ``/api``."""
    return api_url.rstrip("/").removesuffix("/api")


def _is_our_prefect(service: RecordedService) -> bool:
    if not pid_alive(service.pid):
        return False
    command = cmdline(service.pid)
    return command is None or all(marker in command for marker in _PREFECT_MARKERS)


def _prefect_healthy(url: str) -> bool:
    return http_ok(f"{url}/health", timeout_s=_HEALTH_TIMEOUT_S)


def _start_prefect(settings: StackSettings) -> RecordedService:
    """``prefect server start`` in its own process group; returns once ``/api/health`` answers."""
    port = settings.prefect_port
    if port_open(port):
        raise StackError(f"port {port} on 127.0.0.1 is in use by another program; "
                         "set KGWEAVE_PREFECT_PORT to a free port")
    folder = settings.stack_dir.resolve()
    (folder / "prefect").mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.setdefault("PREFECT_API_DATABASE_CONNECTION_URL",
                   f"sqlite+aiosqlite:///{folder / 'prefect' / 'prefect.db'}")
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    log_file = folder / "prefect-server.log"
    url = _prefect_url(port)
    with open(log_file, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    deadline = time.monotonic() + settings.prefect_start_timeout_s
    try:
        while not _prefect_healthy(url):
            if process.poll() is not None:
                raise StackError(f"prefect server start exited with code {process.returncode}; see {log_file}")
            if time.monotonic() > deadline:
                raise StackError(f"the Prefect server did not answer on {url} within "
                                 f"{settings.prefect_start_timeout_s} s (KGWEAVE_PREFECT_START_TIMEOUT_S); "
                                 f"see {log_file}")
            time.sleep(0.25)
    except BaseException:
        terminate_group(process.pid, _STOP_TIMEOUT_S, alive=lambda _: process.poll() is None)
        raise
    return RecordedService(pid=process.pid, url=url, ui_url=prefect_ui_url(url), log_file=str(log_file),
                           started_at=datetime.now(UTC).isoformat(timespec="seconds"))


# -- Neo4j (the existing launcher) -------------------------------------------------------------------

def _start_neo4j() -> RecordedService | None:
    """Start the local Neo4j; None if it was already running (then it is not ours to stop)."""
    server = Neo4jServer()
    if server.status().running:
        return None
    status = server.start()
    return RecordedService(pid=status.pid, url=status.bolt_url, ui_url=status.browser_url, log_file=status.log_file,
                           home=status.home, started_at=datetime.now(UTC).isoformat(timespec="seconds"))


# -- up / down / status ------------------------------------------------------------------------------

def up(settings: StackSettings, neo4j: bool = False) -> list[ServiceStatus]:
    """Start what is not running yet (a Prefect server; Neo4j with ``neo4j``); running twice is one stack."""
    with _locked(settings):
        path = state_path(settings)
        state = read_state(path)
        prefect = state.services.get("prefect")
        if prefect is None or not _is_our_prefect(prefect):
            state.services["prefect"] = _start_prefect(settings)
            _write_state(path, state)
        recorded_neo4j = state.services.get("neo4j")
        if neo4j and (recorded_neo4j is None or not pid_alive(recorded_neo4j.pid)):
            state.services.pop("neo4j", None)
            started = _start_neo4j()
            if started is not None:
                state.services["neo4j"] = started
            _write_state(path, state)
    return stack_status(settings)


def down(settings: StackSettings) -> list[ServiceStatus]:
    """Stop the processes stack.json records (and nothing else); returns what was stopped."""
    stopped: list[ServiceStatus] = []
    if not state_path(settings).is_file():
        return stopped
    with _locked(settings):
        path = state_path(settings)
        state = read_state(path)
        for name, service in list(state.services.items()):
            if name == "neo4j":
                server = Neo4jServer(home=service.home)
                ours = server.status().pid == service.pid
                if ours:
                    server.stop()
            else:
                ours = _is_our_prefect(service)
                if ours:
                    terminate_group(service.pid, _STOP_TIMEOUT_S)
            if ours:
                stopped.append(ServiceStatus(name, service.url, service.ui_url, service.pid, running=False,
                                             healthy=False, started_by_up=True, log_file=service.log_file))
            del state.services[name]
            _write_state(path, state)
    return stopped


def stack_status(settings: StackSettings) -> list[ServiceStatus]:
    """The Prefect server and the local Neo4j: URL, pid, running, answering, and whether ``up`` started it."""
    state = read_state(state_path(settings))
    prefect = state.services.get("prefect")
    if prefect is not None and _is_our_prefect(prefect):
        prefect_status = ServiceStatus("prefect", prefect.url, prefect.ui_url, prefect.pid, running=True,
                                       healthy=_prefect_healthy(prefect.url), started_by_up=True,
                                       log_file=prefect.log_file)
    else:
        url = _prefect_url(settings.prefect_port)
        prefect_status = ServiceStatus("prefect", url, prefect_ui_url(url), None, running=False,
                                       healthy=False, started_by_up=False)
    recorded = state.services.get("neo4j")
    neo4j = Neo4jServer(home=recorded.home if recorded else None).status()
    neo4j_status = ServiceStatus(
        "neo4j", neo4j.bolt_url, neo4j.browser_url, neo4j.pid, running=neo4j.running,
        healthy=neo4j.running and port_open(neo4j.bolt_port) and http_ok(neo4j.browser_url),
        started_by_up=recorded is not None and recorded.pid == neo4j.pid, log_file=neo4j.log_file)
    return [prefect_status, neo4j_status]


# -- which Prefect API a command uses ----------------------------------------------------------------

def configured_prefect_api_url(environ: MutableMapping[str, str], cwd: Path | None = None) -> str | None:
    """A ``PREFECT_API_URL`` set where Prefect reads it: environment, ``.env``, ``prefect.toml``, profile."""
    folder = cwd or Path.cwd()
    if environ.get("PREFECT_API_URL"):
        return environ["PREFECT_API_URL"]
    dotenv = folder / ".env"
    if dotenv.is_file() and (value := dotenv_values(dotenv).get("PREFECT_API_URL")):
        return value
    if url := _toml_string(folder / "prefect.toml", "api", "url"):
        return url
    home = Path(environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    profiles = Path(environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    active = environ.get("PREFECT_PROFILE") or _toml_string(profiles, "active") or "ephemeral"
    return _toml_string(profiles, "profiles", active, "PREFECT_API_URL")


def use_prefect_api(settings: StackSettings, environ: MutableMapping[str, str] | None = None) -> PrefectApi:
    """Point this process (and its children) at the Prefect API to use, before Prefect is imported.

    A configured URL wins; else the local stack's server if it is alive and answers (exported as
    ``PREFECT_API_URL``); else Prefect's ephemeral server, whose start-up timeout is raised to
    ``settings.prefect_start_timeout_s`` unless ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` is set.
    Prefect reads its settings once, at import: a process that imported it already keeps its API.
    """
    env = os.environ if environ is None else environ
    if "prefect" in sys.modules and environ is None:
        return PrefectApi("preset", env.get("PREFECT_API_URL"))
    if url := configured_prefect_api_url(env):
        return PrefectApi("configured", url)
    service = read_state(state_path(settings)).services.get("prefect")
    if service is not None and _is_our_prefect(service) and _prefect_healthy(service.url):
        env["PREFECT_API_URL"] = service.url
        return PrefectApi("local", service.url)
    env.setdefault(EPHEMERAL_TIMEOUT_ENV, str(settings.prefect_start_timeout_s))
    return PrefectApi("ephemeral", None)


def prefect_start_failure(exc: BaseException, environ: MutableMapping[str, str] | None = None) -> str | None:
    """One line for a failed ephemeral-server start (Prefect's own message is a page of server output)."""
    if _EPHEMERAL_FAILURE not in str(exc):
        return None
    timeout = (os.environ if environ is None else environ).get(EPHEMERAL_TIMEOUT_ENV, "20")
    return (f"Prefect's temporary API server did not start within {timeout} s, so the command did not run and "
            "nothing was written to the graph; start the local stack once with `kgweave up` (commands then use "
            "it and start in seconds), or raise KGWEAVE_PREFECT_START_TIMEOUT_S")


def _toml_string(path: Path, *keys: str) -> str | None:
    """The non-empty string at ``keys`` in a TOML file; None if the file, a key or the string is missing."""
    try:
        with path.open("rb") as fh:
            value: object = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value else None
