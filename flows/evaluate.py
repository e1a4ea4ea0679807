"""The ``evaluate`` flow: kgweave's built-in evaluations, one request kind each.

- ``relations``: a book's consensus actant graph (from its reviews in the store) against a gold
  relationship CSV (:func:`analysis.evaluation.score_relations`).
- ``masked-nodes``: ResearchBench-style masking: hide papers, rewrite each from its neighbourhood
  with the TextGNN writer (:mod:`agents.text_gnn`), score regenerated vs real abstract by MiniLM
  cosine, next to two baselines (the nearest neighbour paper's abstract; a random paper's abstract).
- ``extractors``: the co-occurrence and LLM extractors on the same documents: sizes and overlap.
- ``extraction``: build a gold set's texts with one extractor into the store, read the predictions back
  and score them against the gold spans (:mod:`analysis.extraction_scores`, gold from
  :mod:`agents.sources.gold`).

Each evaluation is recorded as a run (kind ``eval``) in the store, and publishes a markdown artifact.
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict, Field

from kgweave.agents.actants import ConsensusGraph, name_key, relation_category
from kgweave.agents.book_reviews import book_consensus
from kgweave.agents.pipeline import BatchResult, extract_documents
from kgweave.agents.registry import extractor_fingerprint
from kgweave.agents.sources.files import LoadOptions, load_corpus
from kgweave.agents.sources.gold import GoldLineError, GoldSet, parse_gold
from kgweave.agents.text_gnn import (
    Neighbourhood,
    TextGNNWriter,
    WrittenText,
    nearest_neighbour_paper,
    paper_neighbourhood,
    papers_with_text,
    select_masked,
)
from kgweave.analysis.evaluation import (
    ConsensusEdge,
    ConsensusNode,
    Distribution,
    GoldRelation,
    GraphOverlap,
    RelationScores,
    distribution,
    graph_overlap,
    score_relations,
)
from kgweave.analysis.extraction_scores import (
    CONVENTIONS,
    SCIER_RELATION_TYPES,
    EntityScores,
    ExtractionScores,
    Prf,
    score_extraction,
    stored_predictions,
)
from kgweave.analysis.extraction_scores import RelationScores as SpanRelationScores
from kgweave.flows.extractors import ExtractorChoice, build_extractor, llm_config
from kgweave.flows.monitoring import StageProgress, png_markdown, show_library_logs
from kgweave.flows.settings import StoreSettings
from kgweave.flows.stores import open_flow_store
from kgweave.graph_store.ids import normalize_name
from kgweave.graph_store.models import Document, Run
from kgweave.graph_store.protocol import push_source
from kgweave.graph_store.runs import recorded_run

__all__ = [
    "ControlGold",
    "EvalRequest",
    "ExtractionEval",
    "ExtractionReport",
    "ExtractorsEval",
    "ExtractorsReport",
    "GleaningReport",
    "MaskedNodesEval",
    "MaskedNodesReport",
    "RelationsEval",
    "RelationsReport",
    "evaluate",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ControlGold(_Frozen):
    """Another book's gold list, scored against this book's graph as a negative control."""

    name: str
    gold: tuple[GoldRelation, ...]


class RelationsEval(_Frozen):
    """Score a book's consensus graph against gold relationships."""

    kind: Literal["relations"] = "relations"
    book: str = Field(description="Book id (the reviews' book_id) or title.")
    gold: tuple[GoldRelation, ...]
    gold_file: str | None = None
    min_actant_support: int = Field(default=1, ge=1, description="Reviews that must mention an actant.")
    min_relation_support: int = Field(default=1, ge=1, description="Reviews that must state a relation.")
    controls: tuple[ControlGold, ...] = Field(default=(), description="Other books' gold lists: the negative "
                                              "control (what matching the graph against the wrong book gives).")


class ControlScore(_Frozen):
    gold_file: str
    actant_coverage: float
    relationship_recall: float
    edge_detection_rate: float
    precision: float


class MaskedNodesEval(_Frozen):
    """Hide papers and regenerate their abstracts from their neighbourhoods."""

    kind: Literal["masked-nodes"] = "masked-nodes"
    nodes: int = Field(default=20, ge=1, description="Papers to mask.")
    seed: int = 0
    llm_base_url: str | None = None
    llm_model: str | None = None
    max_llm_calls: int | None = Field(default=None, ge=0)


