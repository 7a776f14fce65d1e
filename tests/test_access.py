"""Every URL that changes state: visitors are sent to log in, others are refused, owners succeed,
and none of them works without a CSRF token."""

import pyotp
import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from config.models import RateCounter
from members import services
from members.models import Block, Follow, FollowRequest, User
from posts.models import Comment, Like, Post, SavedPost, Tag
from tests import factories, imagefactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(owner, follower, outsider):
    """Olivia's post with Felix's comment on it; Olivia follows Felix."""
    factories.follow(owner, follower)
    post = factories.post(owner, "mine")
    comment = factories.comment(follower, post, "felix was here")
    return {"code": post.code, "comment": comment.pk, "post": post}


def two_factor_code() -> str:
    """Turn two-factor log-in on for Olivia; a code from her app."""
    olivia = User.objects.get(username="olivia")
    services.two_factor_enable(user=olivia, secret=pyotp.random_base32(), step=0)
    return pyotp.TOTP(olivia.two_factor_secret).now()


def photo():
    return SimpleUploadedFile("p.jpg", imagefactory.jpeg(300, 300))


# (name, URL, form data, who may do it, how to tell it was done)
ACTIONS = [
    ("edit profile", "/accounts/edit/", lambda w: {"username": "olivia", "full_name": "O. O."},
     "self", lambda w: User.objects.filter(full_name="O. O.").exists()),
    ("change email", "/accounts/email/",
     lambda w: {"email": "o@x.io", "password": factories.PASSWORD},
     "self", lambda w: User.objects.filter(pending_email="o@x.io").exists()),
    ("resend email confirmation", "/accounts/email/resend/", lambda w: {}, "self",
     lambda w: len(mail.outbox) == 1),
    ("log out everywhere else", "/accounts/sessions/end-others/", lambda w: {}, "self",
     lambda w: User.objects.get(username="olivia").session_generation == 1),
    ("turn two-factor off", "/accounts/two-factor/off/",
     lambda w: {"password": factories.PASSWORD, "code": two_factor_code()},
     "self", lambda w: not User.objects.get(username="olivia").two_factor_on),
    ("download data", "/accounts/download/", lambda w: {}, "self",
     lambda w: RateCounter.objects.filter(scope="download").exists()),
    ("delete account", "/accounts/delete/", lambda w: {"password": factories.PASSWORD},
     "self", lambda w: not User.objects.filter(username="olivia").exists()),
    ("change password", "/accounts/password/",
     lambda w: {"old_password": factories.PASSWORD, "new_password1": "brand-new-passphrase-1",
                "new_password2": "brand-new-passphrase-1"},
     "self", lambda w: not w["post"].author.__class__.objects.get(username="olivia")
     .check_password(factories.PASSWORD)),
    ("follow", "/oscar/follow/", lambda w: {}, "member",
     lambda w: Follow.objects.filter(following__username="oscar").exists()),
    ("unfollow", "/felix/unfollow/", lambda w: {}, "member",
     lambda w: not Follow.objects.filter(following__username="felix").exists()),
    ("new post", "/posts/new/", lambda w: {"photos": [photo()], "caption": "new one"}, "member",
     lambda w: Post.objects.filter(caption="new one").exists()),
    ("like", "/p/{code}/like/", lambda w: {}, "member", lambda w: Like.objects.exists()),
    ("save", "/p/{code}/save/", lambda w: {}, "member", lambda w: SavedPost.objects.exists()),
    ("comment", "/p/{code}/comments/", lambda w: {"text": "hello"}, "member",
     lambda w: Comment.objects.filter(text="hello").exists()),
    ("edit post", "/p/{code}/edit/", lambda w: {"caption": "edited"}, "owner",
     lambda w: Post.objects.filter(caption="edited").exists()),
    ("delete post", "/p/{code}/delete/", lambda w: {}, "owner",
     lambda w: not Post.objects.filter(code=w["code"]).exists()),
    ("delete comment", "/p/{code}/comments/{comment}/delete/", lambda w: {}, "owner",
     lambda w: not Comment.objects.exists()),
]  # fmt: skip
IDS = [action[0] for action in ACTIONS]


OWNERS_ONLY = [action for action in ACTIONS if action[3] == "owner"]


def _bound(params, world):
    _name, url, data, who, done = params
    return url.format(**world), lambda: data(world), who, lambda: done(world)


@pytest.fixture(params=ACTIONS, ids=IDS)
def action(request, world, bucket):
    return _bound(request.param, world)


@pytest.fixture(params=OWNERS_ONLY, ids=[action[0] for action in OWNERS_ONLY])
def owners_action(request, world):
    return _bound(request.param, world)


def test_visitors_are_sent_to_log_in_and_change_nothing(client, action):
    url, data, _, done = action
    response = client.post(url, data())
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")
    assert not done()


def test_someone_else_is_refused_where_only_the_owner_may_act(client, owners_action):
    url, data, _, done = owners_action
    client.force_login(factories.user(username="mallory"))
    assert client.post(url, data()).status_code == 403
    assert not done()


def test_the_owner_succeeds(client, owner, action):
    url, data, _, done = action
    client.force_login(owner)
    response = client.post(url, data())
    assert response.status_code in (200, 302), response.content[:300]
    assert done()


def test_nothing_changes_without_a_csrf_token(owner, action):
    url, data, _, done = action
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(url, data()).status_code == 403
    assert not done()


