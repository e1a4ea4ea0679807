"""The papers domain's LLM schema: SciER/SciERC types as enums, strict-mode safe, mapped 1:1 onto SciER's gold."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from kgweave.agents.domains import get_domain
from kgweave.agents.domains.papers import ENTITY_TYPES, PAPERS_V1_TYPES, RELATION_TYPES, PapersExtraction
from kgweave.agents.llm_extractor import ground_output
from kgweave.agents.schemas import strict_json_schema
from kgweave.analysis.extraction_scores import SCIER_RELATION_TYPES, SCIER_TYPES
from kgweave.graph_store.ids import to_label, to_relation_type
from kgweave.graph_store.models import Chunk, Document
from tests.conftest import SHARED_DATA, require

SCIER_DEV = SHARED_DATA / "scier_dev" / "dev_spans.jsonl"


def _enums(node: Any, found: dict[str, list[str]], path: str = "") -> dict[str, list[str]]:
    """Every ``enum`` of a JSON schema by the path of its property."""
    if isinstance(node, dict):
        if "enum" in node:
            found[path] = node["enum"]
        for key, value in node.items():
            _enums(value, found, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _enums(value, found, f"{path}/{index}")
    return found


def test_the_strict_schema_has_the_entity_and_relation_type_enums() -> None:
    schema = strict_json_schema(PapersExtraction)
    enums = _enums(schema, {})
    assert enums == {"/$defs/PapersEntity/properties/type": list(ENTITY_TYPES),
                     "/$defs/PapersRelation/properties/type": list(RELATION_TYPES)}
    for name in ("PapersEntity", "PapersRelation"):
        definition = schema["$defs"][name]  # type: ignore[index]
        assert definition["additionalProperties"] is False and definition["properties"]["type"]["type"] == "string"
        assert set(definition["required"]) == set(definition["properties"])
    assert ENTITY_TYPES == ("Task", "Method", "Dataset", "Metric", "Material", "OtherScientificTerm")


def test_the_prompt_lists_the_relation_types_and_the_answer_must_use_them() -> None:
    papers = get_domain("papers")
    assert papers.relation_types == RELATION_TYPES and papers.version == "papers-v2"
    assert f"- type: one of {', '.join(RELATION_TYPES)}." in papers.system
    assert get_domain("text").relation_types == () and "(for example " in get_domain("text").system
    with pytest.raises(ValidationError):
        PapersExtraction.model_validate({"relations": [{"source": "a", "target": "b", "type": "USES"}]})
    with pytest.raises(ValidationError):
        PapersExtraction.model_validate({"entities": [{"name": "a", "type": "Concept"}]})


def test_relation_types_map_one_to_one_onto_sciers() -> None:
    mapped = {t: SCIER_RELATION_TYPES[t] for t in RELATION_TYPES if t in SCIER_RELATION_TYPES}
    assert sorted(mapped.values()) == sorted(SCIER_TYPES)  # each SciER type once
    assert all(to_relation_type(gold) in RELATION_TYPES for gold in SCIER_TYPES)
    assert set(RELATION_TYPES) - set(mapped) == {"FEATURE_OF", "CONJUNCTION"}  # SciERC's, not in SciER


def test_every_gold_label_of_scier_dev_is_a_papers_type() -> None:
    require(SCIER_DEV.is_file(), f"the SciER dev set {SCIER_DEV} is missing")
    relations, entities = set(), set()
    for line in SCIER_DEV.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        relations |= {r[4] for sentence in record["relations"] for r in sentence}
        entities |= {e[2] for sentence in record["ner"] for e in sentence}
    assert relations <= set(SCIER_TYPES) and entities <= set(ENTITY_TYPES)


def test_the_v1_entity_kinds_map_onto_the_new_types() -> None:
    assert set(PAPERS_V1_TYPES.values()) <= set(ENTITY_TYPES)
    assert set(PAPERS_V1_TYPES) == {"Concept", "Method", "Model", "Task", "Dataset", "Material", "Property",
                                    "Metric", "Phenomenon", "Tool"}


def test_grounded_types_keep_their_names() -> None:
    text = "We use graph neural networks for link prediction."
    chunk = Chunk.of(Document.from_text(text, "d.txt"), 0, 0, len(text))
    answer = PapersExtraction.model_validate({
        "entities": [{"name": "graph neural networks", "type": "Method"},
                     {"name": "link prediction", "type": "OtherScientificTerm"}],
        "relations": [{"source": "graph neural networks", "target": "link prediction", "type": "USED_FOR"}],
    })
    grounded = ground_output(chunk, answer)
    assert [e.label for e in grounded.entities] == ["Method", "OtherScientificTerm"]
    assert [r.type for r in grounded.relations] == ["USED_FOR"]
    assert all(to_label(t) == t for t in ENTITY_TYPES) and all(to_relation_type(t) == t for t in RELATION_TYPES)
