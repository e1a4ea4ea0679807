"""agents.llm_options.LLMUsage: the LLM cost of chunks, batches and runs adds itself up."""

from __future__ import annotations

import doctest

import pytest

import kgweave.agents.llm_options as llm_options
from kgweave.agents.extractor import ChunkExtraction
from kgweave.agents.llm_options import LLMUsage
from kgweave.agents.pipeline import BatchResult
from kgweave.graph_store.models import GraphDelta


def test_chunk_results_add_up_to_a_plain_usage() -> None:
    a = ChunkExtraction(chunk_id="c1", llm_calls=3, prompt_tokens=100, completion_tokens=20)  # a re-ask: 3 calls
    b = ChunkExtraction(chunk_id="c2", cached_llm_calls=1)
    total = LLMUsage.total([a, b])
    assert type(total) is LLMUsage
    assert total == LLMUsage(llm_calls=3, cached_llm_calls=1, prompt_tokens=100, completion_tokens=20)
    assert total.tokens == 120 and LLMUsage.total([]) == LLMUsage()
    batch = BatchResult(delta=GraphDelta(run_id="r", extractor="x"), **total.counts())
    assert (batch + batch).counts() == {"llm_calls": 6, "cached_llm_calls": 2, "prompt_tokens": 200,
                                        "completion_tokens": 40}


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError):
        LLMUsage(llm_calls=-1)


def test_the_module_examples_run() -> None:
    assert doctest.testmod(llm_options).failed == 0
