"""Pytest fixture ``llm_server``: a fresh OpenAI-compatible test server (tests/llm_server.py) per test.

Import it into a test module (``from tests.llm_fixtures import llm_server_fixture  # noqa: F401``;
the function has another name than the fixture so test parameters do not shadow the import) or
register this module in ``tests/conftest.py`` with ``pytest_plugins = ["tests.llm_fixtures"]``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.llm_server import LLMTestServer

__all__ = ["llm_server_fixture"]


@pytest.fixture(name="llm_server")
def llm_server_fixture() -> Iterator[LLMTestServer]:
    """A started test server: ``.base_url``, ``.requests``, ``.script(faults)``, ``.latency_s``, ``.rule``."""
    with LLMTestServer() as server:
        yield server
