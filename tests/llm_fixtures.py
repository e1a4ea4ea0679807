"""Pytest fixture ``llm_server``: a fresh OpenAI-compatible test server (tests/llm_server.py) per test.

Import it into a test module (``from tests.llm_fixtures import llm_server_fixture  # noqa: F401``;
the function has another name than the fixture so test parameters do not shadow the import) or
register this module in ``tests/conftest.py`` with ``pytest_plugins = ["tests.llm_fixtures"]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from kgweave.agents.llm_client import LLMConfig

from tests.llm_server import LLMTestServer

__all__ = ["client_config", "llm_server_fixture"]


@pytest.fixture(name="llm_server")
def llm_server_fixture() -> Iterator[LLMTestServer]:
    """A started test server: ``.base_url``, ``.requests``, ``.script(faults)``, ``.latency_s``, ``.rule``."""
    with LLMTestServer() as server:
        yield server


def client_config(server: LLMTestServer, tmp_path: Path, **kwargs: object) -> LLMConfig:
    """An LLMConfig for the test server: cache under ``tmp_path``, fast backoff, short timeout."""
    from kgweave.agents.llm_client import LLMConfig

    settings: dict[str, object] = {
        "base_url": server.base_url, "model": "test-model", "cache_dir": tmp_path / "cache",
        "backoff_base_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 5.0,
    }
    settings.update(kwargs)
    return LLMConfig.model_validate(settings)
