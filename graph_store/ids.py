"""Content-addressed ids and the name/label rules that make them stable.

A re-run over the same input yields the same ids, so every write can be an idempotent MERGE.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = [
    "LABEL_PATTERN",
    "ORIGINAL_TYPE_PROPERTY",
    "RELATION_TYPE_PATTERN",
    "chunk_id",
    "content_id",
    "document_id",
    "entity_id",
    "mention_id",
    "normalize_name",
    "relation_id",
    "to_label",
    "model_relation_type",
    "to_relation_type",
]

# Labels and relation types reach Cypher only if they match these patterns (never interpolated raw).
LABEL_PATTERN = re.compile(r"^[A-Z][A-Za-z0-9_]{0,63}$")
RELATION_TYPE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")

_SEP = "\x1f"  # unit separator: cannot occur in normalised names, so fields never run together
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SPACES = re.compile(r"\s+")


def content_id(*parts: str) -> str:
    """Return a 32-hex-digit id hashed from the parts (order matters)."""
    digest = hashlib.sha256(_SEP.join(parts).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def normalize_name(name: str) -> str:
    """Return the key under which two spellings of one entity name coincide.

    Unicode NFKC, case-folded, punctuation folded to spaces, whitespace collapsed, and a final
    plural ``s`` dropped from the last word (``Neural Networks`` == ``neural network``).
    """
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    text = _SPACES.sub(" ", text).strip()
    return _singular_last_word(text)


def _singular_last_word(text: str) -> str:
    head, _, last = text.rpartition(" ")
    if len(last) > 3 and last.endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    return f"{head} {last}" if head else last


def document_id(text: str) -> str:
    """Id of a document: the hash of its text, so one text read from two files is one document."""
    return content_id("doc", text)


def chunk_id(doc_id: str, start: int, end: int) -> str:
    """Id of the span ``[start, end)`` of a document."""
    return content_id("chunk", doc_id, str(start), str(end))


def entity_id(name: str, label: str) -> str:
    """Id of an entity: hash of its normalised name and its label."""
    return content_id("entity", normalize_name(name), label)


def relation_id(source_id: str, rel_type: str, target_id: str) -> str:
    """Id of a relation: hash of (source id, relation type, target id)."""
    return content_id("relation", source_id, rel_type, target_id)


def mention_id(ent_id: str, chk_id: str, start: int) -> str:
    """Id of one mention of an entity at a document offset inside a chunk."""
    return content_id("mention", ent_id, chk_id, str(start))


def to_relation_type(text: str, default: str = "RELATED_TO") -> str:
    """Turn free relation text (``"is a part of"``) into a safe type (``IS_A_PART_OF``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_text)
    candidate = "_".join(words).upper()[:64].rstrip("_")
    if candidate and not candidate[0].isalpha():
        candidate = f"R_{candidate}"[:64]
    return candidate if RELATION_TYPE_PATTERN.match(candidate) else default


ORIGINAL_TYPE_PROPERTY = "original_type"
"""Relation property keeping a model's relation text that was not a plausible type."""

# Query-language words: a "type" holding two of them is an injection attempt or junk, not a relation.
_QUERY_WORDS = frozenset({
    "MATCH", "OPTIONAL", "DETACH", "DELETE", "DROP", "MERGE", "CREATE", "SET", "REMOVE", "RETURN", "CALL",
    "LOAD", "CSV", "UNWIND", "WHERE", "SELECT", "INSERT", "UPDATE", "ALTER", "TRUNCATE", "TABLE", "DATABASE",
    "UNION", "EXEC", "EXECUTE", "GRANT", "REVOKE", "APOC", "DBMS", "INDEX", "CONSTRAINT",
})
_MAX_TYPE_WORDS = 6
_MAX_TYPE_CHARS = 48
_MAX_TYPE_WORD_CHARS = 20
_CODE = re.compile(r"[;{}\[\]`=<>|]|//|--")  # query or program syntax, never in a relation's words


def model_relation_type(text: str, default: str = "RELATED_TO") -> tuple[str, str | None]:
    """The type for relation text a model wrote, and the text itself when it was not a plausible type.

    Plausible: at most 6 words and 48 characters, no word over 20 characters, a word of letters, no
    query syntax (``;``, brackets, backticks, ``=``, ``//``, ``--``, arrows) and not two query-language
    words (``MATCH ... DETACH DELETE``, ``DROP DATABASE``). Anything
    else becomes ``default`` and the caller keeps the text as the relation's
    :data:`ORIGINAL_TYPE_PROPERTY`, so junk never pollutes the graph's types.

    >>> model_relation_type("is a part of")
    ('IS_A_PART_OF', None)
    >>> model_relation_type("robert'); MATCH (n) DETACH DELETE n; //")
    ('RELATED_TO', "robert'); MATCH (n) DETACH DELETE n; //")
    """
    candidate = to_relation_type(text, "")
    words = candidate.split("_") if candidate else []
    plausible = (
        0 < len(words) <= _MAX_TYPE_WORDS and len(candidate) <= _MAX_TYPE_CHARS
        and all(len(w) <= _MAX_TYPE_WORD_CHARS for w in words)
        and any(len(w) >= 2 and w.isalpha() for w in words)
        and sum(w in _QUERY_WORDS for w in words) < 2 and not _CODE.search(text)
    )
    return (candidate, None) if plausible else (default, text.strip()[:200])


def to_label(text: str, default: str = "Concept") -> str:
    """Turn free type text (``"research method"``) into a safe node label (``ResearchMethod``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_text)
    candidate = "".join(w[:1].upper() + w[1:] for w in words)[:64]
    return candidate if LABEL_PATTERN.match(candidate) else default
