"""The ``reviews`` domain: readers' book reviews, each a small graph of the story's actants.

Records (CSV/JSONL, and TEG-DB's textual-edge JSON ``user_id -> book_id`` with ``review_text``): review
text (``review_text``, ``review``, ``text``) and a book (``book_id`` or ``book_title``/``title``);
optional ``rating``, ``user_id``, ``genre``, ``description``, ``author``/``authors`` (names; TEG-DB's
numeric author ids are ignored). The graph is :func:`kgweave.agents.book_reviews.review_graph`.

The LLM schema (``reviews-v2``) types relations with the categories readers use and character-relation
gold sets annotate (family, friend/ally, enemy/rival, romantic, mentor, master/servant, works-for...);
:data:`kgweave.agents.actants.RELATION_CATEGORIES` maps them (and extracted verbs) onto those categories.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from pydantic import BaseModel, Field

from kgweave.agents.book_reviews import ReviewRecord, review_graph
from kgweave.agents.domains.domain import Domain, RawRecord, RecordSource
from kgweave.agents.domains.record_fields import names_of, text_of
from kgweave.agents.prompts import DomainPrompt
from kgweave.agents.record_graph import RecordGraph
from kgweave.agents.schemas import MAX_ENTITIES, MAX_RELATIONS, EntityOutput, ExtractionOutput, RelationOutput

__all__ = ["RELATION_TYPES", "REVIEWS", "ReviewsEntity", "ReviewsExtraction", "ReviewsRelation"]

ReviewsRelationType = Literal[
    "PARENT_OF", "SIBLING_OF", "FAMILY_OF", "MARRIED_TO", "ROMANTIC_WITH", "FRIEND_OF", "ALLY_OF", "ENEMY_OF",
    "RIVAL_OF", "KILLS", "BETRAYS", "MENTOR_OF", "MASTER_OF", "WORKS_FOR", "MEMBER_OF", "LIVES_IN", "OWNS",
]
RELATION_TYPES: tuple[str, ...] = get_args(ReviewsRelationType)
_RELATION_HELP = (
    "How the source relates to the target in the story: PARENT_OF (source is a parent of target), SIBLING_OF, "
    "FAMILY_OF (any other kinship), MARRIED_TO, ROMANTIC_WITH (love, courtship, affair), FRIEND_OF, ALLY_OF "
    "(fights or works on the same side), ENEMY_OF, RIVAL_OF, KILLS, BETRAYS, MENTOR_OF (source teaches or "
    "guides target), MASTER_OF (source is master, owner or lord of target, a servant or slave), WORKS_FOR "
    "(source is employed by or serves target), MEMBER_OF (a character of a group), LIVES_IN (a character in a "
    "place), OWNS (a character and an object)."
)

_REVIEW_TEXT = ("review_text", "review", "text", "body")
_BOOK_TITLE = ("book_title", "title")


class ReviewsEntity(EntityOutput):
    """An actant of a story, as readers' reviews describe it (the Goodreads narrative framework)."""

    type: Literal["Character", "Place", "Object", "Group"] = Field(
        description="Character (a person or being in the story), Place (a setting), Object (a thing that "
        "matters to the plot), Group (a family, army, house, organisation of characters)."
    )


class ReviewsRelation(RelationOutput):
    """A relation between two actants of the story, typed as readers and gold character networks do."""

    type: ReviewsRelationType = Field(description=_RELATION_HELP)


class ReviewsExtraction(ExtractionOutput):
    """Actants of a story and the relations between them (loves, betrays, lives in, belongs to...)."""

    entities: tuple[ReviewsEntity, ...] = Field(
        default=(), max_length=MAX_ENTITIES, description="Actants the review mentions, most important first."
    )
    relations: tuple[ReviewsRelation, ...] = Field(
        default=(), max_length=MAX_RELATIONS, description="Relations the review states between those actants."
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
        authors=names_of(raw, "authors") or tuple(a for a in (text_of(raw, "author", "author_name"),) if a),
    )


def _graph(records: Sequence[BaseModel]) -> RecordGraph:
    return review_graph(r for r in records if isinstance(r, ReviewRecord))


REVIEWS = Domain(
    name="reviews",
    schema=ReviewsExtraction,
    prompt=DomainPrompt(
        # v2 (issue 19): relation types as an enum of character-relation categories; v1 had free verbs
        version="reviews-v2",
        subject="reader's book review",
        guidance="- Entities are actants of the story (characters, places, objects, groups), not the reviewer, "
        "the author, the book itself, other books or series, or the genre.\n"
        "- Name a character by the fullest name the review gives (\"Karigan G'ladheon\", not \"Karigan\").\n",
        examples=", ".join(RELATION_TYPES),
    ),
    # records-v2 (issue 19): review texts are cleaned before extraction, books carry their authors
    records=RecordSource(expected="a review (text and book_id/title)", describes="book reviews", kind=_kind,
                         parse=_review, graph=_graph, version="records-v2"),
)
