"""The post page's article comes from the cache of rendered posts (posts.cards.detail): each
change shows on the next load, and no viewer ever gets another's state, token, buttons or
hidden content."""

import re

import pytest
from django.core.cache import caches
from django.middleware.csrf import _unmask_cipher_token
from django.utils import timezone

from members import services as member_services
from members.models import User
from posts import services
from posts.cards import CACHE
from posts.models import Comment, Post
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(owner, outsider):
    """Olivia's public post with a comment by Oscar."""
    made = factories.post(owner, "sunset #beach")
    factories.comment(outsider, made, "lovely")
    return made


@pytest.fixture
def page(cached_page, post):
    """The post page as ``viewer`` (None: a visitor) sees it, loaded twice so the second
    comes from the cache."""
    return lambda viewer, path=None: cached_page(viewer, path or post.get_absolute_url())


def test_a_like_by_someone_else_shows_on_every_viewer_s_next_load(page, post, owner, follower):
    assert "<strong data-like-count>0</strong> likes" in page(owner)
    services.like_create(user=follower, post=post)
    assert "<strong data-like-count>1</strong> like<" in page(owner)


def test_my_like_is_mine_alone(page, post, follower, outsider):
    services.like_create(user=follower, post=post)
    mine, theirs = page(follower), page(outsider)
    assert 'aria-label="Unlike"' in mine
    assert 'aria-label="Like"' in theirs and "Unlike" not in theirs


def test_a_new_comment_shows_on_the_next_load(page, post, follower, owner):
    assert "first!" not in page(owner)
    services.comment_create(author=follower, post=post, text="first!")
    assert "first!" in page(owner)


def test_an_edited_caption_replaces_the_cached_one(page, post, follower):
    assert "sunset" in page(follower)
    services.post_update(post=post, caption="moonrise", alt_texts={})
    shown = page(follower)
    assert "moonrise" in shown and "sunset" not in shown


def test_a_hidden_comment_leaves_the_page_for_others_and_is_marked_for_its_author(
    page, post, follower, outsider
):
    assert "lovely" in page(follower)
    Comment.objects.filter(post=post).update(hidden_at=timezone.now())
    assert "lovely" not in page(follower)
    mine = page(outsider)
    assert "lovely" in mine and "(hidden by a moderator)" in mine


def test_a_hidden_post_is_its_author_s_alone(page, client, post, owner, follower):
    assert "sunset" in page(follower)
    Post.objects.filter(pk=post.pk).update(hidden_at=timezone.now())
    client.force_login(follower)
    assert client.get(post.get_absolute_url()).status_code == 404
    assert "only you and staff can see it" in page(owner)


def test_a_block_hides_the_blocked_member_s_comment_only_from_the_blocker(
    page, post, owner, follower, outsider
):
    assert "lovely" in page(follower)
    member_services.block_create(blocker=follower, blocked=outsider)
    assert "lovely" not in page(follower)
    assert "lovely" in page(owner)


def test_a_mention_of_a_blocked_member_is_a_link_for_everyone_else_in_either_order(
    page, owner, follower
):
    """Olivia mentions Petra, whom Felix blocks; the comments shown are the same for both.
    Whoever loads the page first, Felix never gets a link to Petra and Olivia always does."""
    factories.user(username="petra")
    member_services.block_create(blocker=follower, blocked=User.objects.get(username="petra"))
    link = '<a href="/petra/">@petra</a>'
    for order in ((owner, follower), (follower, owner)):
        caches[CACHE].clear()
        post = factories.post(owner, "with @petra today")
        path = post.get_absolute_url()
        shown = {viewer.pk: page(viewer, path) for viewer in order}
        assert link in shown[owner.pk]
        assert (
            "with @petra today" in shown[follower.pk] and 'href="/petra/"' not in shown[follower.pk]
        )


def test_each_viewer_gets_forms_with_their_own_csrf_token(client, page, post, owner, follower):
    for viewer in (follower, owner):
        shown = page(viewer)
        secret = client.cookies["csrftoken"].value
        tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', shown)
        assert len(tokens) >= 4  # like, comment, a report or delete form, log out
        assert {_unmask_cipher_token(token) for token in tokens} == {secret}


def test_edit_and_delete_are_the_author_s_alone(page, post, owner, follower):
    edit = f'href="/p/{post.code}/edit/"'
    assert edit in page(owner) and f'action="/p/{post.code}/delete/"' in page(owner)
    assert edit not in page(follower) and "/delete/" not in page(follower)
    assert edit not in page(None)


def test_report_forms_are_for_others_than_the_author_and_only_members(
    page, post, owner, follower, outsider
):
    comment = post.comments.get()
    report_post = f'action="/p/{post.code}/report/"'
    report_comment = f'action="/p/{post.code}/comments/{comment.pk}/report/"'
    theirs = page(follower)
    assert report_post in theirs and report_comment in theirs
    mine = page(owner)
    assert report_post not in mine and report_comment in mine
    commenter = page(outsider)
    assert report_post in commenter and report_comment not in commenter
    assert "/report/" not in page(None)


def test_only_the_comment_s_author_and_the_post_s_get_its_delete_button(
    page, post, owner, follower, outsider
):
    assert "Delete comment by oscar" in page(outsider)
    assert "Delete comment by oscar" in page(owner)
    assert "Delete comment by oscar" not in page(follower)


def test_a_visitor_gets_no_comment_form_and_a_member_does(page, post, follower):
    assert "data-comment-form" not in page(None)
    assert "data-comment-form" in page(follower)
    assert "data-comment-form" not in page(None)


def test_forms_come_back_to_the_page_they_were_sent_from(page, post, follower):
    shown = page(follower, f"/p/{post.code}/?from=feed")
    assert f'name="next" value="/p/{post.code}/?from=feed"' in shown
    assert f'name="next" value="/p/{post.code}/"' not in shown


def test_a_cached_page_keeps_its_comment_ages_fresh(page, post, follower):
    assert re.search(r'class="comment__age muted"[^>]*>now</time>', page(follower))
    Comment.objects.filter(post=post).update(created=timezone.now() - timezone.timedelta(hours=5))
    assert re.search(r'class="comment__age muted"[^>]*>5h</time>', page(follower))


def test_the_article_renders_once_for_every_viewer_alike(page, post, follower, outsider):
    page(follower)
    caches[CACHE].clear()
    page(follower)
    entries = len(caches[CACHE]._cache)
    page(outsider)  # Oscar sees the same comments and is logged in: the same article
    assert len(caches[CACHE]._cache) == entries + 1  # only Oscar's top bar
