"""The one rule of who sees what (posts.models.post_visibility and its twins), table-driven:
each viewer against a public post, a private account's post and a hidden post."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from members.models import Block, User
from posts.models import Comment, Post
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """A public author, a private one with an approved follower, blocks both ways, staff."""
    people = {name: factories.user(username=name) for name in (
        "public", "private", "follower", "outsider", "blocked", "blocker", "staff"
    )}  # fmt: skip
    people["private"].is_private = True
    people["private"].save()
    people["staff"].is_staff = True
    people["staff"].save()
    factories.follow(people["follower"], people["private"])
    Block.objects.create(blocker=people["public"], blocked=people["blocked"])
    Block.objects.create(blocker=people["blocker"], blocked=people["public"])
    posts = {
        "public": factories.post(people["public"], "public post"),
        "private": factories.post(people["private"], "private post"),
        "hidden": factories.post(people["public"], "hidden post"),
    }
    Post.objects.filter(pk=posts["hidden"].pk).update(hidden_at=timezone.now())
    return people, posts


# viewer → the posts they see, of public, private and hidden.
SEES = {
    "visitor": {"public"},
    "public": {"public", "hidden"},  # the author sees their own hidden post
    "private": {"public", "private"},
    "follower": {"public", "private"},
    "outsider": {"public"},
    "blocked": set(),
    "blocker": set(),
    "staff": {"public", "hidden"},
}


@pytest.mark.parametrize("viewer", SEES)
def test_each_viewer_sees_exactly_the_posts_the_rule_allows(world, viewer):
    people, _ = world
    who = AnonymousUser() if viewer == "visitor" else people[viewer]
    seen = set(Post.objects.visible_to(who).values_list("caption", flat=True))
    assert seen == {f"{name} post" for name in SEES[viewer]}


@pytest.mark.parametrize("viewer", SEES)
def test_comments_follow_their_post_and_their_author(world, viewer):
    people, posts = world
    factories.comment(people["outsider"], posts["public"], "outsider's comment")
    factories.comment(people["blocked"], posts["private"], "on a private post")
    hidden = factories.comment(people["outsider"], posts["public"], "hidden comment")
    Comment.objects.filter(pk=hidden.pk).update(hidden_at=timezone.now())
    who = AnonymousUser() if viewer == "visitor" else people[viewer]
    seen = set(Comment.objects.visible_to(who).values_list("text", flat=True))
    expected = set()
    if "public" in SEES[viewer]:
        expected.add("outsider's comment")
        if viewer in ("staff", "outsider"):
            expected.add("hidden comment")  # its author and staff see a hidden comment
    if "private" in SEES[viewer]:
        expected.add("on a private post")
    assert seen == expected


def test_blocks_hide_members_from_each_other_both_ways_and_suspended_ones_from_all(world):
    people, _ = world
    people["outsider"].is_active = False
    people["outsider"].save()
    visible = set(User.objects.visible_to(people["public"]).values_list("username", flat=True))
    assert visible == {"public", "private", "follower", "staff"}
    assert "outsider" not in set(
        User.objects.visible_to(AnonymousUser()).values_list("username", flat=True)
    )
