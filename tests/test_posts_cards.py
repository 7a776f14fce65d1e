"""Feed cards come from a cache shared by every viewer (posts/cards.py): each change shows on
the next load, and no viewer ever gets another's state, token or hidden content."""

import re

import pytest
from django.core.cache import caches
from django.middleware.csrf import _unmask_cipher_token
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.storage import PRIVATE_URL_EXPIRES, PRIVATE_URL_WINDOW, MediaStorage
from members import services as member_services
from members.models import Block
from posts import services
from posts.cards import CACHE
from posts.models import Comment, Post, PostImage
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(cached_page):
    """The feed's HTML as ``viewer`` sees it, loaded twice so the second comes from the cache."""
    return lambda viewer, path="/": cached_page(viewer, path)


@pytest.fixture
def followed(owner, follower, outsider):
    """Olivia's post, followed by Felix and Oscar, with a comment by Oscar; cards cached."""
    factories.follow(follower, owner)
    factories.follow(outsider, owner)
    post = factories.post(owner, "sunset #beach")
    factories.comment(outsider, post, "lovely")
    return post


def card(page: str, post: Post) -> str:
    start = page.index(f'id="post-{post.code}"')
    return page[start : page.index("</article>", start)]


def test_a_like_by_someone_else_shows_in_every_viewer_s_next_load(feed, followed, follower, owner):
    assert "<strong data-like-count>0</strong> likes" in card(feed(owner), followed)
    services.like_create(user=follower, post=followed)
    assert "<strong data-like-count>1</strong> like<" in card(feed(owner), followed)


def test_a_new_comment_shows_on_the_next_load(feed, followed, follower, owner):
    assert "first!" not in feed(owner)
    services.comment_create(author=follower, post=followed, text="first!")
    assert "first!" in card(feed(owner), followed)


def test_an_edited_caption_replaces_the_cached_one(feed, followed, follower):
    assert "sunset" in feed(follower)
    services.post_update(post=followed, caption="moonrise", alt_texts={})
    page = feed(follower)
    assert "moonrise" in card(page, followed) and "sunset" not in page


def test_a_hidden_post_leaves_every_feed_but_its_author_s(feed, followed, follower, owner):
    assert f"post-{followed.code}" in feed(follower)
    Post.objects.filter(pk=followed.pk).update(hidden_at=timezone.now())
    assert f"post-{followed.code}" not in feed(follower)
    assert f"post-{followed.code}" in feed(owner)


def test_a_hidden_comment_leaves_the_card_for_others(feed, followed, follower, outsider):
    assert "lovely" in feed(follower)
    Comment.objects.filter(post=followed).update(hidden_at=timezone.now())
    assert "lovely" not in feed(follower)
    assert "lovely" in feed(outsider)  # its author still sees it


def test_a_block_hides_the_blocked_member_s_comment_only_from_the_blocker(
    feed, followed, follower, owner, outsider
):
    assert "lovely" in feed(follower)
    Block.objects.create(blocker=follower, blocked=outsider)
    assert "lovely" not in card(feed(follower), followed)
    assert "lovely" in card(feed(owner), followed)


def test_a_block_by_the_author_takes_the_post_out_of_the_blocked_feed(
    feed, followed, follower, owner
):
    assert f"post-{followed.code}" in feed(follower)
    Block.objects.create(blocker=owner, blocked=follower)
    assert f"post-{followed.code}" not in feed(follower)


def test_a_new_username_shows_on_cached_cards(feed, followed, follower, owner):
    assert ">olivia</a>" in feed(follower)
    owner.username = "olivia.new"
    owner.save()
    page = card(feed(follower), followed)
    assert ">olivia.new</a>" in page and ">olivia</a>" not in page


def test_my_like_is_mine_alone(feed, followed, follower, outsider):
    services.like_create(user=follower, post=followed)
    mine, theirs = card(feed(follower), followed), card(feed(outsider), followed)
    assert 'aria-label="Unlike"' in mine and 'value="unlike"' in mine
    assert 'aria-label="Like"' in theirs and 'value="like"' in theirs
    assert "Unlike" not in theirs


def test_each_viewer_gets_forms_with_their_own_csrf_token(client, feed, followed, follower, owner):
    for viewer in (follower, owner):
        page = feed(viewer)
        secret = client.cookies["csrftoken"].value
        tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert len(tokens) >= 3  # like, comment, log out
        assert {_unmask_cipher_token(token) for token in tokens} == {secret}


