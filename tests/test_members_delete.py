"""Leaving: /accounts/delete/ asks for the password (and a code with two-factor on), then no row
of the member and no object of theirs is left, and their username is free again."""

import pyotp
import pytest
from django.apps import apps
from django.db import models

from members import services
from members.models import Follow, User
from posts.models import Comment, Like, Post
from tests import factories
from tests.test_media import keys_of, with_photos

pytestmark = pytest.mark.django_db


@pytest.fixture
def olivia(owner, follower, bucket):
    """Olivia with a profile photo and two posts of two photos; Felix with one post. They
    follow each other, and each likes and comments on the other's post."""
    with_photos(owner, posts=2)
    with_photos(follower, posts=1)
    hers, his = Post.objects.filter(author=owner).first(), Post.objects.get(author=follower)
    factories.follow(owner, follower)
    factories.follow(follower, owner)
    for who, post in ((owner, his), (follower, hers)):
        factories.like(who, post)
        factories.comment(who, post, f"{who} was here")
    return owner


def rows_naming(user_pk: int) -> list[str]:
    """Every row, in any model, with a foreign key (or many-to-many link) to the member."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey)
                and field.related_model is User
                and model.objects.filter(**{field.name: user_pk}).exists()
            ):
                found.append(f"{model.__name__}.{field.name}")
    return found


def test_deleting_leaves_no_row_and_no_object_of_the_member(
    client, olivia, follower, bucket, django_capture_on_commit_callbacks
):
    felix_keys = keys_of(follower)
    assert set(bucket.keys()) == keys_of(olivia) | felix_keys
    assert rows_naming(olivia.pk)  # the check sees rows while there are some
    client.force_login(olivia)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/delete/", {"password": factories.PASSWORD}, follow=True)

    assert "everything else are deleted" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    assert not User.objects.filter(pk=olivia.pk).exists()
    assert rows_naming(olivia.pk) == []
    assert not Follow.objects.exists()
    # Felix keeps his post, without her like and comment, and every one of his objects.
    his = Post.objects.get(author=follower)
    assert not Like.objects.filter(post=his).exists()
    assert not Comment.objects.filter(post=his).exists()
    assert set(bucket.keys()) == felix_keys


def test_the_username_is_free_again(client, olivia):
    client.force_login(olivia)
    client.post("/accounts/delete/", {"password": factories.PASSWORD})
    data = {
        "email": "olivia@example.com",
        "full_name": "Another Olivia",
        "username": "olivia",
        "password1": "a-brand-new-passphrase-42",
        "password2": "a-brand-new-passphrase-42",
    }
    assert client.post("/accounts/signup/", data).url == "/accounts/signup/done/"
    assert User.objects.get(username="olivia").full_name == "Another Olivia"


def test_a_wrong_password_deletes_nothing(client, olivia, bucket):
    before = bucket.keys()
    client.force_login(olivia)
    response = client.post("/accounts/delete/", {"password": "wrong"})
    assert "That is not your password." in response.content.decode()
    assert User.objects.filter(pk=olivia.pk).exists() and bucket.keys() == before
    assert client.get("/accounts/settings/").status_code == 200


def test_password_guesses_are_throttled(client, owner):
    client.force_login(owner)
    for _ in range(5):
        client.post("/accounts/delete/", {"password": "wrong"})
    response = client.post("/accounts/delete/", {"password": factories.PASSWORD})
    assert response.status_code == 429
    assert User.objects.filter(pk=owner.pk).exists()


def test_with_two_factor_on_a_code_is_needed_too(client, owner):
    services.two_factor_enable(user=owner, secret=pyotp.random_base32(), step=0)
    client.force_login(owner)
    assert 'name="code"' in client.get("/accounts/delete/").content.decode()
    client.post("/accounts/delete/", {"password": factories.PASSWORD, "code": "000000"})
    assert User.objects.filter(pk=owner.pk).exists()
    code = pyotp.TOTP(owner.two_factor_secret).now()
    client.post("/accounts/delete/", {"password": factories.PASSWORD, "code": code})
    assert not User.objects.filter(pk=owner.pk).exists()


def test_the_settings_page_links_to_it(client, owner):
    client.force_login(owner)
    assert 'href="/accounts/delete/"' in client.get("/accounts/settings/").content.decode()
