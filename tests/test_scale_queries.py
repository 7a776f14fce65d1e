"""The feed, a profile, a post page and the activity page cost the same queries with 10 rows of
what they list as with 100,000, and still show one page's worth (issue 14).

Rows are added with SQL (INSERT … SELECT … FROM generate_series, as bench/data.py does); rows
get explicit ids above the table's highest, so that they can name each other, and the tables'
identity sequences are moved past them afterwards. ANALYZE then gives the planner the new
sizes, as autovacuum would in production. Foreign keys are not checked while filling, as
pg_restore --disable-triggers loads a dump (the ids are consistent by construction): checking
a few hundred thousand keys would double each test's time.
"""

import re

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activity.models import Notification
from activity.selectors import PAGE_SIZE as ENTRIES_SHOWN
from activity.views import FOLLOW_REQUESTS_SHOWN
from posts.selectors import COMMENTS_SHOWN, GRID_PAGE_SIZE, PAGE_SIZE
from tests import factories

# Each test adds a few hundred thousand rows: about 10 s each on a shared two-core machine.
pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROWS = 100_000
FEW = 10
ACTIVITY = "/accounts/activity/"
# Queries per page, whatever the rows: the session and the member, then the page's own (bench/
# counts the same 5 for the feed, a profile and a post page). Activity's include marking its
# unread entries read and the pending follow requests.
FEED_QUERIES = PROFILE_QUERIES = POST_QUERIES = 5
ACTIVITY_QUERIES = 9

_TABLES = (
    "members_user",
    "members_follow",
    "members_followrequest",
    "posts_post",
    "posts_postimage",
    "posts_like",
    "posts_comment",
    "activity_notification",
)


