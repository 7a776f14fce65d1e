"""When something breaks: a friendly page, and no secret in the page or the logs."""

import secrets as tokens
from unittest.mock import patch

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.test import Client
from psycopg2 import sql

from posts import selectors
from tests import factories, imagefactory
from tests.servers import Browser, gunicorn, production_secrets, project_copy

pytestmark = pytest.mark.django_db


@pytest.mark.django_db
def test_an_unexpected_error_shows_the_friendly_page(owner, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the feed query exploded")

    monkeypatch.setattr(selectors, "post_feed", broken)
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page
    assert "exploded" not in page and "Traceback" not in page


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


# A view that fails with every secret in its frame, served with production's settings otherwise.
FAILING_VIEW = """
from django.conf import settings

from config.urls import urlpatterns as site
from django.urls import path


def broken(request):
    database = settings.DATABASES["default"]
    storage = settings.STORAGES["default"]["OPTIONS"]
    key = settings.SECRET_KEY
    raise RuntimeError(f"the view failed holding {len(database) + len(storage) + len(key)} things")


urlpatterns = [path("broken/", broken), *site]
"""
FAILING_SETTINGS = 'from config.settings import *  # noqa: F403\n\nROOT_URLCONF = "failing_urls"\n'


@pytest.fixture
def secret_values(db):
    """Real secret values for server processes: a database role with a password, an AWS
    secret access key and a SECRET_KEY, each random, so finding one anywhere is a leak."""
    values = {
        "database password": "db-" + tokens.token_urlsafe(24),
        "AWS secret access key": tokens.token_urlsafe(30),
        "SECRET_KEY": tokens.token_urlsafe(50),
    }
    role = f"secret_keeper_{tokens.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(values["database password"])
            )
        )
    yield role, values
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def server_secrets(s3_secrets: dict, role: str, values: dict, **database) -> dict:
    db = connection.settings_dict
    return {
        **production_secrets(
            s3_secrets,
            {
                "HOST": db["HOST"],
                "PORT": db["PORT"],
                "NAME": db["NAME"],
                "USER": role,
                "PASSWORD": values["database password"],
                **database,
            },
        ),
        "SECRET_KEY": values["SECRET_KEY"],
        "AWS_SECRET_ACCESS_KEY": values["AWS secret access key"],
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_no_secret_reaches_a_page_or_the_log_when_things_fail(
    tmp_path, s3_secrets, s3_proxy, secret_values
):
    role, values = secret_values
    pages: list[str] = []

    # A server whose S3 fails every write, with a view that raises.
    app = project_copy(tmp_path / "app")
    (app / "failing_urls.py").write_text(FAILING_VIEW)
    (app / "failing_settings.py").write_text(FAILING_SETTINGS)
    member = factories.server_user(username="mira")
    s3_proxy.fail("PUT")
    through_proxy = {**s3_secrets, "AWS_S3_ENDPOINT_URL": s3_proxy.url}
    settings_module = {"DJANGO_SETTINGS_MODULE": "failing_settings"}
    with gunicorn(app, server_secrets(through_proxy, role, values), **settings_module) as url:
        browser = Browser(url)
        broken = browser.get(url + "/broken/", timeout=30)
        assert broken.status_code == 500
        browser.submit("/accounts/login/", {"username": member.username, "password": "x"})
        logged_in = browser.submit(
            "/accounts/login/", {"username": member.username, "password": factories.PASSWORD}
        )
        upload = browser.submit(
            "/posts/new/",
            {"caption": "kept"},
            files={"photos": ("a.jpg", imagefactory.jpeg(400, 400), "image/jpeg")},
        )
        assert upload.status_code == 503
        pages += [broken.text, logged_in.text, upload.text]

    # A server whose database is unreachable (nothing listens on its port), with a password.
    down = project_copy(tmp_path / "down")
    with gunicorn(down, server_secrets(s3_secrets, role, values, PORT="1")) as url:
        unavailable = Browser(url).get(url + "/mira/", timeout=30)
        assert unavailable.status_code == 503
        pages.append(unavailable.text)

    logs = (app / "gunicorn.log").read_text() + (down / "gunicorn.log").read_text()
    # The failures were logged, tracebacks and all...
    assert "Internal Server Error: /broken/" in logs and "RuntimeError" in logs
    assert "Media storage refused a write" in logs and "InternalError" in logs
    assert "Database unavailable" in logs and "OperationalError" in logs
    # ...and no secret is in any of them, nor in any page.
    for name, value in values.items():
        assert value not in logs, f"the {name} is in the server log"
        for page in pages:
            assert value not in page, f"the {name} is in a page"
