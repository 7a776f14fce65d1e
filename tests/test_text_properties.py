"""Property tests: no text anyone sends, in a form or in a URL, makes the site answer 500.

Hypothesis writes the text: any Unicode (surrogates aside, which no HTTP request can carry),
biased towards what has broken things before (#, @, periods, "İ", whose lowercase is two
characters, bidi and zero-width characters, markup, NUL). The test client re-raises any error a
view raises, so each request below would fail the test with the error a 500 hides.
Examples are few and unhurried (max_examples, deadline=None), so the module stays fast.
"""

import html
import re
from urllib.parse import quote, quote_from_bytes

import pytest
from django.db import transaction
from django.template.defaultfilters import linebreaksbr
from django.test import Client
from django.urls import resolve
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members.models import USERNAME_MAX_LENGTH, User
from posts.models import (
    ALT_TEXT_MAX_LENGTH,
    CAPTION_MAX_LENGTH,
    COMMENT_MAX_LENGTH,
    Comment,
    Post,
    PostImage,
    Tag,
)
from posts.text import TAG_MAX_LENGTH, hashtags, linkify, mentions, tag_name
from tests import factories

# Each example goes through a test that holds database fixtures for the whole run; every example
# undoes its own writes (see rolled_back), so sharing them is safe.
bounded = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
pure = settings(max_examples=100, deadline=None)

# Pieces of text that broke pages before, or could: tag and mention marks ("@." took pages
# down), the letter whose lowercase is longer, final sigma, a combining dot, invisible and
# right-to-left characters, markup, a line break, NUL, a percent sign.
PIECES = ["#", "@", ".", "_", "İ", "\u0131", "Σ", "ß", "\u0307", "\u200b", "\u202e", "<", "&", '"']
PIECES += ["/", " ", "\n", "\x00", "%", "a", "Z", "9", "@.", "#İ"]
# A run of one letter: "#" and 60 "İ" made a tag too long for its column, 128 "İ" a log-in.
runs = st.builds(
    lambda letter, count: letter * count, st.sampled_from("İaΣß."), st.integers(2, 260)
)
any_text = st.lists(
    st.one_of(
        st.sampled_from(PIECES),
        st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=3),
        runs,
    ),
    max_size=10,
).map("".join)


def storable(limit: int) -> st.SearchStrategy[str]:
    """Text a row can hold: PostgreSQL text cannot hold NUL (every form refuses it), and no
    longer than the column."""
    return any_text.map(lambda text: text.replace("\x00", "")[:limit])


LINK_RE = re.compile(r'<a href="([^"<>]*)">|</a>')


@pytest.fixture
def rolled_back():
    """Undo one example's writes, so the next starts from the same rows."""

    def run(example):
        with transaction.atomic():
            example()
            transaction.set_rollback(True)

    return run


# Turning text into HTML


@pure
@given(any_text)
def test_linking_shows_exactly_the_text_and_adds_only_links_into_the_site(text):
    rendered = str(linkify(text))
    assert html.unescape(LINK_RE.sub("", rendered)) == text
    assert "<" not in LINK_RE.sub("", rendered)
    for href in filter(None, LINK_RE.findall(rendered)):
        assert resolve(html.unescape(href)).view_name in ("posts:tag", "members:profile")


@pure
@given(any_text)
def test_every_tag_fits_its_column_and_reads_back_as_itself(text):
    for tag in hashtags(text):
        assert 1 <= len(tag) <= TAG_MAX_LENGTH
        assert tag == tag.lower() == tag_name(tag)
        assert hashtags(f"#{tag}") == [tag]


@pure
@given(any_text)
def test_every_mention_is_a_possible_username(text):
    for name in mentions(text):
        assert re.fullmatch(r"[a-z0-9._]*[a-z0-9_]", name)
        assert len(name) <= USERNAME_MAX_LENGTH


# Pages through the real templates, with any text in every field people write


