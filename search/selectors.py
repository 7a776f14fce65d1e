"""Finding people and tags for the search box: prefix matches first, then near misses.

Each list is read in one round trip, a UNION of parts that indexes serve whatever the table's
size (search/migrations/0001): a prefix of a username, a full name or a tag is a range of a
btree index in the "C" collation (byte order, whatever the database locale), so a prefix search
stops after its first page; a misspelling (PostgreSQL only) is matched by pg_trgm's word
similarity through GIN indexes, only when the prefixes leave room on the page, and at most
``CANDIDATES`` matches are ranked. Full names are asked for near misses in a second query, when
usernames give too few.

On PostgreSQL each list's query is built once per shape and run as a prepared statement
(config/prepared.py): building it cost Django 5 to 15 ms and planning it PostgreSQL 2 to 10 ms,
more than running it. Its text is a parameter, hence ranges rather than LIKE 'text%', which
PostgreSQL turns into an index range only for a pattern it sees while planning. SQLite, the
embedded default, has no pg_trgm: there a plain LIKE finds the text anywhere in the name
instead, one query per part.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.postgres.lookups import TrigramWordSimilar
from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connection
from django.db.models import Exists, Expression, F, FloatField, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Collate, Concat, Lower

from config import prepared
from members.models import User, viewer_shape
from posts.models import Tag
from search.query import Query

# Shorter text has too few trigrams to tell a misspelling from another word, and the GIN
# index finds too many candidates for it.
TYPO_MIN_LENGTH = 4
# What a found member shows.
PERSON_FIELDS = ("username", "full_name", "avatar", "is_private")
# Near misses ranked at most per query: enough that a name's closest spellings are among them
# (bench/search.py: 30 near-twins of each name), few enough to rank in a millisecond or two.
CANDIDATES = 50
# The score of a prefix match, above any similarity (at most 1), and of a LIKE match on SQLite;
# cast, since a prepared statement's parameter has no type of its own: untyped, 2.0 was taken
# for text, and its UNION with similarities (real) failed to prepare.
PREFIX = Cast(Value(2.0), FloatField())
NEAR = Cast(Value(0.0), FloatField())
# The last character there is: every name that starts with a text sorts before the text and it.
LAST = "\U0010ffff"


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
    typo = len(text) >= TYPO_MIN_LENGTH
    shape = ("search_people", viewer_shape(viewer), limit, typo)
    rows = _rows(shape, lambda viewer, text: _people(viewer, text, limit, typo), viewer, text)
    found = _ranked(rows, prefix_key=lambda person: _prefix_key(person, text))[:limit]
    # Full names are asked only when usernames are too few: a common surname's word
    # similarity over full names costs the most, and usernames usually hold the names already.
    if len(found) < limit and typo and _postgresql():
        # A whole page of them, whatever ``found`` holds, so that the statement has one shape:
        # without those already found, enough are left.
        shape = ("search_people_by_full_name", viewer_shape(viewer), limit)
        by_full_name = prepared.run(
            shape, lambda viewer, text: _full_names_alike(viewer, text, limit), viewer, text
        )
        seen = {person.pk for person in found}
        found += [person for person in by_full_name if person.pk not in seen][: limit - len(found)]
    return found


def search_tags(*, name: str, limit: int) -> list[Tag]:
    """Tags that start with ``name`` (alphabetically), then tags close to it (most alike first).

    Tags carry no post counts: a count of only the posts the viewer may see would cost a walk
    through every post of a popular tag.
    """
    if not name:
        return []
    typo = len(name) >= TYPO_MIN_LENGTH
    shape = ("search_tags", limit, typo)
    rows = _rows(shape, lambda name: _tags(name, limit, typo), name)
    return _ranked(rows, prefix_key=lambda tag: tag.name)[:limit]


def _people(viewer: User, text: str, limit: int, typo: bool) -> list[QuerySet[User]]:
    """The parts of a search for people: prefixes of usernames and of full names, then if
    ``typo`` near misses of usernames."""
    members = User.objects.visible_to(viewer).only(*PERSON_FIELDS)
    by_username = User.objects.alias(key=_ordered(F("username"))).filter(_starting("key", text))
    by_name = User.objects.alias(key=_ordered(Lower("full_name"))).filter(_starting("key", text))
    parts = [
        _prefixed(by_username, viewer).order_by("key")[:limit],
        _prefixed(by_name, viewer).order_by("key", "username")[:limit],
    ]
    if typo:
        # Whether the prefixes fill the page is asked of everyone's names, not only of those
        # the viewer may see: two index reads to plan instead of four joins with blocks. A
        # page short of a blocked member then shows no near misses in their place.
        parts.append(_people_alike(members, text, limit, when=_fewer(limit, by_username, by_name)))
    return parts


def _full_names_alike(viewer: User, text: str, limit: int) -> QuerySet[User]:
    """Up to ``limit`` members ``viewer`` may see with a word of their full name like ``text``,
    most alike first (PostgreSQL)."""
    return _alike(
        User.objects.visible_to(viewer),
        TrigramWordSimilar(F("full_name"), Value(text)),
        TrigramWordSimilarity(Value(text), "full_name"),
        limit,
        fields=PERSON_FIELDS,
        when=Q(),
    )


def _tags(name: str, limit: int, typo: bool) -> list[QuerySet[Tag]]:
    """The parts of a search for tags: prefixes, then if ``typo`` near misses."""
    prefixed = Tag.objects.alias(key=_ordered(F("name"))).filter(_starting("key", name))
    parts = [prefixed.annotate(score=PREFIX).order_by("key")[:limit]]
    if typo:
        parts.append(_tags_alike(name, limit, when=_fewer(limit, prefixed)))
    return parts


def _starting(key: str, text: str) -> Q:
    """``key`` starts with ``text``, as a range: a btree index serves it whether ``text`` is
    known when the plan is made or is a parameter, unlike LIKE 'text%'. Names compare in byte
    order (the "C" collation on PostgreSQL, SQLite's default), which in UTF-8 is the order of
    the characters, so the range holds the names that start with ``text``, but for those with
    LAST (a noncharacter) right after it."""
    return Q(**{f"{key}__gte": text, f"{key}__lt": Concat(Value(text), Value(LAST))})


def _prefixed(members: QuerySet[User], viewer: User) -> QuerySet[User]:
    """Those of ``members`` whom ``viewer`` may see, scored as prefix matches."""
    return members.visible_to(viewer).only(*PERSON_FIELDS).annotate(score=PREFIX)


def _prefix_key(person: User, text: str) -> str:
    """What ``person`` was found by: their username if it starts with ``text``, else their
    full name."""
    return person.username if person.username.startswith(text) else person.full_name.lower()


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _ordered(expression: Expression) -> Expression:
    """``expression`` as the prefix indexes hold it: in the "C" collation on PostgreSQL."""
    return Collate(expression, "C") if _postgresql() else expression


def _rows(shape: tuple, build: Callable[..., list[QuerySet]], *values) -> list:
    """The rows of every part ``build(*values)`` makes: on PostgreSQL in one round trip, their
    UNION run as the prepared statement of ``shape`` (config/prepared.py: ``build`` is called
    once per shape, with stand-ins for ``values``); elsewhere one query per part."""
    if not _postgresql():
        return [row for part in build(*values) for row in part]

    def union(*stand_ins) -> QuerySet:
        first, *others = build(*stand_ins)
        return first.union(*others, all=True)

    return prepared.run(shape, union, *values)


def _fewer(limit: int, *querysets: QuerySet) -> Q:
    """True when none of ``querysets`` holds ``limit`` rows. Near misses are asked in the same
    round trip as the prefixes, on this condition, which PostgreSQL evaluates once, before
    (and instead of) their GIN scan when a prefix already fills the page."""
    return ~Q(*[Exists(rows.order_by()[limit - 1 :]) for rows in querysets], _connector=Q.OR)


def _ranked(rows: list, *, prefix_key) -> list:
    """Prefix matches (``score`` PREFIX) first, by ``prefix_key``, then near misses most alike
    first (each part's own order among equals), each row once."""
    prefixed = sorted((row for row in rows if row.score > 1), key=prefix_key)
    alike = sorted((row for row in rows if row.score <= 1), key=lambda row: -row.score)
    seen: set[int] = set()
    return [row for row in [*prefixed, *alike] if not (row.pk in seen or seen.add(row.pk))]


def _people_alike(members: QuerySet[User], text: str, limit: int, *, when: Q) -> QuerySet[User]:
    """Up to ``limit`` of ``members`` whose username is like ``text``, most alike first, if
    ``when``."""
    if not _postgresql():
        contains = Q(username__contains=text) | Q(full_name__icontains=text)
        return members.filter(contains, when).annotate(score=NEAR).order_by("username")[:limit]
    # Usernames are words joined by "." and "_", which pg_trgm splits at: word similarity.
    return _alike(
        members,
        TrigramWordSimilar(F("username"), Value(text)),
        TrigramWordSimilarity(Value(text), "username"),
        limit,
        fields=PERSON_FIELDS,
        when=when,
    )


def _tags_alike(name: str, limit: int, *, when: Q) -> QuerySet[Tag]:
    """Up to ``limit`` tags with a part close to ``name``, most alike first, if ``when``.

    Word similarity, as for usernames, rather than whole-tag similarity: at pg_trgm's default
    threshold for the latter (0.3) the GIN index passes on thousands of tags sharing a common
    ending ("sunset") for each one that passes the recheck.
    """
    if not _postgresql():
        tags = Tag.objects.filter(when, name__contains=name)
        return tags.annotate(score=NEAR).order_by("name")[:limit]
    return _alike(
        Tag.objects.all(),
        TrigramWordSimilar(F("name"), Value(name)),
        TrigramWordSimilarity(Value(name), "name"),
        limit,
        fields=("name",),
        when=when,
    )


def _alike(
    rows: QuerySet,
    operator: Expression,
    score: Expression,
    limit: int,
    *,
    fields: tuple[str, ...],
    when: Q,
) -> QuerySet:
    """The ``limit`` rows most alike by ``score`` among the first ``CANDIDATES`` of ``rows``
    that ``operator`` (a pg_trgm operator, which the GIN indexes serve) finds, if ``when``;
    with ``fields``.

    A typo of a common name is as close to thousands of rows (2,250 usernames are as close to
    "rodrigez" in bench/search.py), and ranking them all cost 100 ms. Only the candidates the
    GIN index gives first are ranked: a full page of near misses in a few milliseconds,
    though among more than ``CANDIDATES`` equally close, the earliest members' rather than
    the closest.
    """
    return (
        rows.model._default_manager.only(*fields)
        .filter(when, pk__in=_first(rows.filter(operator), CANDIDATES))
        .annotate(score=score)
        .order_by("-score", "pk")[:limit]
    )


def _first(rows: QuerySet, count: int) -> RawSQL:
    """The keys of ``count`` of ``rows``, in the order the index gives them.

    Read through a MATERIALIZED common table expression, which PostgreSQL plans for all its
    rows but runs only as far as it is read: a plain LIMIT made it expect ``count`` matches
    early in the table and read it sequentially, with a similarity per row it passed.
    """
    sql, params = rows.values("pk").query.sql_with_params()
    # Django compiled ``sql``; every value is a parameter.
    found = f"WITH found AS MATERIALIZED ({sql}) SELECT * FROM found LIMIT %s"  # noqa: S608
    return RawSQL(found, (*params, count))  # noqa: S611