def _sql(statement: str, **params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _fill(statement: str, **params) -> None:
    """Run ``statement`` without foreign-key checks (their triggers do not fire for a replica)."""
    _sql("SET session_replication_role = replica")
    _sql(statement, **params)
    _sql("SET session_replication_role = origin")


def _top(table: str) -> int:
    """The table's highest id: SQL rows are numbered from there, so they can refer to each
    other by arithmetic."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 - our names
        return cursor.fetchone()[0]


def _settle() -> None:
    """Move every identity sequence past the rows added, and let the planner see them."""
    for table in _TABLES:
        _sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608 - our names
            f" (SELECT coalesce(max(id), 1) FROM {table}))"
        )
        _sql(f"ANALYZE {table}")


def _members(count: int) -> int:
    """``count`` public, active members with avatars; their ids follow the returned one."""
    base = _top("members_user")
    _fill(
        """
        INSERT INTO members_user (id, password, is_superuser, is_staff, is_active, date_joined,
                                  username, email, full_name, bio, website, avatar,
                                  email_verified, pending_email, session_generation,
                                  two_factor_secret, two_factor_last_step,
                                  two_factor_backup_codes, is_private, suspension_reason,
                                  unread_activity)
        SELECT %(base)s + n, '!', false, false, true, now(), 'm' || (%(base)s + n),
               'm' || (%(base)s + n) || '@example.com', 'Member ' || n, '', '',
               'avatars/' || md5('avatar' || n) || '.jpg', true, '', 0, '', 0, '[]', false, '', 0
        FROM generate_series(1, %(count)s) AS n
        """,
        base=base,
        count=count,
    )
    return base


def _posts(author, count: int, *, people: int = 0) -> int:
    """``count`` posts by ``author``, a second apart back from the test's start (the
    transaction's ``now()``, earlier than any factory's post), each with two photos and, when
    ``people`` (the first of three members' ids) is given, a like from two and a comment from
    the third; their ids follow the returned one."""
    base = _top("posts_post")
    _fill(
        """
        INSERT INTO posts_post (id, code, caption, created, updated, author_id)
        SELECT %(base)s + i, 's' || lpad((%(base)s + i)::text, 10, '0'), 'Photo ' || i,
               now() - i * INTERVAL '1 second', now() - i * INTERVAL '1 second', %(author)s
        FROM generate_series(1, %(count)s) AS i;
        INSERT INTO posts_postimage ("order", display, width, height, thumbnail, thumbnail_size,
                                     alt_text, post_id)
        SELECT k - 1, 'posts/' || i || '-' || k || '.jpg', 1080, 1350,
               'posts/' || i || '-' || k || '-t.jpg', 640, '', %(base)s + i
        FROM generate_series(1, %(count)s) AS i, generate_series(1, 2) AS k
        """,
        base=base,
        count=count,
        author=author.pk,
    )
    if people:
        _fill(
            """
            INSERT INTO posts_like (created, post_id, user_id)
            SELECT now(), %(base)s + i, %(people)s + k
            FROM generate_series(1, %(count)s) AS i, generate_series(1, 2) AS k;
            INSERT INTO posts_comment (text, created, author_id, post_id)
            SELECT 'Lovely ' || i, now(), %(people)s + 3, %(base)s + i
            FROM generate_series(1, %(count)s) AS i
            """,
            base=base,
            count=count,
            people=people,
        )
    return base


def _get(client, url: str):
    """The page at ``url`` (200) and how many queries it took, rendered cards not cached."""
    caches["fragments"].clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(queries)


def test_the_feed_costs_the_same_queries_at_10_posts_as_at_100_000(client, owner, follower):
    factories.follow(follower, owner)
    people = _members(3)
    _posts(owner, FEW, people=people)
    _settle()
    client.force_login(follower)
    client.get("/")  # the session is read and saved once, as on any later page
    few, few_queries = _get(client, "/")
    _posts(owner, ROWS - FEW, people=people)
    _settle()
    many, many_queries = _get(client, "/")
    assert few.content.decode().count("data-post=") == FEW
    assert many.content.decode().count("data-post=") == PAGE_SIZE
    assert [card.like_count for card in many.context["page"].posts] == [2] * PAGE_SIZE
    assert many_queries == few_queries == FEED_QUERIES


def test_a_profile_costs_the_same_queries_at_10_posts_as_at_100_000(client, owner, outsider):
    _posts(owner, FEW)
    _settle()
    client.force_login(outsider)
    client.get("/olivia/")
    few, few_queries = _get(client, "/olivia/")
    _posts(owner, ROWS - FEW)
    _settle()
    many, many_queries = _get(client, "/olivia/")
    assert few.content.decode().count('class="grid__item"') == FEW
    assert many.content.decode().count('class="grid__item"') == GRID_PAGE_SIZE
    assert "<strong>100000</strong> posts" in many.content.decode()
    assert many_queries == few_queries == PROFILE_QUERIES


def _reactions(post, count: int) -> None:
    """``count`` new members each like ``post`` and comment on it, a second apart back from the
    test's start."""
    people = _members(count)
    _fill(
        """
        INSERT INTO posts_like (created, post_id, user_id)
        SELECT now(), %(post)s, %(people)s + i FROM generate_series(1, %(count)s) AS i;
        INSERT INTO posts_comment (text, created, author_id, post_id)
        SELECT 'Comment ' || i, now() - i * INTERVAL '1 second', %(people)s + i, %(post)s
        FROM generate_series(1, %(count)s) AS i
        """,
        post=post.pk,
        people=people,
        count=count,
    )
    _settle()


def test_a_post_page_costs_the_same_queries_at_10_comments_and_likes_as_at_100_000(
    client, owner, outsider
):
    post = factories.post(owner, photos=3)
    url = post.get_absolute_url()
    _reactions(post, FEW)
    client.force_login(outsider)
    client.get(url)
    few, few_queries = _get(client, url)
    _reactions(post, ROWS - FEW)
    many, many_queries = _get(client, url)
    assert few.content.decode().count('class="comment"') == FEW
    assert many.content.decode().count('class="comment"') == COMMENTS_SHOWN
    assert "View earlier comments" in many.content.decode()
    assert (many.context["post"].like_count, many.context["post"].comment_count) == (ROWS, ROWS)
    assert many_queries == few_queries == POST_QUERIES


def _activity(owner, elsewhere, units: int) -> None:
    """``units`` unread entries of each kind for ``owner``, dated back from the test's start: a like
    of each of ``units`` new posts, a comment on each, a mention in a comment on ``elsewhere``,
    a follow and a follow request, each from a member of their own."""
    people = _members(2 * units)  # actors, then those who ask to follow
    posts = _posts(owner, units)
    comments = _top("posts_comment")
    _fill(
        """
        INSERT INTO posts_like (created, post_id, user_id)
        SELECT now(), %(posts)s + i, %(people)s + i FROM generate_series(1, %(units)s) AS i;
        INSERT INTO posts_comment (id, text, created, author_id, post_id)
        SELECT %(comments)s + i, 'Lovely ' || i, now(), %(people)s + i, %(posts)s + i
        FROM generate_series(1, %(units)s) AS i
        UNION ALL
        SELECT %(comments)s + %(units)s + i, 'Look @' || %(username)s, now(), %(people)s + i,
               %(elsewhere)s
        FROM generate_series(1, %(units)s) AS i;
        INSERT INTO members_follow (created, follower_id, following_id)
        SELECT now(), %(people)s + i, %(owner)s FROM generate_series(1, %(units)s) AS i;
        INSERT INTO members_followrequest (created, requester_id, target_id)
        SELECT now(), %(people)s + %(units)s + i, %(owner)s
        FROM generate_series(1, %(units)s) AS i;
        INSERT INTO activity_notification (recipient_id, actor_id, kind, post_id, comment_id,
                                           created, read)
        SELECT %(owner)s,
               %(people)s + i + CASE kind WHEN 'follow_request' THEN %(units)s ELSE 0 END, kind,
               CASE kind WHEN 'like' THEN %(posts)s + i WHEN 'comment' THEN %(posts)s + i
                         WHEN 'mention' THEN %(elsewhere)s END,
               CASE kind WHEN 'comment' THEN %(comments)s + i
                         WHEN 'mention' THEN %(comments)s + %(units)s + i END,
               now() - (5 * i + k) * INTERVAL '1 second', false
        FROM generate_series(1, %(units)s) AS i,
             unnest(ARRAY['like', 'comment', 'mention', 'follow', 'follow_request'])
                 WITH ORDINALITY AS kinds (kind, k);
        UPDATE members_user SET unread_activity = unread_activity + 5 * %(units)s
        WHERE id = %(owner)s
        """,
        owner=owner.pk,
        username=owner.username,
        elsewhere=elsewhere.pk,
        people=people,
        posts=posts,
        comments=comments,
        units=units,
    )
    _settle()


def test_the_activity_page_costs_the_same_queries_at_10_entries_as_at_100_000(
    client, owner, outsider
):
    owner.is_private = True
    owner.save(update_fields=["is_private"])
    elsewhere = factories.post(outsider)
    _activity(owner, elsewhere, FEW // 5)
    client.force_login(owner)
    client.get("/explore/")  # the session is read and saved once, as on any later page
    few, few_queries = _get(client, ACTIVITY)  # marks those 10 read: 99,990 new ones come next
    _activity(owner, elsewhere, (ROWS - FEW) // 5)
    many, many_queries = _get(client, ACTIVITY)
    assert Notification.objects.filter(recipient=owner).count() == ROWS
    for page, entries, requests in (
        (few, FEW, FEW // 5),
        (many, ENTRIES_SHOWN, FOLLOW_REQUESTS_SHOWN),
    ):
        kinds = re.findall(r'class="activity__entry[^"]*" data-kind="(\w+)"', page.content.decode())
        assert len(kinds) == entries and set(kinds) == set(Notification.Kind) - {"follow_approved"}
        assert page.content.decode().count('aria-label="Approve') == requests
    assert many_queries == few_queries == ACTIVITY_QUERIES