@pytest.mark.parametrize("url", ["/admin/", "/admin/posts/post/", "/admin/members/user/"])
def test_the_admin_admits_staff_only(client, owner, url):
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/admin/login/")
    staff = factories.user(username="sam", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get(url).status_code == 200


# The access matrix: who sees what, on every page and answer that shows a post.
#
# Two authors: Pia's account is private, Paul's public; Paul also has a post a moderator hid.
# Each persona stands in the same relation to both authors (Fern follows both, Bob is blocked
# by both, Bea blocks both); "owner" is the author of the post in question.

CAPTIONS = {"private": "pia private caption", "public": "paul public caption",
            "hidden": "paul hidden caption"}  # fmt: skip
# persona → the posts they see
SEES = {
    "visitor": {"public"},
    "owner": {"private", "public", "hidden"},
    "follower": {"private", "public"},
    "requester": {"public"},
    "outsider": {"public"},
    "blocked": set(),
    "blocker": set(),
    "moderator": {"public", "hidden"},
    "admin": {"public", "hidden"},
}
LOGIN = "/accounts/login/?next="


@pytest.fixture
def matrix(db):
    """Pia (private) and Paul (public), their three posts tagged #matrix, and the personas."""
    pia = factories.user(username="pia", is_private=True)
    paul = factories.user(username="paul")
    people = {
        "follower": factories.user(username="fern"),
        "requester": factories.user(username="rex"),
        "outsider": factories.user(username="otto"),
        "blocked": factories.user(username="bob"),
        "blocker": factories.user(username="bea"),
        "moderator": factories.user(username="mo", is_staff=True),
        "admin": factories.user(username="ada", is_staff=True, is_superuser=True),
    }
    for author in (pia, paul):
        factories.follow(people["follower"], author)
        Block.objects.create(blocker=author, blocked=people["blocked"])
        Block.objects.create(blocker=people["blocker"], blocked=author)
    FollowRequest.objects.create(requester=people["requester"], target=pia)
    posts = {
        "private": factories.post(pia, CAPTIONS["private"] + " #matrix"),
        "public": factories.post(paul, CAPTIONS["public"] + " #matrix"),
        "hidden": factories.post(paul, CAPTIONS["hidden"] + " #matrix"),
    }
    Post.objects.filter(pk=posts["hidden"].pk).update(hidden_at=timezone.now())
    tag = Tag.objects.create(name="matrix")
    for post in posts.values():
        post.tags.add(tag)
    return people, posts


def _people_status(persona: str, kind: str, _sees: bool) -> int:
    """Followers and following lists: 404 across a block, and for a private account's
    non-followers."""
    if persona in ("blocked", "blocker"):
        return 404
    if kind == "private" and persona not in ("owner", "follower"):
        return 404
    return 200


# (page, method, URL, members only, what shows the post when it is seen: "caption" and
# "display" for a card or post page, "thumbnail" for a grid, nothing for a JSON answer;
# the status when the post is not seen, or a function of persona, kind and seen)
PAGES = [
    ("post page", "get", "/p/{code}/", False, ("caption", "display"), 404),
    ("profile", "get", "/{author}/", False, ("thumbnail",),
     lambda persona, _kind, _sees: 404 if persona in ("blocked", "blocker") else 200),
    ("feed", "get", "/", True, ("caption", "display"), 200),
    ("explore", "get", "/explore/", False, ("thumbnail",), 200),
    ("tag", "get", "/explore/tags/matrix/", False, ("thumbnail",), 200),
    ("like (JSON)", "post", "/p/{code}/like/", True, (), 404),
    ("comment (JSON)", "post", "/p/{code}/comments/", True, (), 404),
    ("followers", "get", "/{author}/followers/", False, (), _people_status),
    ("following", "get", "/{author}/following/", False, (), _people_status),
]  # fmt: skip


def _marks(post: Post) -> dict[str, str]:
    image = post.images.get()
    return {
        "caption": post.caption.removesuffix(" #matrix"),
        "display": image.display.name,
        "thumbnail": image.thumbnail.name,
    }


@pytest.mark.parametrize("page", PAGES, ids=[page[0] for page in PAGES])
def test_each_persona_sees_each_post_exactly_where_the_rule_allows(client, matrix, page):
    """Every cell of personas by posts on this page: its status, and the caption and photo
    keys in the body when the post is seen, none of them when it is not."""
    name, method, url, members_only, shown_by, hidden_status = page
    people, posts = matrix
    wrong = []
    for persona, seen_kinds in SEES.items():
        for kind, post in posts.items():
            viewer = post.author if persona == "owner" else people.get(persona)
            client.logout()
            if viewer is not None:
                client.force_login(viewer)
            sees = kind in seen_kinds
            path = url.format(code=post.code, author=post.author.username)
            if method == "post":
                response = client.post(path, {"text": "hi"}, headers={"accept": "application/json"})
            else:
                response = client.get(path)
            body = response.content.decode()
            marks = _marks(post)
            if viewer is None and members_only:
                expected = 302
            elif callable(hidden_status):
                expected = hidden_status(persona, kind, sees)
            else:
                expected = 200 if sees else hidden_status
            problems = []
            if response.status_code != expected:
                problems.append(f"status {response.status_code}, not {expected}")
            if sees and expected == 200:
                problems += [f"no {mark}" for mark in shown_by if marks[mark] not in body]
            if not sees:
                problems += [f"shows the {mark}" for mark, text in marks.items() if text in body]
            if problems:
                wrong.append(f"{persona} on the {kind} post: {', '.join(problems)}")
    assert not wrong, f"{name}:\n" + "\n".join(wrong)