class ExtractorsEval(_Frozen):
    """Run the co-occurrence and LLM extractors on one corpus and compare their graphs."""

    kind: Literal["extractors"] = "extractors"
    paths: tuple[str, ...]
    domain: str = "auto"
    max_documents: int = Field(default=50, ge=1, description="First N documents of the corpus.")
    chunk_chars: int = Field(default=2000, ge=100)
    llm_base_url: str | None = None
    llm_model: str | None = None
    max_llm_calls: int | None = Field(default=None, ge=0)


class ExtractionEval(_Frozen):
    """Build a gold set's texts with one extractor and score the graph against the gold spans."""

    kind: Literal["extraction"] = "extraction"
    gold_file: str = Field(description="The gold file (agents/sources/gold.py).")
    format: Literal["dygie", "triples"] = "dygie"
    extractor: Literal["cooccurrence", "llm"] = "cooccurrence"
    domain: str = "auto"
    chunk_chars: int = Field(default=2000, ge=100)
    llm_base_url: str | None = None
    llm_model: str | None = None
    max_llm_calls: int | None = Field(default=None, ge=0)
    gleaning: int | None = Field(default=None, ge=0, description="The LLM extractor's extra passes per chunk; "
                                                                 "None = KGWEAVE_LLM_GLEANING.")
    relation_types: dict[str, str] = Field(default_factory=lambda: dict(SCIER_RELATION_TYPES),
                                           description="kgweave relation type -> gold relation type.")


EvalRequest = Annotated[RelationsEval | MaskedNodesEval | ExtractorsEval | ExtractionEval,
                        Field(discriminator="kind")]


class RelationsReport(_Frozen):
    kind: Literal["relations"] = "relations"
    run_id: str
    store: str
    book: str
    book_name: str
    reviews: int
    consensus_actants: int
    consensus_relations: int
    min_actant_support: int
    min_relation_support: int
    scores: RelationScores
    top_actants: list[dict[str, object]]
    filtered: list[dict[str, object]] = Field(default_factory=list, description="Names set aside as about the book "
                                              "(title, authors, other books, reviewing words), with why and support.")
    filtered_by_reason: dict[str, int] = Field(default_factory=dict)
    merges: list[dict[str, object]] = Field(default_factory=list, description="Alias merges with rule and supports.")
    control: list[ControlScore] = Field(default_factory=list)
    control_mean_coverage: float | None = None
    control_mean_recall: float | None = None


class MaskedNode(_Frozen):
    paper: str
    cosine: float | None
    neighbour_baseline: float | None
    random_baseline: float | None
    neighbours: int
    error: str | None = None


class MaskedNodesReport(_Frozen):
    kind: Literal["masked-nodes"] = "masked-nodes"
    run_id: str
    store: str
    model: str
    embedding_model: str
    masked: int
    generated: Distribution = Field(description="Cosine(regenerated abstract, real abstract).")
    neighbour_baseline: Distribution = Field(description="Cosine(nearest neighbour paper's abstract, real).")
    random_baseline: Distribution = Field(description="Cosine(a random other paper's abstract, real).")
    generated_minus_neighbour: Distribution = Field(description="Paired difference, nodes with both scores.")
    failed: int
    llm_calls: int
    cached_llm_calls: int
    tokens: int
    seconds: float
    nodes: list[MaskedNode]


class ExtractorGraph(_Frozen):
    extractor: str
    model: str | None
    entities: int
    relations: int
    labels: dict[str, int]
    failed_chunks: int
    llm_calls: int
    cached_llm_calls: int
    tokens: int


class ExtractorsReport(_Frozen):
    kind: Literal["extractors"] = "extractors"
    run_id: str
    store: str
    documents: int
    chunks: int
    cooccurrence: ExtractorGraph
    llm: ExtractorGraph
    overlap: GraphOverlap = Field(description="a = co-occurrence, b = LLM; entities by normalised name.")
    llm_only_examples: list[str] = Field(description="Entities only the LLM found, most mentioned first.")
    cooccurrence_only_examples: list[str]


