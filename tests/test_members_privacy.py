"""Private accounts, follow requests, removing followers and blocking, as members use them.

Olivia (the owner) has a private account; Felix follows her, Oscar is an outsider. Who sees
which post on every page is the access matrix's (tests/test_access_matrix.py); here are the
actions.
"""

import html
import re
from datetime import UTC, datetime

import botocore.auth
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from config.storage import PRIVATE_URL_EXPIRES, URL_EXPIRES, MediaStorage
from members import services
from members.models import Block, Follow, FollowRequest, User
from posts import services as post_services
from posts.text import linkify
from tests import factories
from tests.test_storage_urls import ENDPOINTS, KEYS, WINDOW_START, query, storage_for

pytestmark = pytest.mark.django_db

JSON = {"accept": "application/json"}


@pytest.fixture
def private(owner, follower):
    """Olivia, private, followed by Felix, with a post."""
    owner.is_private = True
    owner.save()
    factories.follow(follower, owner)
    post = factories.post(owner, "olivia only")
    return owner, post


def _as(client, user):
    client.force_login(user)
    return client


# Private accounts


def test_the_edit_page_has_a_private_account_switch_that_saves(client, owner):
    _as(client, owner)
    assert 'name="is_private"' in client.get("/accounts/edit/").content.decode()
    client.post("/accounts/edit/", {"username": "olivia", "is_private": "on"})
    assert User.objects.get(username="olivia").is_private


def test_an_outsider_sees_the_private_notice_with_counts_and_no_photos(client, private, outsider):
    _, post = private
    page = _as(client, outsider).get("/olivia/").content.decode()
    assert "This account is private" in page
    assert "<strong>1</strong> post" in page and "<strong>1</strong> follower" in page
    assert post.images.get().thumbnail.name not in page
    assert "/olivia/followers/" not in page  # the counts are not links to the lists
    assert client.get("/olivia/followers/").status_code == 404


def test_following_a_private_account_asks_and_the_button_says_requested(client, private, outsider):
    _as(client, outsider).post("/olivia/follow/")
    assert FollowRequest.objects.filter(requester=outsider, target=private[0]).exists()
    assert not Follow.objects.filter(follower=outsider).exists()
    page = client.get("/olivia/").content.decode()
    assert ">Requested</button>" in page and "This account is private" in page


def test_the_requester_can_cancel_the_request(client, private, outsider):
    _as(client, outsider).post("/olivia/follow/")
    client.post("/olivia/follow/cancel/")
    assert not FollowRequest.objects.exists()
    assert ">Follow</button>" in client.get("/olivia/").content.decode()


def test_the_owner_approves_on_the_activity_page_and_the_follower_sees_the_posts(
    client, private, outsider
):
    owner, post = private
    services.follow_create(follower=outsider, following=owner)
    page = _as(client, owner).get("/accounts/activity/").content.decode()
    assert "oscar" in page and ">Approve</button>" in page and ">Decline</button>" in page
    assert 'action="/accounts/requests/oscar/approve/"' in page
    client.post("/accounts/requests/oscar/approve/")
    assert "requests/oscar/approve" not in client.get("/accounts/activity/").content.decode()
    response = _as(client, outsider).get(post.get_absolute_url())
    assert response.status_code == 200 and "olivia only" in response.content.decode()


def test_a_declined_requester_stays_outside(client, private, outsider):
    owner, post = private
    services.follow_create(follower=outsider, following=owner)
    _as(client, owner).post("/accounts/requests/oscar/decline/")
    assert not FollowRequest.objects.exists() and not Follow.objects.filter(follower=outsider)
    assert _as(client, outsider).get(post.get_absolute_url()).status_code == 404


def test_only_the_account_asked_can_approve_a_request(client, private, outsider):
    owner, _ = private
    services.follow_create(follower=outsider, following=owner)
    _as(client, outsider).post("/accounts/requests/oscar/approve/")
    assert FollowRequest.objects.exists() and not Follow.objects.filter(follower=outsider)


