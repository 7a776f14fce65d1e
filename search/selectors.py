"""Finding people and tags for the search box: prefix matches first, then near misses.

Each list is read in small ordered, limited queries that indexes serve whatever the table's size
(migrations/0001): a prefix of a username, a full name or a tag walks a btree index in order; a
misspelling (PostgreSQL only) is matched with pg_trgm through GIN indexes and ranked by
similarity. SQLite, the embedded default, has no pg_trgm: there a plain LIKE finds the text
anywhere in the name instead.
"""

from dataclasses import dataclass, field

from django.contrib.postgres.lookups import TrigramSimilar, TrigramWordSimilar
from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db import connection
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Greatest, Lower

from members.models import User
from posts.models import Tag
from search.query import Query

# Shorter text has too few trigrams to tell a misspelling from a different word.
TYPO_MIN_LENGTH = 3


@dataclass(frozen=True)
class Results:
    query: Query
    people: list[User] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)


def search_results(*, query: Query, viewer: User, limit: int) -> Results:
    """Up to ``limit`` people (only those ``viewer`` may see: User.objects.visible_to) and up to
    ``limit`` tags for ``query``."""
    people = search_people(text=query.text, viewer=viewer, limit=limit) if query.people else []
    tags = search_tags(name=query.tag, limit=limit) if query.tags else []
    return Results(query=query, people=people, tags=tags)


def search_people(*, text: str, viewer: User, limit: int) -> list[User]:
    """Members whose username or full name starts with ``text`` (alphabetically), then those
    whose username or a word of whose name is close to it (most alike first)."""
    if not text:
        return []
    members = User.objects.visible_to(viewer).only("username", "full_name", "avatar", "is_private")
    by_username = members.filter(username__startswith=text).order_by("username")[:limit]
    by_name = (
        members.alias(name_lower=Lower("full_name"))
        .filter(name_lower__startswith=text)
        .order_by("name_lower", "username")[:limit]
    )
    found = _merged(
        [(person.username, person) for person in by_username]
        + [(person.full_name.lower(), person) for person in by_name],
        limit,
    )
    if len(found) < limit and len(text) >= TYPO_MIN_LENGTH:
        alike = _people_alike(members, text).exclude(pk__in=[person.pk for person in found])
        found += list(alike[: limit - len(found)])
    return found


def search_tags(*, name: str, limit: int) -> list[Tag]:
    """Tags that start with ``name`` (alphabetically), then tags close to it (most alike first).

    Tags carry no post counts: a count of only the posts the viewer may see would cost a walk
    through every post of a popular tag.
    """
    if not name:
        return []
    found = list(Tag.objects.filter(name__startswith=name).order_by("name")[:limit])
    if len(found) < limit and len(name) >= TYPO_MIN_LENGTH:
        found += list(
            _tags_alike(name).exclude(pk__in=[tag.pk for tag in found])[: limit - len(found)]
        )
    return found


def _merged(keyed: list[tuple[str, User]], limit: int) -> list[User]:
    """Each member once, in the order of the text they matched by."""
    seen: set[int] = set()
    merged = []
    for _, person in sorted(keyed, key=lambda pair: (pair[0], pair[1].username)):
        if person.pk not in seen:
            seen.add(person.pk)
            merged.append(person)
    return merged[:limit]


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _people_alike(members: QuerySet[User], text: str) -> QuerySet[User]:
    if not _postgresql():
        return members.filter(Q(username__contains=text) | Q(full_name__icontains=text)).order_by(
            "username"
        )
    # The operators (%, %>) in WHERE are what the GIN indexes serve; the functions only rank.
    return members.filter(
        Q(TrigramSimilar(F("username"), Value(text)))
        | Q(TrigramWordSimilar(F("full_name"), Value(text)))
    ).order_by(
        Greatest(
            TrigramSimilarity("username", Value(text)),
            TrigramWordSimilarity(Value(text), "full_name"),
        ).desc(),
        "username",
    )


def _tags_alike(name: str) -> QuerySet[Tag]:
    if not _postgresql():
        return Tag.objects.filter(name__contains=name).order_by("name")
    return Tag.objects.filter(TrigramSimilar(F("name"), Value(name))).order_by(
        TrigramSimilarity("name", Value(name)).desc(), "name"
    )