class GleaningReport(_Frozen):
    """What the LLM extractor's gleaning passes cost and what they added to the relation scores."""

    passes: int = Field(description="Gleaning passes allowed per chunk (--gleaning).")
    llm_calls: int = Field(description="Their share of llm_calls.")
    tokens: int = Field(description="Their share of tokens.")
    gleaned_relation_observations: int = Field(description="Relation observations only gleaning passes found.")
    relations_without_gleaning: SpanRelationScores = Field(description="Relations scored without those.")
    extra_gold_relations_found: int = Field(description="Gold relations found (overlap) only thanks to gleaning.")
    extra_gold_relations_found_exact: int = Field(description="The same under the exact convention.")
    tokens_per_extra_gold_relation: float | None


class ExtractionReport(_Frozen):
    kind: Literal["extraction"] = "extraction"
    run_id: str
    store: str
    gold_file: str
    format: str
    extractor: str
    model: str | None
    documents: int
    gold_entities: int
    gold_relations: int
    predicted_entities: int = Field(description="Distinct mention spans.")
    predicted_relations: int = Field(description="Distinct unordered mention-span pairs.")
    entities: EntityScores
    relations: SpanRelationScores
    graph_pairs: Prf
    llm_calls: int
    tokens: int
    tokens_per_gold_relation_found: float | None
    gleaning: GleaningReport
    failed_chunks: int
    seconds: float = Field(description="Extraction and writing of the gold texts.")
    documents_per_second: float
    skipped_gold_lines: list[GoldLineError]
    relation_types: dict[str, str]
    conventions: dict[str, str]


# -- relations ---------------------------------------------------------------------------------------

@task(name="book-consensus", cache_policy=NO_CACHE)
def book_consensus_task(store: str, book: str, min_actant_support: int, min_relation_support: int
                        ) -> tuple[str, ConsensusGraph]:
    """The book's per-review actant graphs from the store, aggregated into its consensus graph."""
    entity, consensus = book_consensus(open_flow_store(store), book, min_actant_support, min_relation_support)
    return entity.name, consensus


def _relations(request: RelationsEval, run_id: str, store: str) -> RelationsReport:
    name, consensus = book_consensus_task(store, request.book, request.min_actant_support, request.min_relation_support)
    nodes = [ConsensusNode(name=a.name, aliases=a.aliases, support=a.support) for a in consensus.actants]
    edges = [ConsensusEdge(source=r.source, target=r.target, types=r.types) for r in consensus.relations]
    scores = score_relations(nodes, edges, request.gold, key=name_key, category=relation_category)
    control = []
    for other in request.controls:
        s = score_relations(nodes, edges, other.gold, key=name_key, category=relation_category)
        control.append(ControlScore(gold_file=other.name, actant_coverage=s.actant_coverage,
                                    relationship_recall=s.relationship_recall,
                                    edge_detection_rate=s.edge_detection_rate, precision=s.precision))
    return RelationsReport(
        run_id=run_id, store=store, book=request.book, book_name=name, reviews=consensus.reviews,
        consensus_actants=len(nodes), consensus_relations=len(edges), min_actant_support=request.min_actant_support,
        min_relation_support=request.min_relation_support, scores=scores,
        top_actants=[{"name": a.name, "label": a.label, "support": a.support, "aliases": list(a.aliases)}
                     for a in consensus.actants[:15]],
        filtered=[f.model_dump() for f in consensus.filtered],
        filtered_by_reason=dict(Counter(f.why.split(" (")[0] for f in consensus.filtered)),
        merges=[m.model_dump() for m in consensus.merges],
        control=control,
        control_mean_coverage=_mean([c.actant_coverage for c in control]),
        control_mean_recall=_mean([c.relationship_recall for c in control]),
    )


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


# -- masked nodes ------------------------------------------------------------------------------------

class _Masking(_Frozen):
    real: dict[str, str]
    names: dict[str, str]
    neighbourhoods: tuple[Neighbourhood, ...]
    neighbour_text: dict[str, str]
    random_text: dict[str, str]


