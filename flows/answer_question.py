"""The ``answer-question`` flow (``kgweave ask``): retrieval and an answer from the graph, recorded as a run.

:func:`ask_store` does the work (:func:`agents.answering.ask` inside a run of kind ``ask``); the flow only
wires it and publishes a markdown artifact.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from kgweave.agents.answering import AskResult, ask, question_embedder
from kgweave.agents.llm_client import LLMConfig
from kgweave.agents.llm_options import CallRunner, call_directly
from kgweave.analysis.retrieval import AskOptions, MentionEmbedder
from kgweave.flows.llm_tasks import run_llm_task
from kgweave.flows.monitoring import default_run_id, run_name, show_library_logs
from kgweave.flows.settings import StoreSettings
from kgweave.flows.stores import open_flow_store
from kgweave.graph_store.models import Run
from kgweave.graph_store.protocol import GraphStore
from kgweave.graph_store.runs import recorded_run

__all__ = ["answer_markdown", "answer_question", "ask_store"]

_QUESTION_CHARS = 200  # of the question kept in the run record's parameters


def ask_store(store: GraphStore, question: str, run_id: str, options: AskOptions | None = None,
              config: LLMConfig | None = None, embedder: MentionEmbedder | None = None,
              run_call: CallRunner = call_directly) -> AskResult:
    """:func:`agents.answering.ask` recorded as a run of kind ``ask`` (failed, with the reason, if it raises)."""
    opts = options or AskOptions()
    run = Run(id=run_id, kind="ask", model=config.model if config and opts.use_llm else None,
              parameters={"question": question[:_QUESTION_CHARS], "mode": opts.mode, "hops": opts.hops,
                          "top": opts.top, "use_llm": opts.use_llm})
    with recorded_run(store, run) as record:
        result = ask(store, question, opts, config, embedder, run_call)
        record.finish(summary={"linked_entities": len(result.linked_entities), "evidence": len(result.evidence),
                               "citations": len(result.citations), "dropped_citations": result.dropped_citations,
                               "llm_calls": result.llm_calls, "tokens": result.tokens, "seconds": result.seconds,
                               "error": result.error})
    return result


def answer_markdown(result: AskResult) -> str:
    """The run's artifact: the question, the links, the answer and its evidence table."""
    links = ", ".join(f"{link.mention} -> {link.name}" for link in result.linked_entities)
    lines = [f"# {result.question}", "", f"Mode {result.mode}; linked: {links}.", ""]
    if result.answer is not None:
        cited = ", ".join(c.chunk_id for c in result.citations) or "none"
        lines += [f"**Answer** (confidence {result.confidence}): {result.answer}", "",
                  f"Cited chunks: {cited}; dropped citations: {result.dropped_citations}.", ""]
    elif result.error:
        lines += [f"No answer: {result.error}", ""]
    for step in result.walk:
        lines.append(f"- walk: {step.text()} ({step.reason})")
    lines += ["", "| source | relation | target | chunk | span | text |", "|---|---|---|---|---|---|"]
    for item in result.evidence:
        text = item.text.replace("|", "\\|").replace("\n", " ")[:160]
        lines.append(f"| {item.source} | {item.relation} | {item.target} | {item.chunk_id or '-'} | "
                     f"{item.start}-{item.end} | {text} |")
    return "\n".join(lines) + "\n"


@flow(name="answer-question", flow_run_name=run_name("answer-question", "ask"), log_prints=False)
def answer_question(
    question: str,
    store: str | None = None,
    run_id: str | None = None,
    options: AskOptions | None = None,
    llm_base_url: str | None = None,
    llm_model: str | None = None,
) -> dict[str, object]:
    """Answer ``question`` from the graph at ``store`` (default: the configured one); with ``options.use_llm``
    the endpoint is ``llm_base_url``/``llm_model`` or ``KGWEAVE_LLM_*``."""
    show_library_logs()
    run_id = run_id or default_run_id("ask")
    opts = options or AskOptions()
    config = None
    if opts.use_llm:
        from kgweave.flows.extractors import llm_config

        config = llm_config(llm_base_url, llm_model, "kgweave ask")
    result = ask_store(open_flow_store(store or StoreSettings().store), question, run_id, opts, config,
                       question_embedder(opts), run_llm_task)
    create_markdown_artifact(answer_markdown(result), key="answer-question-summary",
                             description=f"Answer and evidence ({run_id})")
    get_run_logger().info("asked %r: %d evidence items, %d citations", question[:80], len(result.evidence),
                          len(result.citations))
    return {"run_id": run_id, **result.model_dump(mode="json")}
