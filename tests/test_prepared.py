"""Querysets compiled once per shape (config/prepared.py) answer as the ORM itself would."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Count
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext

from config import prepared
from posts.models import Post
from tests import factories

pytestmark = pytest.mark.django_db


def _by_author(author, created):
    return (
        Post.objects.filter(author=author, created__lte=created)
        .select_related("author")
        .annotate(like_total=Count("likes"))
        .order_by("-created", "-id")
    )


def test_two_viewers_of_one_shape_each_get_their_own_rows(owner, outsider):
    mine = factories.post(owner, "mine")
    theirs = factories.post(outsider, "theirs")
    factories.like(outsider, mine)
    for author, post in ((owner, mine), (outsider, theirs), (owner, mine)):
        [found] = prepared.run(("by_author",), _by_author, author, post.created)
        assert found == post and found.caption == post.caption
        assert found.author.username == author.username  # select_related, built from the row
        assert found.like_total == (1 if post == mine else 0)  # annotations


def test_an_anonymous_viewer_is_passed_as_it_is(owner):
    post = factories.post(owner)
    visible = prepared.run(("anonymous",), Post.objects.visible_to, AnonymousUser())
    assert visible == [post]


def test_a_value_written_into_the_sql_is_refused_not_reused(owner):
    with pytest.raises(ValueError, match="stand-ins"):
        prepared.run(
            ("inlined",),
            lambda pk: Post.objects.annotate(n=RawSQL(f"SELECT {pk}", [])),  # noqa: S611
            owner.pk,
        )


def test_a_value_the_query_ignores_is_refused(owner):
    with pytest.raises(ValueError, match="stand-ins"):
        prepared.run(("ignored",), lambda pk: Post.objects.all(), owner.pk)


def test_postgresql_plans_each_shape_once_per_connection(client, owner):
    factories.post(owner)
    client.force_login(owner)
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    executed = [query["sql"] for query in queries.captured_queries]
    assert any(sql.startswith("EXECUTE q_") for sql in executed), executed
    assert not any(sql.startswith("PREPARE") for sql in executed)
