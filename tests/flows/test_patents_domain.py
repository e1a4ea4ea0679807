"""Adding a domain is one file plus one registration line: a ``patents`` domain defined here, built for real.

Everything the domain needs is in this file (its schema, prompt, record parser and graph); the only
other line is ``register(PATENTS)`` in the fixture. The build goes through the real ``build-graph``
flow (in this process, so it sees the registration) with the LLM extractor against the test server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from kgweave.agents.domains import (
    Domain,
    RawRecord,
    RecordSource,
    UnknownDomainError,
    build_messages,
    domain_choices,
    domain_help,
    record_domains,
    register,
    unregister,
)
from kgweave.agents.domains.record_fields import text_of
from kgweave.agents.prompts import DomainPrompt
from kgweave.agents.record_graph import RecordGraph, RecordGraphBuilder
from kgweave.agents.schemas import MAX_ENTITIES, EntityOutput, ExtractionOutput
from kgweave.flows.build_graph import build_graph
from kgweave.flows.extractors import ExtractorChoice
from kgweave.flows.stores import close_flow_stores
from kgweave.graph_store.models import Document, Entity
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.llm_fixtures import llm_server_fixture  # noqa: F401
from tests.llm_server import LLMTestServer

pytestmark = pytest.mark.usefixtures("prefect_api")


# -- the domain: one file ----------------------------------------------------------------------------

class PatentsEntity(EntityOutput):
    """An entity of a patent claim."""

    type: Literal["Device", "Component", "Material", "Process"] = Field(
        description="Device (the claimed invention), Component (a part of it), Material, Process (a method step)."
    )


class PatentsExtraction(ExtractionOutput):
    """Parts, materials and steps a patent claims, and how they relate."""

    entities: tuple[PatentsEntity, ...] = Field(
        default=(), max_length=MAX_ENTITIES, description="Entities the claims mention, most important first."
    )


class PatentRecord(BaseModel):
    """One patent: its title and the text of its claims."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    source: str
    title: str = Field(min_length=1)
    claims: str = Field(min_length=1)


def _kind(raw: RawRecord) -> str | None:
    return "patent" if "title" in raw and "claims" in raw else None


def _parse(raw: RawRecord, kind: str, source: str, area: str | None) -> PatentRecord:
    return PatentRecord(source=source, title=text_of(raw, "title") or "", claims=text_of(raw, "claims") or "")


def _graph(records: Sequence[BaseModel]) -> RecordGraph:
    builder = RecordGraphBuilder()
    for record in records:
        assert isinstance(record, PatentRecord)
        patent = builder.entity(Entity.named(record.title, "Patent"))
        builder.text(Document.from_text(record.claims, source=record.source, title=record.title,
                                        metadata={"kind": "claims"}), patent)
    return builder.build()


PATENTS = Domain(
    name="patents",
    schema=PatentsExtraction,
    prompt=DomainPrompt(version="patents-v1", subject="patent claim",
                        guidance="- The claimed device is one entity; each part, material and step its own.\n",
                        examples="HAS_PART, MADE_OF, CONNECTED_TO, PERFORMS"),
    records=RecordSource(expected="a patent (title and claims)", describes="patents (title, claims)",
                         kind=_kind, parse=_parse, graph=_graph),
)


# -- the registration line, and tests ----------------------------------------------------------------

@pytest.fixture
def patents() -> Iterator[Domain]:
    register(PATENTS)
    yield PATENTS
    unregister(PATENTS.name)
    close_flow_stores()


CLAIMS = [
    {"title": "Wind Turbine With Flexible Blades",
     "claims": "A Wind Turbine comprising a Rotor Blade made of Carbon Fibre. The Rotor Blade is fixed to a Hub "
               "Assembly by a Steel Flange."},
    {"title": "Solar Roof Tile",
     "claims": "A Roof Tile comprising a Glass Cover and a Silicon Cell. The Silicon Cell is laminated under the "
               "Glass Cover."},
    {"title": "Bad Claims", "claims": ["not", "text"]},
    {"title": "Battery Separator",
     "claims": "A Separator Film of Porous Polyethylene placed between the Anode Layer and the Cathode Layer."},
]


def test_a_registered_domain_is_built_through_the_build_flow(
    patents: Domain, llm_server: LLMTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KGWEAVE_LLM_CACHE_DIR", str(tmp_path / "llm-cache"))
    corpus = tmp_path / "patents.jsonl"
    corpus.write_text("".join(json.dumps(c) + "\n" for c in CLAIMS), "utf-8")
    db = tmp_path / "patents.db"
    choice = ExtractorChoice(name="llm", domain="patents", llm_base_url=llm_server.base_url, llm_model="m")

    summary = build_graph(paths=[str(corpus)], run_id="patents-1", store=str(db), extractor=choice)

    assert summary.domain == "patents" and summary.status == "completed_with_failures"
    assert summary.documents == 3 and summary.failed_chunks == 0
    assert [(f.source.rsplit(":", 1)[-1], f.reason.split(":")[0]) for f in summary.failures] == \
        [("3", "bad patent record")]
    chats = llm_server.chat_requests
    assert len(chats) == 3
    for request in chats:
        assert request.response_format is not None
        assert request.response_format["json_schema"]["name"] == "kgweave_patents_extraction"
        system = request.body["messages"][0]["content"]
        assert "one patent claim" in system and "Device, Component, Material, Process" in system
    with SQLiteGraphStore(db) as store:
        patents_found = [e for e in store.find_entities("Wind Turbine With Flexible Blades") if e.label == "Patent"]
        assert len(patents_found) == 1
        hood, relations = store.neighbours(patents_found[0].id)
        mentioned = {e.label for e in hood if any(r.type == "MENTIONS" and r.target_id == e.id for r in relations)}
        assert mentioned and mentioned <= set(patents.entity_types)
        counts = store.counts()
        assert counts.labels["Patent"] == 3
        assert (next(r for r in store.runs() if r.id == "patents-1").parameters["prompt_version"]) == "patents-v1"

    again = build_graph(paths=[str(corpus)], run_id="patents-2", store=str(db), extractor=choice)
    assert again.skipped_documents == again.documents == 3
    assert again.new_entities == 0 and again.new_relations == 0 and again.llm_calls == 0
    assert len(llm_server.chat_requests) == 3


def test_registration_is_all_that_choices_help_prompts_and_sources_read(patents: Domain) -> None:
    assert "patents" in domain_choices() and "patents" in record_domains()
    assert "patents: patents (title, claims)" in domain_help()
    assert build_messages("patents", "A Rotor Blade.")[0]["content"] == patents.system
    with pytest.raises(ValueError, match="already registered"):
        register(Domain(name="patents", schema=PatentsExtraction, prompt=patents.prompt))
    unregister("patents")
    assert "patents" not in domain_choices() and "patents" not in domain_help()
    with pytest.raises(UnknownDomainError, match="unknown domain 'patents'"):
        build_messages("patents", "A Rotor Blade.")
