"""Every URL that changes state: visitors are sent to log in, others are refused, owners succeed,
and none of them works without a CSRF token. Who sees what, persona by persona on every page,
is the matrix in test_access_matrix.py."""

import pyotp
import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from config.models import RateCounter
from members import services
from members.models import Follow, User
from posts.models import Comment, Like, Post, SavedPost
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
