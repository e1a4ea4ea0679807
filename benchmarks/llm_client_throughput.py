"""Requests/s of LLMClient through the OpenAI-compatible test server, against the ideal.

The test server answers every chat request after a fixed latency (200 ms by default), so with
``concurrency`` requests in flight the ideal rate is ``concurrency / latency``. The client runs
``rounds * concurrency`` distinct structured-output calls (cache off, real ``openai`` client over
HTTP on localhost) at each concurrency level and reports the measured rate and its ratio to the
ideal: the client's own overhead (request building, JSON schema, validation, retries bookkeeping)
and the concurrency bound show up as a ratio below 1. Target: >= 0.9 at 32. Beside it, bare
``http.client`` threads send the same requests (``raw_http_ratio``): what the server, the OS and the
machine allow at all, so a busy machine shows up as both ratios dropping. The server runs in its
own process by default (``--in-process`` puts it in a thread here, sharing the GIL with the client).

Prints one JSON object. Usage: python benchmarks/llm_client_throughput.py [--latency 0.2]
[--levels 1 8 32] [--rounds 15] [--in-process]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import platform
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kgweave.agents.domains import build_messages, get_domain  # noqa: E402
from kgweave.agents.domains.text import TextExtraction  # noqa: E402
from kgweave.agents.llm_client import LLMClient, LLMConfig  # noqa: E402
from kgweave.agents.schemas import strict_json_schema  # noqa: E402
from tests.llm_server import LLMTestServer  # noqa: E402

TEXT = (
    "Graph Neural Networks (GNNs) learn node representations by message passing. "
    "We evaluate GraphSAGE and GCN on the Cora and PubMed datasets and report accuracy."
)


async def _run_level(config: LLMConfig, requests: int) -> tuple[float, int]:
    """Seconds to complete ``requests`` distinct calls, and how many came back valid.

    One warm-up call per slot first, so the timed calls reuse open connections (steady state).
    """
    async with LLMClient(config) as client:
        await asyncio.gather(*(
            client.complete_json(build_messages("text", f"Warm-up {i}. {TEXT}"), TextExtraction, "s", "bench")
            for i in range(config.concurrency)
        ))
        started = time.perf_counter()
        results = await asyncio.gather(*(
            client.complete_json(build_messages("text", f"Record {i}. {TEXT}"), TextExtraction,
                                 get_domain("text").schema_name, "bench")
            for i in range(requests)
        ))
        return time.perf_counter() - started, sum(r.ok for r in results)


def _raw_rate(base_url: str, concurrency: int, requests: int) -> float:
    """Requests/s of bare http.client threads posting the same kind of body (the server's and OS's ceiling)."""
    schema = strict_json_schema(TextExtraction)
    url = urllib.parse.urlsplit(base_url)
    per_thread = max(1, requests // concurrency)

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
        try:
            for i in range(per_thread):
                body = json.dumps({
                    "model": "bench-model", "messages": build_messages("text", f"Raw {index}-{i}. {TEXT}"),
                    "response_format": {"type": "json_schema",
                                        "json_schema": {"name": "s", "schema": schema, "strict": True}},
                })
                connection.request("POST", f"{url.path}/chat/completions", body, {"Content-Type": "application/json"})
                connection.getresponse().read()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_thread * concurrency / (time.perf_counter() - started)


def _stats(base_url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base_url}/_test/stats", timeout=10) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def _server_process(latency: float) -> Iterator[str]:
    """The test server in its own process (so it does not compete with the client for the GIL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.llm_server", "--latency", str(latency)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="server latency per request, seconds")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32], help="concurrency levels")
    parser.add_argument("--rounds", type=int, default=15, help="requests per level = rounds * concurrency")
    parser.add_argument("--in-process", action="store_true",
                        help="run the server in this process (it then shares the GIL with the client)")
    args = parser.parse_args()
    levels = []
    with contextlib.ExitStack() as stack:
        if args.in_process:
            server = stack.enter_context(LLMTestServer())
            server.latency_s = args.latency
            base_url = server.base_url
        else:
            base_url = stack.enter_context(_server_process(args.latency))
        for concurrency in args.levels:
            config = LLMConfig(base_url=base_url, model="bench-model", cache_dir=None,
                               concurrency=concurrency, timeout_s=30.0)
            requests = args.rounds * concurrency
            before = _stats(base_url)["chat_requests"]
            seconds, valid = asyncio.run(_run_level(config, requests))
            after = _stats(base_url)
            rate = requests / seconds
            ideal = concurrency / args.latency
            raw = _raw_rate(base_url, concurrency, requests)
            levels.append({
                "concurrency": concurrency, "requests": requests, "valid": valid,
                "server_requests": after["chat_requests"] - before - concurrency,  # minus the warm-up calls
                "seconds": round(seconds, 3), "requests_per_s": round(rate, 2),
                "ideal_requests_per_s": round(ideal, 2), "ratio": round(rate / ideal, 3),
                "raw_http_requests_per_s": round(raw, 2), "raw_http_ratio": round(raw / ideal, 3),
                "server_max_in_flight_so_far": after["max_in_flight"],
            })
    by_level = {level["concurrency"]: level["ratio"] for level in levels}
    print(json.dumps({
        "benchmark": "llm_client_throughput",
        "server": "in-process thread" if args.in_process else "separate process",
        "latency_s": args.latency,
        "levels": levels,
        "ratio_at_32": by_level.get(32),
        "target_ratio_at_32": 0.9,
        "meets_target": by_level[32] >= 0.9 if 32 in by_level else None,
        "python": platform.python_version(),
        "openai": version("openai"),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