@task(name="mask-papers", cache_policy=NO_CACHE)
def mask_papers_task(store: str, nodes: int, seed: int) -> _Masking:
    """Pick the papers to hide, their neighbourhoods (hidden papers send nothing) and baseline texts."""
    graph = open_flow_store(store)
    papers = papers_with_text(graph)
    chosen = select_masked(papers, graph, nodes, seed)
    hidden = {p.id for p in chosen}
    visible = [p for p in papers if p.id not in hidden]
    rng = random.Random(seed + 1)
    neighbour_text, random_text = {}, {}
    for paper in chosen:
        near = nearest_neighbour_paper(graph, paper.id, hidden)
        if near is not None and near.description:
            neighbour_text[paper.id] = near.description
        if visible:
            random_text[paper.id] = rng.choice(visible).description or ""
    return _Masking(
        real={p.id: p.description or "" for p in chosen}, names={p.id: p.name for p in chosen},
        neighbourhoods=tuple(paper_neighbourhood(graph, p.id, hidden) for p in chosen),
        neighbour_text=neighbour_text, random_text=random_text,
    )


@task(name="write-node-texts", cache_policy=NO_CACHE, tags=["llm"])
def write_texts_task(neighbourhoods: tuple[Neighbourhood, ...], base_url: str | None, model: str | None,
                     max_llm_calls: int | None) -> list[WrittenText]:
    """Regenerate each hidden paper's abstract from its neighbourhood (TextGNN message passing)."""
    from kgweave.agents.llm_client import Budget

    budget = Budget(max_calls=max_llm_calls) if max_llm_calls is not None else None
    return TextGNNWriter(llm_config(base_url, model, "kgweave eval masked-nodes"), budget).write(neighbourhoods)


@task(name="embedding-cosines", cache_policy=NO_CACHE)
def cosine_task(pairs: list[tuple[str, str]]) -> list[float]:
    """MiniLM cosine of each (text, reference) pair."""
    from kgweave.agents.embeddings import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    left = embedder.embed([a for a, _ in pairs])
    right = embedder.embed([b for _, b in pairs])
    return [float(x) for x in (left * right).sum(axis=1)] if pairs else []


def _masked_nodes(request: MaskedNodesEval, run_id: str, store: str) -> MaskedNodesReport:
    started = time.perf_counter()
    config = llm_config(request.llm_base_url, request.llm_model, "kgweave eval masked-nodes")
    masking = mask_papers_task(store, request.nodes, request.seed)
    written = write_texts_task(masking.neighbourhoods, request.llm_base_url, request.llm_model, request.max_llm_calls)
    pairs: list[tuple[str, str]] = []
    slots: dict[tuple[str, str], int] = {}
    for item in written:
        for what, text in (("generated", item.text), ("neighbour", masking.neighbour_text.get(item.node_id)),
                           ("random", masking.random_text.get(item.node_id))):
            if text:
                slots[(item.node_id, what)] = len(pairs)
                pairs.append((text, masking.real[item.node_id]))
    cosines = cosine_task(pairs)

    def score(node: str, what: str) -> float | None:
        slot = slots.get((node, what))
        return round(cosines[slot], 4) if slot is not None else None

    sizes = {h.node_id: len(h.neighbours) for h in masking.neighbourhoods}
    nodes = [MaskedNode(paper=masking.names[w.node_id], cosine=score(w.node_id, "generated"),
                        neighbour_baseline=score(w.node_id, "neighbour"), random_baseline=score(w.node_id, "random"),
                        neighbours=sizes[w.node_id], error=w.error) for w in written]
    return MaskedNodesReport(
        run_id=run_id, store=store, model=config.model, embedding_model="all-MiniLM-L6-v2", masked=len(nodes),
        generated=distribution(n.cosine for n in nodes if n.cosine is not None),
        neighbour_baseline=distribution(n.neighbour_baseline for n in nodes if n.neighbour_baseline is not None),
        random_baseline=distribution(n.random_baseline for n in nodes if n.random_baseline is not None),
        generated_minus_neighbour=distribution(n.cosine - n.neighbour_baseline for n in nodes
                                               if n.cosine is not None and n.neighbour_baseline is not None),
        failed=sum(1 for w in written if w.text is None), llm_calls=sum(w.llm_calls for w in written),
        cached_llm_calls=sum(1 for w in written if w.cached), tokens=sum(w.tokens for w in written),
        seconds=round(time.perf_counter() - started, 3), nodes=nodes,
    )


# -- extractors --------------------------------------------------------------------------------------

