"""The domain registry: every source domain (``text``, ``papers``, ``reviews``, ``profiles``) by name.

A domain is one :class:`Domain` in one module of this package: its LLM output schema, its versioned
prompt and, if it reads structured records, its :class:`RecordSource`. Everything else is looked up
here: the CLI's ``--domain`` choices and help, the LLM extractor's schema and prompt, and which
builds read records. Adding a domain is one module plus one :func:`register` line below (or a
``register(...)`` call in your own code before the build).
"""

from __future__ import annotations

import re

from kgweave.agents.domains.domain import Domain, RawRecord, RecordSource
from kgweave.agents.domains.papers import PAPERS
from kgweave.agents.domains.profiles import PROFILES
from kgweave.agents.domains.reviews import REVIEWS
from kgweave.agents.domains.text import TEXT
from kgweave.agents.errors import AgentError
from kgweave.agents.prompts import ChatMessage

__all__ = [
    "AUTO",
    "Domain",
    "RawRecord",
    "RecordSource",
    "UnknownDomainError",
    "build_messages",
    "domain_choices",
    "domain_help",
    "domain_names",
    "get_domain",
    "record_domains",
    "register",
    "resolve_domain",
    "unregister",
]

AUTO = "auto"  # the default choice: the general ``text`` domain
_DEFAULT = TEXT.name
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")  # fits the schema name sent to the API (<= 64 characters)
_REGISTRY: dict[str, Domain] = {}


class UnknownDomainError(AgentError, ValueError):
    """No domain is registered under this name."""


def register(domain: Domain) -> Domain:
    """Add ``domain`` to the registry (again with the same object is a no-op); ValueError if its name is taken."""
    if not _NAME.match(domain.name) or domain.name == AUTO:
        raise ValueError(f"bad domain name {domain.name!r}: lowercase letters, digits, '_' and '-', not {AUTO!r}")
    known = _REGISTRY.get(domain.name)
    if known is not None and known is not domain:
        raise ValueError(f"domain {domain.name!r} is already registered")
    _REGISTRY[domain.name] = domain
    return domain


def unregister(name: str) -> None:
    """Remove the domain called ``name`` (tests that register their own); no error if it is absent."""
    _REGISTRY.pop(name, None)


def domain_names() -> tuple[str, ...]:
    """Registered domains, in registration order."""
    return tuple(_REGISTRY)


def domain_choices() -> tuple[str, ...]:
    """What ``--domain`` accepts: ``auto`` and every registered domain."""
    return (AUTO, *_REGISTRY)


def record_domains() -> tuple[str, ...]:
    """Domains that read structured records (their builds write the records' own graph)."""
    return tuple(name for name, domain in _REGISTRY.items() if domain.records is not None)


def resolve_domain(name: str) -> str:
    """The domain to use for ``name``; ``auto`` is ``text`` (the general concept/relation schema)."""
    if name not in domain_choices():
        raise UnknownDomainError(f"unknown domain {name!r}; choose one of: {', '.join(domain_choices())}")
    return _DEFAULT if name == AUTO else name


def get_domain(name: str) -> Domain:
    """The registered domain called ``name`` (``auto`` is not a domain: see :func:`resolve_domain`)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownDomainError(f"unknown domain {name!r}; choose one of: {', '.join(_REGISTRY)}") from None


def build_messages(domain: str, text: str) -> list[ChatMessage]:
    """System and user messages asking for the graph of one chunk in ``domain``."""
    return get_domain(domain).messages(text)


def domain_help() -> str:
    """The ``--domain`` help text: the choices, and what each record-reading domain reads."""
    reads = "; ".join(f"{d.name}: {d.records.describes}" for d in _REGISTRY.values() if d.records is not None)
    return f"{'|'.join(domain_choices())} (LLM output schema; some also read structured records: {reads})"


register(TEXT)
register(PAPERS)
register(REVIEWS)
register(PROFILES)
