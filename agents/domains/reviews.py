"""The ``reviews`` domain: readers' book reviews, each a small graph of the story's actants.

Records (CSV/JSONL, and TEG-DB's textual-edge JSON ``user_id -> book_id`` with ``review_text``): review
text (``review_text``, ``review``, ``text``) and a book (``book_id`` or ``book_title``/``title``);
optional ``rating``, ``user_id``, ``genre``, ``description``. The graph is
:func:`kgweave.agents.book_reviews.review_graph`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from kgweave.agents.book_reviews import ReviewRecord, review_graph
from kgweave.agents.domains.domain import Domain, RawRecord, RecordSource
from kgweave.agents.domains.record_fields import text_of
from kgweave.agents.prompts import DomainPrompt
from kgweave.agents.record_graph import RecordGraph
from kgweave.agents.schemas import MAX_ENTITIES, EntityOutput, ExtractionOutput

__all__ = ["REVIEWS", "ReviewsEntity", "ReviewsExtraction"]

_REVIEW_TEXT = ("review_text", "review", "text", "body")
_BOOK_TITLE = ("book_title", "title")


class ReviewsEntity(EntityOutput):
    """An actant of a story, as readers' reviews describe it (the Goodreads narrative framework)."""

    type: Literal["Character", "Place", "Object", "Group"] = Field(
        description="Character (a person or being in the story), Place (a setting), Object (a thing that "
        "matters to the plot), Group (a family, army, house, organisation of characters)."
    )


class ReviewsExtraction(ExtractionOutput):
    """Actants of a story and the relations between them (loves, betrays, lives in, belongs to...)."""

    entities: tuple[ReviewsEntity, ...] = Field(
        default=(), max_length=MAX_ENTITIES, description="Actants the review mentions, most important first."
    )


def _kind(raw: RawRecord) -> str | None:
    has_text = any(isinstance(raw.get(f), str) for f in _REVIEW_TEXT)
    return "review" if has_text and ("book_id" in raw or any(f in raw for f in _BOOK_TITLE)) else None


def _review(raw: RawRecord, kind: str, source: str, area: str | None) -> ReviewRecord:
    rating = raw.get("rating", raw.get("stars"))
    return ReviewRecord(
        source=source, book_id=text_of(raw, "book_id") or text_of(raw, *_BOOK_TITLE) or "",
        text=text_of(raw, *_REVIEW_TEXT) or "", book_title=text_of(raw, *_BOOK_TITLE),
        rating=rating if rating not in (None, "") else None,  # type: ignore[arg-type]  # pydantic parses "4.5"
        user_id=text_of(raw, "user_id", "user"), genre=text_of(raw, "genre"),
        book_description=text_of(raw, "description"),
    )


def _graph(records: Sequence[BaseModel]) -> RecordGraph:
    return review_graph(r for r in records if isinstance(r, ReviewRecord))


REVIEWS = Domain(
    name="reviews",
    schema=ReviewsExtraction,
    prompt=DomainPrompt(
        version="reviews-v1",
        subject="reader's book review",
        guidance="- Entities are actants of the story (characters, places, objects, groups), not the reviewer, "
        "the author or the book itself.\n",
        examples="LOVES, BETRAYS, KILLS, LIVES_IN, MEMBER_OF, OWNS, FRIEND_OF, PARENT_OF",
    ),
    records=RecordSource(expected="a review (text and book_id/title)", describes="book reviews", kind=_kind,
                         parse=_review, graph=_graph),
)
