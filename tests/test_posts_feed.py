"""The feed's query (posts.selectors.post_feed) finds the same posts whichever way it reads
them: asking each of a few followed accounts, or walking all posts for a reader who follows
many, or everyone's for a reader who follows no one."""

from datetime import timedelta

import pytest
from django.db.models import Exists, Q
from django.utils import timezone

from config import prepared
from members.models import Block, Follow
from posts import selectors
from posts.models import Post
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["asking each followed account", "walking all posts"])
def way(request, monkeypatch):
    """Both ways the feed reads: FEW_FOLLOWED decides which runs for a reader."""
    monkeypatch.setattr(selectors, "FEW_FOLLOWED", 100 if request.param.startswith("ask") else 0)
    prepared.forget()
    yield request.param
    prepared.forget()


def _feed(viewer) -> list[str]:
    """Every page of the viewer's feed, in order, by following the cursors."""
    seen, cursor = [], None
    while True:
        page = selectors.post_feed(viewer=viewer, cursor=cursor)
        seen += [post.caption for post in page.posts]
        if not page.next_cursor:
            return seen
        cursor = page.next_cursor


def _the_rule(viewer) -> list[str]:
    """The feed as defined: visible posts by the viewer and whom they follow (or everyone)."""
    follows = Follow.objects.filter(follower=viewer)
    chosen = Q(author=viewer) | Q(author__in=follows.values("following")) | ~Exists(follows)
    posts = Post.objects.visible_to(viewer).filter(chosen).order_by("-created", "-id")
    return list(posts.values_list("caption", flat=True))


@pytest.fixture
def world(follower):
    """Felix follows a busy account, a quiet one that posted a year ago, a private account
    (approved), an account that blocked him and one with a hidden post; strangers post a lot."""
    people = {name: factories.user(username=name) for name in (
        "busy", "quiet", "private", "blocker", "hider", "stranger", "stranger2"
    )}  # fmt: skip
    people["private"].is_private = True
    people["private"].save()
    for name in ("busy", "quiet", "private", "blocker", "hider"):
        factories.follow(follower, people[name])
    Block.objects.create(blocker=people["blocker"], blocked=follower)
    now = timezone.now()
    for i in range(20):
        factories.post(people["busy"], f"busy {i}", created=now - timedelta(hours=i))
        factories.post(people["stranger"], f"stranger {i}", created=now - timedelta(minutes=i))
    for i in range(5):
        factories.post(people["quiet"], f"quiet {i}", created=now - timedelta(days=365 + i))
        factories.post(people["private"], f"private {i}", created=now - timedelta(hours=3 * i))
        factories.post(people["blocker"], f"blocker {i}", created=now - timedelta(hours=i))
        factories.post(follower, f"mine {i}", created=now - timedelta(hours=2 * i))
    hidden = factories.post(people["hider"], "hidden", created=now)
    Post.objects.filter(pk=hidden.pk).update(hidden_at=now)
    # Two posts at one instant are still ordered, across pages.
    factories.post(people["hider"], "same instant a", created=now - timedelta(hours=5))
    factories.post(people["busy"], "same instant b", created=now - timedelta(hours=5))
    return people


def test_the_feed_is_the_rule_page_after_page(world, follower, way):
    found = _feed(follower)
    assert found == _the_rule(follower)
    assert {"quiet 0", "private 0", "mine 0", "busy 0", "same instant a"} <= set(found)
    assert not {"stranger 0", "blocker 0", "hidden"} & set(found)


def test_a_reader_who_follows_no_one_sees_everyone_s_visible_posts(world, way):
    newcomer = factories.user(username="newcomer")
    found = _feed(newcomer)
    assert found == _the_rule(newcomer)
    assert "stranger 0" in found and "private 0" not in found and "hidden" not in found


def test_the_quiet_account_s_old_posts_fill_the_feed(world, outsider, way):
    factories.follow(outsider, world["quiet"])
    assert _feed(outsider) == [f"quiet {i}" for i in range(5)]


def test_a_staff_member_s_feed_shows_hidden_posts_of_those_they_follow(world, way):
    staff = factories.user(username="staffer", is_staff=True)
    factories.follow(staff, world["hider"])
    assert _feed(staff) == _the_rule(staff) == ["hidden", "same instant a"]