def test_going_public_approves_every_pending_request(client, private, outsider):
    owner, _ = private
    askers = [outsider, factories.user(username="ann"), factories.user(username="ben")]
    for asker in askers:
        services.follow_create(follower=asker, following=owner)
    _as(client, owner).post("/accounts/edit/", {"username": "olivia"})
    assert not User.objects.get(pk=owner.pk).is_private
    assert not FollowRequest.objects.exists()
    followers = set(Follow.objects.filter(following=owner).values_list("follower__username"))
    assert followers == {("felix",), ("oscar",), ("ann",), ("ben",)}


def test_a_public_account_is_followed_at_once(client, owner, outsider):
    _as(client, outsider).post("/olivia/follow/")
    assert Follow.objects.filter(follower=outsider, following=owner).exists()
    assert not FollowRequest.objects.exists()


# Removing a follower


def test_a_removed_follower_loses_access_at_once(client, private, follower):
    owner, post = private
    assert _as(client, follower).get(post.get_absolute_url()).status_code == 200
    page = _as(client, owner).get("/olivia/followers/").content.decode()
    assert 'action="/accounts/followers/felix/remove/"' in page
    client.post("/accounts/followers/felix/remove/")
    assert _as(client, follower).get(post.get_absolute_url()).status_code == 404
    assert "olivia only" not in client.get("/").content.decode()
    assert "This account is private" in client.get("/olivia/").content.decode()


def test_no_one_else_can_remove_a_follower(client, private, follower, outsider):
    owner, _ = private
    page = _as(client, follower).get("/olivia/followers/").content.decode()
    assert ">Remove</button>" not in page
    _as(client, outsider).post("/accounts/followers/felix/remove/")
    assert Follow.objects.filter(follower=follower, following=owner).exists()


# Blocking


def test_a_profile_has_a_block_form_and_blocking_cuts_follows_and_requests_both_ways(
    client, owner, follower
):
    factories.follow(follower, owner)
    factories.follow(owner, follower)
    follower.is_private = True
    follower.save()
    page = _as(client, owner).get("/felix/").content.decode()
    assert 'action="/felix/block/"' in page
    client.post("/felix/block/")
    assert Block.objects.filter(blocker=owner, blocked=follower).exists()
    assert not Follow.objects.exists() and not FollowRequest.objects.exists()


def test_neither_side_sees_the_other_or_can_follow_like_or_comment(client, owner, outsider):
    mine = factories.post(owner, "olivia's post")
    theirs = factories.post(outsider, "oscar's post")
    factories.comment(outsider, mine, "a comment by oscar")
    page = _as(client, owner).get(mine.get_absolute_url()).content.decode()
    assert "a comment by oscar" in page
    services.block_create(blocker=owner, blocked=outsider)
    for viewer, other, post in ((owner, "oscar", theirs), (outsider, "olivia", mine)):
        _as(client, viewer)
        assert client.get(f"/{other}/").status_code == 404
        assert client.get(post.get_absolute_url()).status_code == 404
        assert client.post(f"/{other}/follow/").status_code == 404
        assert client.post(f"/p/{post.code}/like/", headers=JSON).status_code == 404
        assert client.post(f"/p/{post.code}/comments/", {"text": "hi"}).status_code == 404
    assert not Follow.objects.exists()
    # Olivia no longer sees Oscar's comment under her own post.
    assert (
        "oscar&#x27;s comment"
        not in _as(client, owner).get(mine.get_absolute_url()).content.decode()
    )


def test_blocked_accounts_are_listed_in_the_settings_and_can_be_unblocked(client, owner, outsider):
    _as(client, owner).post("/oscar/block/")
    page = client.get("/accounts/settings/").content.decode()
    assert "oscar" in page and 'action="/oscar/unblock/"' in page
    client.post("/oscar/unblock/")
    assert not Block.objects.exists()
    assert client.get("/oscar/").status_code == 200
    assert "You block no one" in client.get("/accounts/settings/").content.decode()


def test_a_mention_of_a_blocked_member_is_not_a_link_and_not_recorded(client, owner, outsider):
    services.block_create(blocker=outsider, blocked=owner)
    factories.user(username="ann")
    post = factories.post(owner, "")
    post_services.post_update(post=post, caption="hi @oscar and @ann", alt_texts={})
    assert set(post.mentions.values_list("username", flat=True)) == {"ann"}
    page = _as(client, owner).get(post.get_absolute_url()).content.decode()
    assert "@oscar" in page and 'href="/oscar/"' not in page
    assert 'href="/ann/"' in page


