"""The built-in domains in the registry: same choices, schemas, prompts and fingerprints as before it existed.

The pinned digests were computed from the four parallel registries the domain registry replaced
(``agents/schemas.py`` OUTPUT_SCHEMAS, ``agents/prompts.py`` PROMPTS, ``agents/sources/records.py``):
the LLM cache key and the extraction fingerprints depend on exactly these bytes. Change a domain's
wording or schema only with a new prompt version, and re-pin its digest in the same commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from kgweave.agents.domains import (
    UnknownDomainError,
    domain_choices,
    domain_help,
    domain_names,
    get_domain,
    record_domains,
    register,
    resolve_domain,
)
from kgweave.agents.schemas import strict_json_schema
from kgweave.agents.sources.records import domain_fingerprint

PINNED = {
    "text": ("text-v1", "a94df880022cf4a3"),
    "papers": ("papers-v2", "55d111305f3898c7"),
    "reviews": ("reviews-v2", "904ff28618dc7d82"),
    "profiles": ("profiles-v1", "3eb75140a8d7e737"),
}
# reviews re-pinned for prompt reviews-v2 and records-v2 (issue 19): typed character relations as an enum;
# cleaned review texts and book authors change what a structured reviews build writes.
# papers re-pinned for prompt papers-v2 (issue 17): SciER/SciERC entity and relation types as enums.
# papers and profiles re-pinned for their record source's records-v2 (issue 17): title + text/body records
# became papers, and a file with any record of the domain is read as records (was: its first record decided),
# so a structured build after the change must not take the earlier builds' "done" marks as its own.
PINNED_SOURCE_FINGERPRINTS = {
    "papers": "c1240e4a16d354115f5c56647ddd3042",
    "profiles": "9ae0f8bc0a55c13e131f5b19c836efde",
    "reviews": "eeb90307475bfe28aefe96962c80f52b",
}


def _digest(name: str) -> str:
    domain = get_domain(name)
    blob = json.dumps({"schema": strict_json_schema(domain.schema), "name": domain.schema_name,
                       "messages": domain.messages("Alice met Bob."), "version": domain.version}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def test_built_in_domains_and_choices() -> None:
    assert domain_names() == ("text", "papers", "reviews", "profiles")
    assert domain_choices() == ("auto", "text", "papers", "reviews", "profiles")
    assert record_domains() == ("papers", "reviews", "profiles")
    assert resolve_domain("auto") == "text" and resolve_domain("papers") == "papers"
    with pytest.raises(UnknownDomainError, match="choose one of: auto, text, papers, reviews, profiles"):
        resolve_domain("patents")


@pytest.mark.parametrize("name", list(PINNED))
def test_schema_prompt_and_version_are_byte_for_byte_the_pinned_ones(name: str) -> None:
    version, digest = PINNED[name]
    assert get_domain(name).version == version
    assert _digest(name) == digest


@pytest.mark.parametrize("name", list(PINNED_SOURCE_FINGERPRINTS))
def test_structured_build_fingerprints_are_unchanged(name: str) -> None:
    assert domain_fingerprint("f", name) == PINNED_SOURCE_FINGERPRINTS[name]


def test_help_names_every_choice_and_what_each_record_domain_reads() -> None:
    help_text = domain_help()
    assert help_text.startswith("auto|text|papers|reviews|profiles ")
    for name in record_domains():
        records = get_domain(name).records
        assert records is not None and f"{name}: {records.describes}" in help_text


@pytest.mark.parametrize("name", ["auto", "Patents", "two words", ""])
def test_register_refuses_names_that_are_not_domain_names(name: str) -> None:
    with pytest.raises(ValueError, match="bad domain name"):
        register(replace(get_domain("text"), name=name))
    assert domain_names() == ("text", "papers", "reviews", "profiles")