@task(name="load-eval-corpus", cache_policy=NO_CACHE)
def eval_corpus_task(paths: tuple[str, ...], max_documents: int) -> list[Document]:
    """The first documents of the corpus."""
    documents, _ = load_corpus(list(paths), LoadOptions())
    return documents[:max_documents]


@task(name="extract-with", task_run_name="extract-with-{choice.name}", cache_policy=NO_CACHE)
def extract_with_task(documents: list[Document], choice: ExtractorChoice, run_id: str, chunk_chars: int
                      ) -> BatchResult:
    """Extract the documents with one extractor (nothing is written)."""
    extractor = build_extractor(choice, run_id)
    return extract_documents(documents, extractor, run_id=run_id, fingerprint=extractor_fingerprint(extractor),
                             chunk_chars=chunk_chars)


def _graph_keys(result: BatchResult) -> tuple[Counter[str], set[tuple[str, str]]]:
    names = {e.id: normalize_name(e.name) for e in result.delta.entities}
    mentioned = Counter(names[m.entity_id] for m in result.delta.mentions if m.entity_id in names)
    for key in names.values():
        mentioned.setdefault(key, 0)
    pairs = {(names[r.source_id], names[r.target_id]) for r in result.delta.relations
             if r.source_id in names and r.target_id in names}
    return mentioned, pairs


def _extractor_graph(result: BatchResult) -> ExtractorGraph:
    delta = result.delta
    return ExtractorGraph(
        extractor=delta.extractor, model=delta.model, entities=len({e.id for e in delta.entities}),
        relations=len({r.id for r in delta.relations}), labels=dict(Counter(e.label for e in delta.entities)),
        failed_chunks=len(result.failures), llm_calls=result.llm_calls, cached_llm_calls=result.cached_llm_calls,
        tokens=result.prompt_tokens + result.completion_tokens,
    )


def _extractors(request: ExtractorsEval, run_id: str, store: str) -> ExtractorsReport:
    documents = eval_corpus_task(request.paths, request.max_documents)
    cooc = extract_with_task(documents, ExtractorChoice(name="cooccurrence", domain=request.domain), run_id,
                             request.chunk_chars)
    llm = extract_with_task(documents, ExtractorChoice(
        name="llm", domain=request.domain, llm_base_url=request.llm_base_url, llm_model=request.llm_model,
        max_llm_calls=request.max_llm_calls), run_id, request.chunk_chars)
    a_names, a_pairs = _graph_keys(cooc)
    b_names, b_pairs = _graph_keys(llm)

    def only(x: Counter[str], y: Counter[str]) -> list[str]:
        return [k for k, _ in sorted(((k, v) for k, v in x.items() if k not in y), key=lambda kv: (-kv[1], kv[0]))][:20]

    return ExtractorsReport(
        run_id=run_id, store=store, documents=len(documents), chunks=len(cooc.delta.chunks),
        cooccurrence=_extractor_graph(cooc), llm=_extractor_graph(llm),
        overlap=graph_overlap(a_names, a_pairs, b_names, b_pairs),
        llm_only_examples=only(b_names, a_names), cooccurrence_only_examples=only(a_names, b_names),
    )


# -- extraction against gold spans ----------------------------------------------------------------------

class _Built(_Frozen):
    extractor: str
    model: str | None
    llm_calls: int
    tokens: int
    failed_chunks: int
    seconds: float
    gleaning: int
    gleaning_llm_calls: int
    gleaning_tokens: int
    gleaned_relations: tuple[tuple[str, str], ...]


@task(name="load-gold", cache_policy=NO_CACHE)
def load_gold_task(gold_file: str, fmt: str) -> GoldSet:
    """The gold documents and the lines that could not be read."""
    return parse_gold(Path(gold_file).read_text(encoding="utf-8"), fmt, name=gold_file)


def gold_texts(gold: GoldSet, gold_file: str) -> list[Document]:
    """The gold texts as documents (source ``<file>#<key>``), in gold order."""
    return [Document.from_text(d.text, source=f"{gold_file}#{d.key}", title=d.key) for d in gold.documents]