def test_a_member_cannot_block_themselves(client, owner):
    _as(client, owner).post("/olivia/block/")
    assert not Block.objects.exists()


# Linking mentions: whatever the text, a name left unlinked is never a link.

LINK_RE = re.compile(r'<a href="([^"<>]*)">|</a>')
names = st.text("ab.", min_size=1, max_size=3).filter(lambda n: n[-1] != ".")
texts = st.lists(
    st.one_of(st.sampled_from(["@", " ", "#", "<", ".", "a", "b"]), names.map("@{}".format)),
    max_size=12,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(texts, st.frozensets(names, max_size=3))
def test_unlinked_names_are_never_links_and_the_text_reads_the_same(text, unlinked):
    rendered = str(linkify(text, unlinked))
    assert html.unescape(LINK_RE.sub("", rendered)) == text
    for name in unlinked:
        assert f'href="/{name}/"' not in rendered


# Photo URLs


def _expires(page: str, key: str) -> set[str]:
    """The X-Amz-Expires of every URL of ``key`` in ``page``."""
    return set(re.findall(re.escape(key) + r"\?[^\"]*?X-Amz-Expires=(\d+)", page))


def test_a_private_accounts_photo_urls_expire_sooner_and_public_ones_as_before(
    client, private, outsider
):
    owner, post = private
    public = factories.post(outsider, "oscar public")
    _as(client, owner)
    detail = client.get(post.get_absolute_url()).content.decode()
    assert _expires(detail, post.images.get().display.name) == {str(PRIVATE_URL_EXPIRES)}
    grid = client.get("/olivia/").content.decode()
    assert _expires(grid, post.images.get().thumbnail.name) == {str(PRIVATE_URL_EXPIRES)}
    detail = client.get(public.get_absolute_url()).content.decode()
    assert _expires(detail, public.images.get().display.name) == {str(URL_EXPIRES)}
    assert PRIVATE_URL_EXPIRES <= 20 * 60 < URL_EXPIRES


@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
def test_private_photo_urls_are_botocore_s_for_the_ten_minutes_they_are_issued_in(
    monkeypatch, endpoint
):
    issued = WINDOW_START + 1500  # 25 minutes into the hour: the window from 20 minutes on
    signed_at = datetime.fromtimestamp(WINDOW_START + 1200, UTC).replace(tzinfo=None)
    monkeypatch.setattr(MediaStorage, "clock", staticmethod(lambda: issued))
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)
    storage = storage_for(endpoint)
    client = storage.connection.meta.client
    for key in KEYS:
        expected = client.generate_presigned_url(
            "get_object",
            Params={"Bucket": storage.bucket_name, "Key": f"media/{key}"},
            ExpiresIn=PRIVATE_URL_EXPIRES,
        )
        assert storage.private_url(key) == expected
    monkeypatch.setattr(MediaStorage, "clock", staticmethod(lambda: WINDOW_START + 1799))
    assert storage.private_url(KEYS[0]) == storage.private_url(KEYS[0])
    same_window = storage.private_url(KEYS[0])
    monkeypatch.setattr(MediaStorage, "clock", staticmethod(lambda: WINDOW_START + 1800))
    assert storage.private_url(KEYS[0]) != same_window
    # Public URLs keep their hour.
    assert query(storage.url(KEYS[0]))["X-Amz-Date"].endswith("T150000Z")


def _feed_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


def test_the_feed_reads_whose_mentions_to_leave_unlinked_only_for_members_in_a_block(
    client, owner, follower, outsider
):
    for n in range(3):
        factories.post(owner, f"post {n} with @oscar")
    _as(client, follower)
    unblocked = _feed_queries(client)
    services.block_create(blocker=follower, blocked=outsider)
    assert _feed_queries(client) == unblocked + 1
    for n in range(20):
        factories.post(owner, f"more {n} with @oscar")
    assert _feed_queries(client) == unblocked + 1
    assert 'href="/oscar/"' not in client.get("/").content.decode()
