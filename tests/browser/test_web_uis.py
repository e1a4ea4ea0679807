"""The two web pages people use, in a real headless Chromium: Neo4j Browser and the Prefect UI.

One stack per module: the session's Neo4j from the launcher (Neo4j Browser is served on its HTTP port), a
``prefect server start`` with its UI, and two real ``kgweave`` CLI runs against both (``build`` of the sample
corpus, ``analyze --write-back``), started as a user starts them (no PREFECT_LOGGING_LEVEL of ours).

Chromium is Debian's ``chromium`` package (``make chromium``), driven by Playwright's Python API through
``executable_path`` (Playwright's own browser download is not used). Without it the tests skip; with
``CI=true`` they fail. Every test saves its screenshots under ``$KGWEAVE_TEST_ARTIFACTS/browser`` (default: a
pytest temporary folder), before it asserts, so a failure has its picture.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from kgweave.deploy.neo4j_browser import ready_queries
from tests.conftest import SAMPLE_CORPUS, require
from tests.integration.neo4j_fixture import Neo4jConnection
from tests.prefect_server import running_prefect_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [pytest.mark.browser, pytest.mark.integration]

TIMEOUT_MS = 30_000
# Two ready queries of deploy/neo4j/queries.cypher that return paths, so Browser draws them
DRAWN_QUERIES = ("neighbourhood-picture", "community-bridges-picture")  # the graph-view versions


def chromium_path() -> str | None:
    """``$KGWEAVE_CHROMIUM``, else Debian's ``chromium`` on PATH."""
    return os.environ.get("KGWEAVE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$KGWEAVE_TEST_ARTIFACTS/browser``, else a pytest temporary folder."""
    root = os.environ.get("KGWEAVE_TEST_ARTIFACTS")
    folder = Path(root) / "browser" if root else tmp_path_factory.mktemp("browser-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless system Chromium under Playwright."""
    require(importlib.util.find_spec("playwright") is not None, "Playwright is not installed (the dev extra)")
    executable = chromium_path()
    require(executable is not None, "Chromium is not installed (make chromium: apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page (its own cookies and storage) with explicit-wait timeouts."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    context.close()


@dataclass(frozen=True)
class Stack:
    """The servers and what the CLI runs wrote to them."""

    neo4j: Neo4jConnection
    browser_url: str
    api_url: str
    ui_url: str
    build: dict[str, Any]
    build_run_id: str
    analyze_run_id: str


def _api(api_url: str, path: str, body: dict[str, object]) -> list[dict[str, Any]]:
    request = urllib.request.Request(f"{api_url}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the test's own server)
        return json.loads(response.read())  # type: ignore[no-any-return]


def _only_flow_run(api_url: str, flow: str) -> str:
    """The id of the one run of ``flow`` on this (fresh) server."""
    runs = _api(api_url, "/flow_runs/filter", {"flows": {"name": {"any_": [flow]}}})
    assert len(runs) == 1, f"expected one {flow} run on the test server, found {len(runs)}"
    assert runs[0]["state_type"] == "COMPLETED", runs[0]["state"]
    return str(runs[0]["id"])


@pytest.fixture(scope="module")
def stack(neo4j_server: Neo4jConnection, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Sample corpus built into the session's Neo4j and analysed, both as CLI runs on a Prefect server with UI."""
    require(neo4j_server.http_url is not None, "Neo4j Browser needs the launcher's Neo4j (KGWEAVE_TEST_NEO4J_URL set)")
    from kgweave.graph_store.neo4j_store import Neo4jGraphStore

    def clear() -> None:
        with Neo4jGraphStore(neo4j_server.url, user=neo4j_server.user, password=neo4j_server.password) as store:
            store.clear()

    clear()
    work = tmp_path_factory.mktemp("browser-stack")
    with running_prefect_server(work / "prefect", ui=True) as server:
        # as a user runs the CLI: its own logging defaults, not the test helpers' PREFECT_LOGGING_LEVEL=INFO
        env = {k: v for k, v in server.env().items() if k != "PREFECT_LOGGING_LEVEL"}
        env.update(KGWEAVE_NEO4J_PASSWORD=neo4j_server.password, KGWEAVE_NEO4J_USER=neo4j_server.user)
        outputs = []
        for args in (["build", str(SAMPLE_CORPUS)], ["analyze", "--write-back", "--report", str(work / "report")]):
            done = subprocess.run([sys.executable, "-m", "kgweave.flows.cli", *args, "--store", neo4j_server.url,
                                   "--json"], cwd=work, env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, f"kgweave {args[0]}: {done.stderr[-2000:]}"
            outputs.append(json.loads(done.stdout))
        yield Stack(
            neo4j=neo4j_server, browser_url=f"{neo4j_server.http_url}browser/", api_url=server.url,
            ui_url=server.url.removesuffix("/api"), build=outputs[0],
            build_run_id=_only_flow_run(server.url, "build-graph"),
            analyze_run_id=_only_flow_run(server.url, "analyze-graph"),
        )
    clear()  # the session's Neo4j is shared: leave it empty for the next module


# -- Neo4j Browser -------------------------------------------------------------------------------------------


def _drawn_nodes(stack: Stack, query: str, params: str) -> dict[str, str]:
    """Element id -> name of the nodes on the query's paths, read with the driver (what Browser should draw)."""
    import neo4j

    with neo4j.GraphDatabase.driver(stack.neo4j.url, auth=(stack.neo4j.user, stack.neo4j.password)) as driver:
        values = driver.execute_query(f"RETURN {params} AS params").records[0]["params"]
        records = driver.execute_query(query, values).records
    return {node.element_id: " ".join(str(node["name"]).split()) for record in records for value in record.values()
            if isinstance(value, neo4j.graph.Path) for node in value.nodes}


def _run_in_browser(page: Page, command: str) -> Locator:
    """Type ``command`` on one line into the main editor, run it, return its result frame (the newest)."""
    line = " ".join(command.split())
    page.locator("#monaco-main-editor").click()
    page.keyboard.insert_text(line)
    page.get_by_test_id("editor-Run").click()
    frame = page.get_by_test_id("frame").filter(has=page.get_by_test_id("frameCommand").filter(has_text=line[:40]))
    frame.first.wait_for()
    return frame.first


def test_neo4j_browser_logs_in_and_draws_ready_queries_with_captions(stack: Stack, page: Page,
                                                                     screenshots: Path) -> None:
    page.goto(f"{stack.browser_url}?dbms={stack.neo4j.url.replace('://', f'://{stack.neo4j.user}@')}&db=neo4j")
    page.get_by_test_id("password").fill(stack.neo4j.password)
    page.get_by_test_id("connect").click()
    page.get_by_text("You are connected as user").wait_for()
    page.screenshot(path=screenshots / "neo4j-browser-connected.png")

    queries = ready_queries()
    for name in DRAWN_QUERIES:
        query = queries[name]
        _run_in_browser(page, f":params {query.params}")
        frame = _run_in_browser(page, query.text)
        frame.locator("g.node text.caption").first.wait_for()
        frame.screenshot(path=screenshots / f"neo4j-browser-{name}.png")

        nodes = _drawn_nodes(stack, query.text, query.params)
        expected = set(nodes.values())
        assert nodes, f"{name} returns no path on the sample corpus: nothing to draw"
        captions = frame.locator("g.node").evaluate_all(
            "nodes => nodes.map(n => [...n.querySelectorAll('text.caption')].map(t => t.textContent.trim()).join(' '))")
        # each node once, whatever "Connect result nodes" adds among them
        assert len(captions) == len(nodes), f"{name}: {len(captions)} nodes drawn, {len(nodes)} on its paths"
        for caption in captions:
            shown = caption.removesuffix("…").strip()  # Browser cuts long captions with an ellipsis
            assert shown, f"{name}: a node is drawn without a caption"
            assert any(full.startswith(shown) for full in expected), f"{name}: caption {caption!r} names no node"


# -- Prefect UI ----------------------------------------------------------------------------------------------


def _open_artifacts_tab(page: Page, stack: Stack, flow_run_id: str) -> Locator:
    """The flow run's page on its Artifacts tab; returns the artifact cards."""
    page.goto(f"{stack.ui_url}/runs/flow-run/{flow_run_id}")
    page.locator("li.p-tab#artifacts").click()
    cards = page.locator('a[href^="/artifacts/artifact/"]').filter(has=page.locator(".artifact-card__title"))
    cards.first.wait_for()
    return cards


def test_prefect_ui_shows_the_build_runs_summary_artifact(stack: Stack, page: Page, screenshots: Path) -> None:
    cards = _open_artifacts_tab(page, stack, stack.build_run_id)
    page.screenshot(path=screenshots / "prefect-build-artifacts.png", full_page=True)
    summary = cards.filter(has=page.locator(".artifact-card__title", has_text="build-graph-summary"))
    assert summary.count() == 1, page.locator(".artifact-card__title").all_inner_texts()

    summary.click()
    run_id = stack.build["run_id"]
    heading = page.get_by_role("heading", name=f"build-graph {run_id}: completed")
    heading.wait_for()
    page.screenshot(path=screenshots / "prefect-build-summary.png", full_page=True)
    body = page.locator(".markdown-renderer").filter(has=heading)  # not the description's renderer above it
    assert f"now holds {stack.build['documents']} documents" in body.inner_text()
    assert body.locator("table").count() >= 1  # the per-label table renders as a table


def test_prefect_ui_shows_the_build_runs_logs(stack: Stack, page: Page, screenshots: Path) -> None:
    page.goto(f"{stack.ui_url}/runs/flow-run/{stack.build_run_id}")  # the Logs tab is the default
    rows = page.locator(".log-row")
    rows.or_(page.get_by_text("This run didn't generate logs")).first.wait_for()
    page.screenshot(path=screenshots / "prefect-build-logs.png", full_page=True)
    # DEPENDS ON the change "CLI runs send their logs (INFO and up, library loggers included) to the API"
    # (issue 21, another branch): until it is merged the CLI's PREFECT_LOGGING_LEVEL=WARNING keeps every
    # record from the server and the page says "This run didn't generate logs". Strict on purpose.
    assert rows.count() > 0, "the CLI build run sent no logs to the Prefect API"
    assert rows.locator(".log-row__content", has_text="Finished in state Completed").count() >= 1
    loggers = rows.locator(".log-row__logger").all_inner_texts()
    assert any(name.strip().startswith("kgweave.") for name in loggers), f"no kgweave library log: {loggers}"


def test_prefect_ui_shows_the_analyze_runs_plots_as_images(stack: Stack, page: Page, screenshots: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    cards = _open_artifacts_tab(page, stack, stack.analyze_run_id)
    page.screenshot(path=screenshots / "prefect-analyze-artifacts.png", full_page=True)
    titles = page.locator(".artifact-card__title").all_inner_texts()
    assert "analyze-graph-summary" in [t.strip() for t in titles], titles

    markdown = cards.filter(has=page.locator(".artifact-card__subheader", has_text="markdown"))
    links = [str(href) for href in markdown.evaluate_all("cards => cards.map(c => c.getAttribute('href'))")]
    shown = 0
    for k, href in enumerate(links):
        page.goto(f"{stack.ui_url}{href}")
        page.get_by_role("button", name="Show raw data").wait_for()  # drawn with the artifact's body
        images = page.locator('.markdown-renderer img[src^="data:image/png;base64,"]')
        try:  # the body renders after the button: wait for its images rather than count them at once
            images.first.wait_for(timeout=10_000)
        except PlaywrightTimeoutError:
            continue  # a markdown artifact without images
        if images.count():
            images.first.scroll_into_view_if_needed()
            page.screenshot(path=screenshots / f"prefect-analyze-plot-{k}.png", full_page=True)
            decoded = images.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
            assert all(decoded), f"{href}: an embedded PNG does not decode"
            shown += len(decoded)
    # DEPENDS ON the change "plots as markdown artifacts with the images embedded (data URIs)" (issue 21,
    # another branch): today analyze publishes tables and a text summary only. Strict on purpose.
    assert shown >= 1, f"no markdown artifact of the analyze run shows an embedded PNG plot ({len(links)} read)"