def signed_in_as(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def readers(owner, follower) -> tuple[Client, Client]:
    """The owner's client and a follower's (made once: each example is rolled back)."""
    factories.follow(follower, owner)
    return signed_in_as(owner), signed_in_as(follower)


@pytest.mark.django_db
@settings(bounded, max_examples=12)
@given(
    caption=storable(CAPTION_MAX_LENGTH),
    comment=storable(COMMENT_MAX_LENGTH),
    alt=storable(ALT_TEXT_MAX_LENGTH),
    bio=storable(150),
    full_name=storable(150),
)
def test_posts_profiles_and_feeds_show_any_text(
    client, owner, follower, readers, rolled_back, caption, comment, alt, bio, full_name
):
    as_owner, as_follower = readers

    def page(viewer: Client, url: str) -> str:
        response = viewer.get(url)
        assert response.status_code == 200, url
        return response.content.decode()

    def example():
        User.objects.filter(pk=owner.pk).update(full_name=full_name, bio=bio)
        post = factories.post(owner, caption)
        PostImage.objects.filter(post=post).update(alt_text=alt)
        factories.comment(follower, post, comment)
        shown = (str(linkify(caption)), str(linkify(comment)), escape(alt))
        assert all(text in page(client, post.get_absolute_url()) for text in shown)
        assert all(text in page(as_follower, "/") for text in shown)
        profile = page(as_owner, "/olivia/")
        assert escape(full_name) in profile and escape(alt) in profile
        assert linebreaksbr(linkify(bio)) in profile  # bios link tags and mentions too

    rolled_back(example)


# Writes: whatever is typed is stored within its columns, or refused with a message


@pytest.mark.django_db
@bounded
@given(caption=any_text, alt=any_text)
def test_an_edit_with_any_caption_and_alt_text_saves_or_says_why(
    client, owner, rolled_back, caption, alt
):
    def example():
        post = factories.post(owner, "before")
        image = post.images.get()
        client.force_login(owner)
        response = client.post(post.get_absolute_url() + "edit/", {
            "caption": caption, f"alt_{image.pk}": alt
        })  # fmt: skip
        if response.status_code == 200:
            assert response.context["form"].errors
            assert Post.objects.get().caption == "before"
            return
        assert response.status_code == 302
        post.refresh_from_db()
        assert sorted(tag.name for tag in post.tags.all()) == sorted(hashtags(post.caption))
        for tag in Tag.objects.all():
            assert client.get(tag.get_absolute_url()).status_code == 200

    rolled_back(example)


@pytest.mark.django_db
@bounded
@given(text=any_text)
def test_a_comment_with_any_text_is_shown_or_refused(client, owner, rolled_back, text):
    def example():
        post = factories.post(owner)
        client.force_login(owner)
        response = client.post(
            post.get_absolute_url() + "comments/",
            {"text": text},
            headers={"Accept": "application/json"},
        )
        assert response.status_code in (200, 400)
        assert Comment.objects.exists() == (response.status_code == 200)
        assert client.get(post.get_absolute_url()).status_code == 200

    rolled_back(example)


@pytest.mark.django_db
@bounded
@given(full_name=any_text, username=any_text, email=any_text, bio=any_text)
def test_a_profile_edit_with_any_text_saves_or_says_why(
    client, owner, rolled_back, full_name, username, email, bio
):
    def example():
        client.force_login(owner)
        fields = {"full_name": full_name, "username": username, "email": email, "bio": bio}
        response = client.post("/accounts/edit/", fields)
        assert response.status_code in (200, 302)
        if response.status_code == 200:
            assert response.context["form"].errors
        saved = User.objects.get(pk=owner.pk)
        assert client.get(saved.get_absolute_url()).status_code == 200

    rolled_back(example)


@pytest.mark.django_db
@bounded
@given(login=any_text, email=any_text)
def test_signing_up_or_logging_in_with_any_text_never_fails(
    client, owner, rolled_back, login, email
):
    def example():
        response = client.post("/accounts/login/", {"username": login, "password": "wrong"})
        assert response.status_code == 200
        response = client.post("/accounts/signup/", {
            "username": login, "email": email, "full_name": login,
            "password1": "through-the-looking-glass", "password2": "through-the-looking-glass",
        })  # fmt: skip
        assert response.status_code in (200, 302)
        client.logout()

    rolled_back(example)


# The URL space: any text where a URL takes user text, in its path or its query string

# (method, URL): {} is where the text goes.
PATHS = [
    *(("get", path) for path in ["/{}/", "/{}/followers/", "/{}/following/", "/p/{}/"]),
    *(("get", path) for path in ["/p/{}/edit/", "/explore/tags/{}/"]),
    *(("post", path) for path in ["/{}/follow/", "/{}/unfollow/", "/p/{}/like/"]),
    *(("post", path) for path in ["/p/{}/comments/", "/p/{}/delete/"]),
]
QUERIES = [
    "/?after={}",
    "/explore/?after={}",
    "/olivia/?after={}",
    "/explore/tags/sun/?after={}",
    "/olivia/followers/?page={}",
    "/p/{code}/?before={}",
    "/accounts/activity/?after={}",
    "/search/?q={}",
    "/accounts/login/?next={}",
    "/accounts/signup/?next={}",
]
# Text as a client may send it in a URL: any text, or any bytes (not all of them UTF-8).
in_url = st.one_of(
    any_text.map(lambda text: quote(text, safe="")),
    st.binary(min_size=1, max_size=20).map(lambda data: quote_from_bytes(data, safe="")),
)
ANSWERS = {200, 301, 302, 400, 403, 404, 405}


@pytest.fixture
def clients(client, owner, follower):
    """A visitor's client and a member's, on a site where the member follows someone who
    posted with a tag: pages with something on them."""
    factories.follow(owner, follower)
    post = factories.post(follower, "#sun")
    Tag.objects.create(name="sun").posts.add(post)
    return {False: client, True: signed_in_as(owner)}


@pytest.mark.django_db
@settings(bounded, max_examples=60)
@given(signed_in=st.booleans(), method_path=st.sampled_from(PATHS), text=in_url)
def test_any_text_in_a_url_path_is_answered_without_an_error(
    clients, rolled_back, signed_in, method_path, text
):
    method, path = method_path

    def example():
        response = getattr(clients[signed_in], method)(path.format(text), {"text": "hi"})
        assert response.status_code in ANSWERS

    rolled_back(example)


@pytest.mark.django_db
@settings(bounded, max_examples=40)
@given(signed_in=st.booleans(), path=st.sampled_from(QUERIES), text=in_url)
def test_any_text_in_a_query_string_is_answered_without_an_error(clients, signed_in, path, text):
    url = path.format(text, code=Post.objects.get().code)
    assert clients[signed_in].get(url).status_code in ANSWERS


@pytest.mark.django_db
@bounded
@given(action=st.sampled_from(["like/", "comments/"]), target=any_text)
def test_any_next_after_an_action_is_followed_or_ignored(clients, rolled_back, action, target):
    def example():
        post = Post.objects.get()
        response = clients[True].post(f"/p/{post.code}/{action}", {"next": target, "text": "hi"})
        assert response.status_code == 302

    rolled_back(example)
