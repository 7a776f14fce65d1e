"""When something breaks: a friendly page, and no secret in the page or the logs."""

import logging
from unittest.mock import patch

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test import Client

from posts import selectors
from tests import factories

pytestmark = pytest.mark.django_db


def test_an_unexpected_error_shows_the_friendly_page_without_secrets(owner, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("the feed query exploded")

    monkeypatch.setattr(selectors, "post_feed", broken)
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    with caplog.at_level(logging.ERROR):
        response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page
    assert "exploded" not in page and "Traceback" not in page
    media = settings.STORAGES["default"]["OPTIONS"]
    secrets = [settings.SECRET_KEY, media["secret_key"], settings.DATABASES["default"]["PASSWORD"]]
    logged = caplog.text
    assert "Internal Server Error: /" in logged
    for secret in filter(None, secrets):
        assert secret not in page and secret not in logged


# Every error status the app answers, provoked as a person would meet it: (status, how, what the
# message says). Each is checked as a page (the site's frame and message) and as JSON for a
# script (fetch and XMLHttpRequest ask for it), which static/js/app.js shows beside the form.
def _too_many_files(client, post):
    photos = [SimpleUploadedFile(f"{n}.jpg", b"x") for n in range(11)]
    return client.post("/posts/new/", {"photos": photos}, headers=client.extra_headers)


def _bad_host(client, post):
    return client.get("/", headers={"Host": "attacker.example", **client.extra_headers})


def _no_csrf_token(client, post):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(post.author)
    return strict.post(f"/p/{post.code}/like/", headers=client.extra_headers)


def _someone_elses_post(client, post):
    return client.get(f"/p/{post.code}/edit/", headers=client.extra_headers)


def _missing_post(client, post):
    return client.get("/p/no-such-post/", headers=client.extra_headers)


def _like_by_get(client, post):
    return client.get(f"/p/{post.code}/like/", headers=client.extra_headers)


def _logout_by_get(client, post):
    return client.get("/accounts/logout/", headers=client.extra_headers)


def _static_file_by_post(client, post):
    return client.post("/static/css/app.css", headers=client.extra_headers)


def _bug(client, post):
    client.raise_request_exception = False
    with patch.object(selectors, "post_feed", side_effect=RuntimeError("a bug")):
        return client.get("/", headers=client.extra_headers)


def _database_down(client, post):
    with patch.object(selectors, "post_feed", side_effect=OperationalError("gone")):
        return client.get("/", headers=client.extra_headers)


ERRORS = [
    (400, _too_many_files, "at most 10"),
    (400, _bad_host, "could not read"),
    (403, _no_csrf_token, "session expired"),
    (403, _someone_elses_post, "someone else"),
    (404, _missing_post, "may have been removed"),
    (405, _like_by_get, "can't do that"),
    (405, _logout_by_get, "can't do that"),
    (405, _static_file_by_post, "can't do that"),
    (500, _bug, "couldn't finish"),
    (503, _database_down, "can't reach its data"),
]
IDS = [f"{status}-{how.__name__.strip('_')}" for status, how, _ in ERRORS]
SCRIPT = {"Accept": "application/json", "X-Requested-With": "fetch"}


@pytest.fixture
def someone_elses_post(client, owner):
    post = factories.post(factories.user(username="mallory"), "not olivia's")
    client.force_login(owner)
    return post


@pytest.mark.parametrize(("status", "how", "says"), ERRORS, ids=IDS)
def test_every_error_is_the_sites_own_page(client, someone_elses_post, status, how, says):
    client.extra_headers = {}
    response = how(client, someone_elses_post)
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert '<header class="topbar">' in page and 'href="/static/css/app.css"' in page
    assert says in page.replace("&#x27;", "'")


@pytest.mark.parametrize(("status", "how", "says"), ERRORS, ids=IDS)
def test_every_error_is_json_for_a_script(client, someone_elses_post, status, how, says):
    client.extra_headers = SCRIPT
    response = how(client, someone_elses_post)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert says in response.json()["error"]


def test_a_405_still_names_the_methods_allowed(client, someone_elses_post):
    response = client.get(f"/p/{someone_elses_post.code}/like/")
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("accept", ["application/json", "application/json, text/html"])
def test_only_scripts_that_ask_for_json_get_it(client, accept):
    assert client.get("/p/nope/", headers={"Accept": accept}).json()["error"]
    page = client.get("/p/nope/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page["Content-Type"].startswith("text/html")
