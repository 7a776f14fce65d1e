"""The activity page is rendered once for what it shows and cached (activity/views.py): each
change shows on the next load, and no member ever gets another's entries or CSRF token."""

import re

import pytest
from django.core.cache import caches
from django.middleware.csrf import _unmask_cipher_token
from django.utils import timezone

from members import services as member_services
from posts import services as post_services
from posts.cards import CACHE
from posts.models import Comment
from tests import factories

pytestmark = pytest.mark.django_db

ACTIVITY = "/accounts/activity/"


@pytest.fixture
def activity(cached_page):
    """The activity page's HTML as ``member`` sees it, loaded twice so the second comes from
    the cache."""
    return lambda member, path=ACTIVITY: cached_page(member, path)


def text(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def test_a_new_like_shows_on_the_next_load(activity, owner, follower, outsider):
    post = factories.post(owner)
    post_services.like_create(user=follower, post=post)
    assert "felix liked your post." in text(activity(owner))
    post_services.like_create(user=outsider, post=post)
    assert "oscar and felix liked your post." in text(activity(owner))


def test_a_new_comment_shows_on_the_next_load(activity, owner, follower):
    post = factories.post(owner)
    post_services.like_create(user=follower, post=post)
    assert "commented" not in activity(owner)
    post_services.comment_create(author=follower, post=post, text="first!")
    assert "felix commented: first!" in text(activity(owner))


def test_following_back_changes_the_button_on_the_next_load(activity, owner, follower):
    member_services.follow_create(follower=follower, following=owner)
    assert ">Follow</button>" in activity(owner)
    member_services.follow_create(follower=owner, following=follower)
    page = activity(owner)
    assert ">Following</button>" in page and ">Follow</button>" not in page


def test_a_block_takes_the_blocked_member_out_on_the_next_load(activity, owner, follower):
    post = factories.post(owner)
    post_services.comment_create(author=follower, post=post, text="hello")
    assert "felix" in activity(owner)
    member_services.block_create(blocker=owner, blocked=follower)
    assert "felix" not in activity(owner)


def test_a_hidden_comment_leaves_the_page_on_the_next_load(activity, owner, follower):
    post = factories.post(owner)
    post_services.comment_create(author=follower, post=post, text="rude words")
    assert "rude words" in activity(owner)
    Comment.objects.filter(post=post).update(hidden_at=timezone.now())
    assert "rude words" not in activity(owner)


def test_a_new_username_shows_on_the_next_load(activity, owner, follower):
    member_services.follow_create(follower=follower, following=owner)
    assert "felix started following you." in text(activity(owner))
    follower.username = "felix.new"
    follower.save()
    assert "felix.new started following you." in text(activity(owner))


def test_an_approved_request_leaves_the_follow_requests_on_the_next_load(activity, follower):
    private = factories.user(username="petra", is_private=True)
    member_services.follow_request_create(requester=follower, target=private)
    assert "Approve felix" in activity(private)
    member_services.follow_request_approve(target=private, requester=follower)
    assert "Approve felix" not in activity(private)


def test_a_cached_page_keeps_its_relative_times_fresh(activity, owner, follower, monkeypatch):
    member_services.follow_create(follower=follower, following=owner)
    assert ">now</time>" in activity(owner)
    later = timezone.now() + timezone.timedelta(hours=3, minutes=1)
    monkeypatch.setattr("posts.text.timezone.now", lambda: later)
    assert ">3h</time>" in activity(owner)


def test_each_member_sees_their_own_entries_with_their_own_csrf_token(
    client, activity, owner, follower, outsider
):
    member_services.follow_create(follower=outsider, following=owner)
    member_services.follow_create(follower=outsider, following=follower)
    for member in (owner, follower):
        page = activity(member)
        assert "oscar started following you." in text(page)
        secret = client.cookies["csrftoken"].value
        tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert len(tokens) >= 2  # follow back, log out
        assert {_unmask_cipher_token(token) for token in tokens} == {secret}
    post = factories.post(owner)
    post_services.like_create(user=outsider, post=post)
    assert "liked your post" in activity(owner)
    assert "liked your post" not in activity(follower)


def test_forms_come_back_to_the_page_they_were_sent_from(activity, owner, follower):
    member_services.follow_create(follower=follower, following=owner)
    page = activity(owner, ACTIVITY + "?after=garbage")
    assert f'name="next" value="{ACTIVITY}?after=garbage"' in page
    assert f'name="next" value="{ACTIVITY}"' not in page


def test_the_page_renders_once_until_it_changes(activity, owner, follower):
    member_services.follow_create(follower=follower, following=owner)
    caches[CACHE].clear()
    activity(owner)
    entries = len(caches[CACHE]._cache)
    activity(owner)
    assert len(caches[CACHE]._cache) == entries
