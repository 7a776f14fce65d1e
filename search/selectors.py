"""Finding people and tags for the search box: prefix matches first, then near misses.

Each list is read in small ordered, limited queries that indexes serve whatever the table's size
(search/migrations/0001): a prefix of a username, a full name or a tag walks a btree index in
the "C" collation, whose order LIKE 'text%' can follow in any database locale, so a prefix search
stops after its first page; a misspelling (PostgreSQL only) is matched with pg_trgm's operators
through GIN indexes and ranked by similarity. SQLite, the embedded default, has neither: there a
plain LIKE finds the text anywhere in the name instead.
"""

from dataclasses import dataclass, field

from django.contrib.postgres.lookups import TrigramSimilar, TrigramWordSimilar
from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db import connection
from django.db.models import Expression, F, Q, QuerySet, Value
from django.db.models.functions import Collate, Lower

from members.models import User
from posts.models import Tag
from search.query import Query

# Shorter text has too few trigrams to tell a misspelling from another word, and the GIN
# index finds too many candidates for it.
TYPO_MIN_LENGTH = 4


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
    """Members whose username or full name starts with ``text`` (in the order of what matched),
    then those whose username or a word of whose name is close to it (most alike first)."""
    if not text:
        return []
    members = User.objects.visible_to(viewer).only("username", "full_name", "avatar", "is_private")
    by_username = (
        members.alias(key=_ordered(F("username")))
        .filter(key__startswith=text)
        .order_by("key")[:limit]
    )
    by_name = (
        members.alias(key=_ordered(Lower("full_name")))
        .filter(key__startswith=text)
        .order_by("key", "username")[:limit]
    )
    # One round trip where the database can order and limit each part of a UNION.
    if connection.features.supports_slicing_ordering_in_compound:
        prefixed = list(by_username.union(by_name, all=True))
    else:
        prefixed = [*by_username, *by_name]
    found = _distinct(sorted(prefixed, key=lambda person: _prefix_key(person, text)))[:limit]
    if len(found) < limit and len(text) >= TYPO_MIN_LENGTH:
        others = members.exclude(pk__in=[person.pk for person in found])
        found += _people_alike(others, text, limit - len(found))
    return found


def search_tags(*, name: str, limit: int) -> list[Tag]:
    """Tags that start with ``name`` (alphabetically), then tags close to it (most alike first).

    Tags carry no post counts: a count of only the posts the viewer may see would cost a walk
    through every post of a popular tag.
    """
    if not name:
        return []
    found = list(
        Tag.objects.alias(key=_ordered(F("name")))
        .filter(key__startswith=name)
        .order_by("key")[:limit]
    )
    if len(found) < limit and len(name) >= TYPO_MIN_LENGTH:
        found += _tags_alike(name, limit - len(found), exclude=[tag.pk for tag in found])
    return found


def _prefix_key(person: User, text: str) -> str:
    """What ``person`` was found by: their username if it starts with ``text``, else their
    full name."""
    return person.username if person.username.startswith(text) else person.full_name.lower()


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _ordered(expression: Expression) -> Expression:
    """``expression`` as the prefix indexes hold it: in the "C" collation on PostgreSQL."""
    return Collate(expression, "C") if _postgresql() else expression


def _distinct(rows) -> list:
    seen: set[int] = set()
    return [row for row in rows if not (row.pk in seen or seen.add(row.pk))]


def _people_alike(members: QuerySet[User], text: str, limit: int) -> list[User]:
    """Up to ``limit`` members whose username, or else a word of whose full name, is like
    ``text``, most alike first.

    Full names are asked only when usernames are too few: a common surname's word similarity
    costs the most (thousands of candidates), and usernames usually hold the names already.
    """
    if not _postgresql():
        contains = Q(username__contains=text) | Q(full_name__icontains=text)
        return list(members.filter(contains).order_by("username")[:limit])
    # Usernames are words joined by "." and "_", which pg_trgm splits at: word similarity.
    found = list(
        _alike(
            members,
            TrigramWordSimilar(F("username"), Value(text)),
            TrigramWordSimilarity(Value(text), "username"),
            limit,
        )
    )
    if len(found) < limit:
        by_name = _alike(
            members.exclude(pk__in=[person.pk for person in found]),
            TrigramWordSimilar(F("full_name"), Value(text)),
            TrigramWordSimilarity(Value(text), "full_name"),
            limit - len(found),
        )
        found += list(by_name)
    return found


def _tags_alike(name: str, limit: int, *, exclude: list[int]) -> list[Tag]:
    tags = Tag.objects.exclude(pk__in=exclude)
    if not _postgresql():
        return list(tags.filter(name__contains=name).order_by("name")[:limit])
    return list(
        _alike(
            tags,
            TrigramSimilar(F("name"), Value(name)),
            TrigramSimilarity("name", Value(name)),
            limit,
        )
    )


def _alike(rows: QuerySet, operator: Expression, score: Expression, limit: int) -> QuerySet:
    """The ``limit`` rows most alike by ``score`` among those ``operator`` (a pg_trgm operator,
    which the GIN indexes serve) finds.

    Every match is ranked. Ranking only the first 200 matches (a LIMIT in a subquery) was faster
    when PostgreSQL kept the GIN index, but for a common name it expected 200 matches early in
    the table and read it sequentially instead, computing a similarity for every row it passed.
    """
    return rows.filter(operator).annotate(score=score).order_by("-score", "pk")[:limit]
