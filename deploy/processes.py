"""Background servers kgweave starts itself (the Neo4j launcher, ``kgweave up``): liveness, identity, stop.

Only the standard library is used, so the commands that manage servers never import a driver or Prefect.
A server is started with ``start_new_session=True`` and leads its own process group, so stopping the
group stops whatever it spawned; a recorded pid only counts while ``/proc/PID/cmdline`` still holds the
marker of the program we started (a recycled pid belongs to someone else).
"""

from __future__ import annotations

import os
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

__all__ = ["cmdline", "group_pids", "http_ok", "pid_alive", "port_open", "rss_bytes", "terminate_group"]


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _proc_state(pid) not in ("Z", "X")


def cmdline(pid: int) -> str | None:
    """The command line of ``pid`` (arguments joined by spaces); None if gone or not on Linux."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None


def group_pids(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (Linux /proc; empty elsewhere)."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            pids.append(int(entry.name))
    return sorted(pids)


def terminate_group(pid: int, timeout_s: float, alive: Callable[[int], bool] = pid_alive) -> bool:
    """SIGTERM the group led by ``pid``, SIGKILL it after ``timeout_s``; False if it had to be killed."""
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not alive(pid):
        return True
    _signal_group(pid, signal.SIGKILL)
    while alive(pid):
        time.sleep(0.1)
    return False


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str, timeout_s: float = 2.0) -> bool:
    """True if a GET of ``url`` answers 2xx within ``timeout_s``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 (loopback URLs we built)
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def rss_bytes(pid: int) -> int | None:
    """Resident memory of ``pid`` in bytes (Linux); None if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]