@task(name="extract-gold-texts", cache_policy=NO_CACHE)
def extract_gold_task(documents: list[Document], choice: ExtractorChoice, run_id: str, chunk_chars: int,
                      store: str) -> _Built:
    """Extract the gold texts with one extractor and write the graph into the store."""
    started = time.perf_counter()
    extractor = build_extractor(choice, run_id)
    result = extract_documents(documents, extractor, run_id=run_id, fingerprint=extractor_fingerprint(extractor),
                               chunk_chars=chunk_chars)
    open_flow_store(store).upsert(result.delta)
    return _Built(extractor=result.delta.extractor, model=result.delta.model, llm_calls=result.llm_calls,
                  tokens=result.tokens, failed_chunks=len(result.failures),
                  seconds=round(time.perf_counter() - started, 3), gleaning=getattr(extractor, "gleaning", 0),
                  gleaning_llm_calls=result.gleaning_usage.llm_calls, gleaning_tokens=result.gleaning_usage.tokens,
                  gleaned_relations=result.gleaned_relations)


@task(name="score-extraction", cache_policy=NO_CACHE)
def score_extraction_task(store: str, gold: GoldSet, document_ids: list[str], relation_types: dict[str, str],
                          exclude_relations: tuple[tuple[str, str], ...] = ()) -> ExtractionScores:
    """Read the gold documents' chunks, mentions and relation evidence back from the store and score them
    (without the relation observations ``exclude_relations`` names)."""
    by_id = stored_predictions(push_source(open_flow_store(store)), document_ids, set(exclude_relations))
    predicted = {g.key: by_id[i] for g, i in zip(gold.documents, document_ids, strict=True) if i in by_id}
    return score_extraction(gold.documents, predicted, relation_types)


def _extraction(request: ExtractionEval, run_id: str, store: str) -> ExtractionReport:
    gold: GoldSet = load_gold_task(request.gold_file, request.format)
    documents = gold_texts(gold, request.gold_file)
    choice = ExtractorChoice(name=request.extractor, domain=request.domain, llm_base_url=request.llm_base_url,
                             llm_model=request.llm_model, max_llm_calls=request.max_llm_calls,
                             gleaning=request.gleaning)
    built = extract_gold_task(documents, choice, run_id, request.chunk_chars, store)
    ids = [d.id for d in documents]
    scores: ExtractionScores = score_extraction_task(store, gold, ids, request.relation_types)
    without: ExtractionScores = score_extraction_task(
        store, gold, ids, request.relation_types, built.gleaned_relations) if built.gleaned_relations else scores
    found = scores.relations.overlap.found_gold
    extra = found - without.relations.overlap.found_gold
    gleaning = GleaningReport(
        passes=built.gleaning, llm_calls=built.gleaning_llm_calls, tokens=built.gleaning_tokens,
        gleaned_relation_observations=len(built.gleaned_relations), relations_without_gleaning=without.relations,
        extra_gold_relations_found=extra,
        extra_gold_relations_found_exact=scores.relations.exact.found_gold - without.relations.exact.found_gold,
        tokens_per_extra_gold_relation=round(built.gleaning_tokens / extra, 2) if extra else None,
    )
    return ExtractionReport(
        run_id=run_id, store=store, gold_file=request.gold_file, format=request.format, extractor=built.extractor,
        model=built.model, **scores.model_dump(exclude={"documents"}),
        documents=len(documents), llm_calls=built.llm_calls, tokens=built.tokens,
        tokens_per_gold_relation_found=round(built.tokens / found, 2) if found else None, gleaning=gleaning,
        failed_chunks=built.failed_chunks, seconds=built.seconds,
        documents_per_second=round(len(documents) / built.seconds, 2) if built.seconds else 0.0,
        skipped_gold_lines=list(gold.errors), relation_types=request.relation_types, conventions=dict(CONVENTIONS),
    )


# -- the flow ----------------------------------------------------------------------------------------

EvalReport = RelationsReport | MaskedNodesReport | ExtractorsReport | ExtractionReport