def test_only_the_comment_s_author_and_the_post_s_get_its_delete_button(
    feed, followed, follower, owner, outsider
):
    assert "Delete comment by oscar" in feed(outsider)
    assert "Delete comment by oscar" in feed(owner)
    assert "Delete comment by oscar" not in feed(follower)


def test_each_comment_form_gets_a_one_time_key_of_its_own(feed, followed, owner, follower):
    factories.post(owner, "second")
    keys = re.findall(r'name="submission" value="([^"]+)"', feed(follower))
    again = re.findall(r'name="submission" value="([^"]+)"', feed(follower))
    assert len(keys) == 2 and len(set(keys + again)) == 4


def test_forms_come_back_to_the_page_they_were_sent_from(feed, followed, follower):
    factories.post(follower, "mine")
    page = feed(follower, "/?after=garbage")
    assert 'name="next" value="/?after=garbage"' in page
    assert 'name="next" value="/"' not in page


def test_a_cached_card_keeps_its_relative_time_fresh(feed, followed, follower):
    Post.objects.filter(pk=followed.pk).update(created=timezone.now() - timezone.timedelta(hours=3))
    assert ">3h</time>" in feed(follower)


def test_my_saved_post_is_marked_for_me_alone(feed, followed, follower, outsider):
    services.saved_post_create(user=follower, post=followed)
    mine, theirs = card(feed(follower), followed), card(feed(outsider), followed)
    assert 'aria-label="Remove from saved"' in mine and 'value="unsave"' in mine
    assert 'aria-label="Save"' in theirs and 'value="save"' in theirs
    assert "Remove from saved" not in theirs
    assert f'action="/p/{followed.code}/save/"' in theirs


def test_a_mention_of_a_blocked_member_is_a_link_for_everyone_else_in_either_order(
    feed, owner, follower, outsider
):
    """Olivia mentions Oscar in a caption and a comment; Felix blocks Oscar. Whoever loads the
    card first, Felix never gets a link to Oscar and Olivia always does."""
    factories.follow(follower, owner)
    member_services.block_create(blocker=follower, blocked=outsider)
    link = '<a href="/oscar/">@oscar</a>'
    for order in ((owner, follower), (follower, owner)):
        caches[CACHE].clear()
        post = factories.post(owner, "with @oscar today")
        factories.comment(owner, post, "thanks @Oscar and @felix")
        pages = {viewer.pk: card(feed(viewer), post) for viewer in order}
        mine, felix = pages[owner.pk], pages[follower.pk]
        assert mine.count(link) == 1 and '<a href="/oscar/">@Oscar</a>' in mine
        assert 'href="/oscar/"' not in felix
        assert "with @oscar today" in felix and "thanks @Oscar and" in felix
        assert '<a href="/felix/">@felix</a>' in felix  # other mentions stay links


def test_a_member_in_no_block_shares_the_card_of_a_mention_with_everyone(
    feed, followed, owner, follower
):
    post = factories.post(owner, "hello @oscar")
    feed(owner)
    entries = len(caches[CACHE]._cache)
    assert '<a href="/oscar/">@oscar</a>' in card(feed(follower), post)
    assert len(caches[CACHE]._cache) == entries + 2  # Felix's suggestions and top bar only


def test_a_private_account_s_cached_card_gets_new_short_lived_photo_urls(
    feed, monkeypatch, owner, follower
):
    owner.is_private = True
    owner.save()
    factories.follow(follower, owner)
    post = factories.post(owner, "olivia only")
    key = post.images.get().display.name
    monkeypatch.setattr(MediaStorage, "clock", staticmethod(lambda: 1_773_500_400 + 60))
    first = card(feed(follower), post)
    assert re.findall(re.escape(key) + r"\?[^\"]*?X-Amz-Expires=(\d+)", first) == [
        str(PRIVATE_URL_EXPIRES)
    ]
    later = 1_773_500_400 + PRIVATE_URL_WINDOW + 60  # the next ten minutes, the same hour
    monkeypatch.setattr(MediaStorage, "clock", staticmethod(lambda: later))
    again = card(feed(follower), post)
    assert again != first
    assert escape(PostImage.objects.get(post=post).display_url) in again


def test_a_hidden_comment_is_marked_for_its_author_only(feed, followed, owner, outsider):
    Comment.objects.filter(post=followed).update(hidden_at=timezone.now())
    theirs = card(feed(outsider), followed)
    assert "lovely" in theirs and "(hidden by a moderator)" in theirs
    assert "hidden by a moderator" not in feed(owner)


