"""What an LLM must answer when it extracts a graph from one chunk: the base every domain's schema extends.

Each domain (:mod:`kgweave.agents.domains`) narrows :class:`EntityOutput`'s ``type`` to its own
Literal of entity types and its answer's ``entities`` to that entity.

Every schema is bounded (names, descriptions, evidence and list lengths have maximum sizes) so a
hostile document cannot make a model hand us thousands of items, and ``extra="forbid"`` so an
answer that is not the requested object (a schema echoed back, stray keys) fails validation and is
re-asked. :func:`strict_json_schema` turns a schema into the subset of JSON Schema that OpenAI's
strict structured outputs and vLLM's guided decoding accept.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "MAX_ENTITIES",
    "MAX_EVIDENCE_CHARS",
    "MAX_NAME_CHARS",
    "MAX_RELATIONS",
    "MAX_RELATION_TYPE_CHARS",
    "EntityOutput",
    "ExtractionOutput",
    "RelationOutput",
    "strict_json_schema",
]

MAX_ENTITIES = 50
MAX_RELATIONS = 80
MAX_NAME_CHARS = 120
MAX_DESCRIPTION_CHARS = 300
MAX_RELATION_TYPE_CHARS = 64
MAX_EVIDENCE_CHARS = 600

# String length keywords are left out of the strict schema: OpenAI's strict mode does not list them
# among its supported keywords; pydantic still enforces the limits on the answer. Servers that compile
# the schema to a grammar (llama.cpp, vLLM, Ollama in JSON mode) keep them (``keep_bounds``): there an
# unbounded string can run to the token limit and be cut into invalid JSON.
_UNSUPPORTED_STRICT_KEYWORDS = ("default", "minLength", "maxLength")

_NAME_HELP = "The entity exactly as the document writes it (copied words, no paraphrase)."
_DESCRIPTION_HELP = "At most one short sentence saying what the entity is in this document, or null."


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class EntityOutput(_Output):
    """One entity named in the chunk (the base of every domain's entity)."""

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description=_NAME_HELP)
    type: str = Field(description="The entity's type.")
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_CHARS, description=_DESCRIPTION_HELP)


class RelationOutput(_Output):
    """One directed relation between two entities of the answer, with the sentence that states it."""

    source: str = Field(
        min_length=1, max_length=MAX_NAME_CHARS, description="Name of the source entity (as in the entity list)."
    )
    target: str = Field(
        min_length=1, max_length=MAX_NAME_CHARS, description="Name of the target entity (as in the entity list)."
    )
    type: str = Field(
        min_length=1,
        max_length=MAX_RELATION_TYPE_CHARS,
        description="Short verb phrase in UPPER_SNAKE_CASE: how the source relates to the target (e.g. USES).",
    )
    evidence: str | None = Field(
        default=None,
        max_length=MAX_EVIDENCE_CHARS,
        description="The sentence of the document that states the relation, copied exactly, or null.",
    )


class ExtractionOutput(_Output):
    """Entities and relations found in one chunk (the base of every domain's answer)."""

    entities: tuple[EntityOutput, ...] = Field(
        default=(), max_length=MAX_ENTITIES, description="Entities the document mentions, most important first."
    )
    relations: tuple[RelationOutput, ...] = Field(
        default=(), max_length=MAX_RELATIONS, description="Relations the document states between those entities."
    )


def strict_json_schema(model: type[BaseModel], keep_bounds: bool = False) -> dict[str, object]:
    """The model's JSON schema in the strict subset accepted by OpenAI structured outputs and vLLM.

    Every object gets ``additionalProperties: false`` and lists all its properties as required
    (optional fields stay nullable through ``anyOf [..., null]``); ``default`` and string length
    keywords are removed (string lengths kept with ``keep_bounds``, for servers that compile the
    schema to a grammar); a ``$ref`` with sibling keywords is inlined and a one-element ``allOf``
    flattened. Objects without fixed properties (free-form dicts) cannot be strict: ``ValueError``.

    Examples
    --------
    >>> class Name(BaseModel):
    ...     name: str = Field(max_length=5)
    >>> strict_json_schema(Name)["properties"]["name"]
    {'title': 'Name', 'type': 'string'}
    >>> strict_json_schema(Name, keep_bounds=True)["properties"]["name"]["maxLength"]
    5
    """
    root: dict[str, Any] = copy.deepcopy(model.model_json_schema())
    dropped = ("default",) if keep_bounds else _UNSUPPORTED_STRICT_KEYWORDS
    return _strict(root, root, (), dropped)


def _strict(
    node: dict[str, Any], root: dict[str, Any], path: tuple[str, ...], dropped: tuple[str, ...]
) -> dict[str, Any]:
    for key in dropped:
        node.pop(key, None)
    for defs_key in ("$defs", "definitions"):
        defs = node.get(defs_key)
        if isinstance(defs, dict):
            for name, sub in defs.items():
                defs[name] = _strict(sub, root, (*path, defs_key, name), dropped)
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        resolved = _resolve(root, ref)
        merged = {**copy.deepcopy(resolved), **{k: v for k, v in node.items() if k != "$ref"}}
        return _strict(merged, root, path, dropped)
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        node.pop("allOf")
        return _strict({**all_of[0], **node}, root, path, dropped)
    properties = node.get("properties")
    if node.get("type") == "object" or isinstance(properties, dict):
        if not isinstance(properties, dict):
            if node.get("additionalProperties") not in (None, False):
                raise ValueError(f"free-form object at {'/'.join(path) or 'root'} cannot be a strict schema")
            properties = {}
        node["properties"] = {k: _strict(v, root, (*path, "properties", k), dropped) for k, v in properties.items()}
        node["required"] = list(properties)
        node["additionalProperties"] = False
    items = node.get("items")
    if isinstance(items, dict):
        node["items"] = _strict(items, root, (*path, "items"), dropped)
    for union_key in ("anyOf", "allOf", "oneOf"):
        variants = node.get(union_key)
        if isinstance(variants, list):
            node[union_key] = [_strict(v, root, (*path, union_key, str(i)), dropped) for i, v in enumerate(variants)]
    return node


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs can be inlined, got {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    if not isinstance(node, dict):
        raise ValueError(f"$ref {ref!r} does not point at a schema")
    return node