@flow(name="evaluate", flow_run_name="evaluate-{run_id}", log_prints=False)
def evaluate(request: EvalRequest, run_id: str, store: str | None = None) -> EvalReport:
    """Run one evaluation against the store (default: the configured one); an ``eval`` run with an artifact."""
    store = store or StoreSettings().store
    logger = get_run_logger()
    show_library_logs()
    progress = StageProgress(f"evaluate-{request.kind}-progress", ("evaluate",), f"{request.kind} evaluation {run_id}")
    graph = open_flow_store(store)
    run = Run(id=run_id, kind="eval", parameters={"evaluation": request.kind})
    with recorded_run(graph, run) as record:
        if isinstance(request, RelationsEval):
            report: EvalReport = _relations(request, run_id, store)
        elif isinstance(request, MaskedNodesEval):
            report = _masked_nodes(request, run_id, store)
        elif isinstance(request, ExtractionEval):
            report = _extraction(request, run_id, store)
        else:
            report = _extractors(request, run_id, store)
        progress.done("evaluate")
        record.finish(summary=_flat(report.model_dump()))
    create_markdown_artifact(_markdown(report) + _scores_plot(report), key=f"evaluate-{request.kind}",
                             description=f"{request.kind} evaluation {run_id}")
    logger.info("evaluation %s (%s) done", run_id, request.kind)
    return report


_SCORE = re.compile(r"(precision|recall|f1|coverage|rate|jaccard|agreement|accuracy|auc|cosine|baseline"
                    r"|found_by_[ab])$")  # the last part of a flattened report key that names a share
_MAX_BARS = 30


def _scores_plot(report: EvalReport) -> str:
    """The report's scores (shares between 0 and 1, by name) as an embedded bar chart; empty if it has none."""
    scores = {k: float(v) for k, v in _flat(report.model_dump()).items()
              if _SCORE.search(k) and isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1}
    if not scores:
        return ""
    from kgweave.analysis.report_files import plot_scores

    with tempfile.TemporaryDirectory(prefix="kgweave-eval-") as folder:
        path = plot_scores(dict(list(scores.items())[:_MAX_BARS]), Path(folder) / "scores.png",
                           f"{report.kind} evaluation {report.run_id}")
        return "\n" + png_markdown(path, "scores")


def _flat(data: dict[str, object], prefix: str = "") -> dict[str, str | int | float | bool | None]:
    """Numbers and strings of a report, nested keys joined by dots (a run's summary)."""
    out: dict[str, str | int | float | bool | None] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, str | int | float | bool) or value is None:
            out[f"{prefix}{key}"] = value
    return out


def _markdown(report: EvalReport) -> str:
    if isinstance(report, ExtractionReport):
        return _extraction_markdown(report)
    rows = "\n".join(f"| {k} | {v} |" for k, v in _flat(report.model_dump()).items())
    return f"# {report.kind} evaluation {report.run_id}\n\n| measure | value |\n|---|---|\n{rows}\n"


def _extraction_markdown(report: ExtractionReport) -> str:
    rows = [("entities, exact span", report.entities.exact), ("entities, overlap", report.entities.overlap),
            ("relations, exact ends", report.relations.exact),
            ("relations, overlapping ends", report.relations.overlap),
            ("relations, typed (overlap)", report.relations.typed), ("graph pairs (names)", report.graph_pairs)]
    table = "\n".join(f"| {name} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.predicted} | {s.gold} |"
                      for name, s in rows)
    types = "\n".join(f"| {t} | {r.gold} | {r.exact_recall:.3f} | {r.overlap_recall:.3f} |"
                      for t, r in report.entities.by_type.items())
    conventions = "\n".join(f"- **{k}**: {v}" for k, v in report.conventions.items())
    return (f"# extraction evaluation {report.run_id}\n\n{report.extractor} ({report.model or 'offline'}) on "
            f"`{report.gold_file}` ({report.format}): {report.documents} documents, {report.gold_entities} gold "
            f"entities, {report.gold_relations} gold relations; {report.documents_per_second} documents/s, "
            f"{report.llm_calls} LLM calls, {report.tokens} tokens{_gleaning_line(report.gleaning)}\n\n"
            f"| measure | precision | recall | F1 | predicted | gold |\n|---|---|---|---|---|---|\n{table}\n\n"
            f"| gold type | gold | exact recall | overlap recall |\n|---|---|---|---|\n{types}\n\n"
            f"## Conventions\n\n{conventions}\n")


def _gleaning_line(gleaning: GleaningReport) -> str:
    if not gleaning.passes:
        return ""
    return (f"; gleaning (up to {gleaning.passes} passes): {gleaning.llm_calls} LLM calls, {gleaning.tokens} "
            f"tokens, {gleaning.extra_gold_relations_found} more gold relations found")