def test_a_cached_card_keeps_its_comment_ages_fresh(feed, followed, follower):
    earlier = timezone.now() - timezone.timedelta(hours=5)
    Comment.objects.filter(post=followed).update(created=earlier)
    page = card(feed(follower), followed)
    assert re.search(r'class="comment__age muted"[^>]*>5h</time>', page)


def test_cards_render_once_for_every_viewer(feed, followed, follower, outsider, owner):
    caches[CACHE].clear()
    feed(follower)
    entries = len(caches[CACHE]._cache)
    feed(owner)  # the same card: Oscar's comment is seen by all three
    assert len(caches[CACHE]._cache) == entries + 2  # only Olivia's suggestions and top bar


# Any text a member can store (PostgreSQL text holds no NUL) comes out escaped in the card and
# never reaches into a slot: the card has its forms and nothing else.
stored_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(caption=stored_text, comment=stored_text)
def test_any_caption_and_comment_stay_text_in_a_cached_card(client, owner, caption, comment):
    post = factories.post(owner, caption)
    factories.comment(owner, post, comment)
    client.force_login(owner)
    client.get("/")
    page = card(client.get("/").content.decode(), post)
    assert "\x00" not in page
    assert page.count("<form") == 4  # like, save, the comment's delete, the new comment
    assert page.count("<script") == 0
    Post.objects.filter(pk=post.pk).delete()


def test_a_like_shows_on_the_cached_profile_grid(client, followed, follower, outsider):
    client.force_login(outsider)
    client.get("/olivia/")
    services.like_create(user=follower, post=followed)
    page = client.get("/olivia/").content.decode()
    assert 'aria-hidden="true">' in page and "</svg> 1 &nbsp;" in page


def test_a_hidden_post_leaves_the_cached_profile_grid(client, followed, outsider):
    client.force_login(outsider)
    assert f'href="/p/{followed.code}/"' in client.get("/olivia/").content.decode()
    Post.objects.filter(pk=followed.pk).update(hidden_at=timezone.now())
    assert f'href="/p/{followed.code}/"' not in client.get("/olivia/").content.decode()


# The top bar of every page, cached per member (posts.cards.topbar).


def topbar(page: str) -> str:
    start = page.index('<header class="topbar">')
    return page[start : page.index("</header>", start)]


def test_the_top_bar_links_each_member_to_their_own_profile(feed, followed, follower, outsider):
    mine, theirs = topbar(feed(follower)), topbar(feed(outsider))
    assert 'href="/felix/" class="nav__me"' in mine and "oscar" not in mine
    assert 'href="/oscar/" class="nav__me"' in theirs and "felix" not in theirs


def test_a_new_activity_shows_in_the_top_bar_on_the_next_load(feed, followed, owner, follower):
    assert "data-unread" not in topbar(feed(owner))
    services.like_create(user=follower, post=followed)
    assert "data-unread>1<" in topbar(feed(owner))


def test_a_new_username_shows_in_the_top_bar(feed, followed, follower):
    assert 'href="/felix/"' in topbar(feed(follower))
    follower.username = "felix.new"
    follower.save()
    bar = topbar(feed(follower))
    assert 'href="/felix.new/"' in bar and 'href="/felix/"' not in bar


def test_a_new_profile_photo_shows_in_the_top_bar(feed, followed, follower):
    assert "avatar--empty" in topbar(feed(follower))
    follower.avatar = "avatars/felix-new.jpg"
    follower.save()
    bar = topbar(feed(follower))
    assert "avatars/felix-new.jpg" in bar and "avatar--empty" not in bar


def test_the_top_bar_marks_the_page_shown(feed, followed, follower):
    home, explore = topbar(feed(follower)), topbar(feed(follower, "/explore/"))
    assert 'href="/" aria-current="page"' in home and 'href="/explore/" aria-current' not in home
    assert 'href="/explore/" aria-current="page"' in explore
    assert 'href="/" aria-current' not in explore


def test_a_visitor_after_a_member_gets_the_visitor_s_top_bar(client, feed, followed, follower):
    feed(follower, "/explore/")
    client.logout()
    client.get("/explore/")
    bar = topbar(client.get("/explore/").content.decode())
    assert ">Log in</a>" in bar and "felix" not in bar and "csrfmiddlewaretoken" not in bar
