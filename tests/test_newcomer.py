"""The rough edges a newcomer hit (issue 14): the edit page, the post page on a phone, a new
member's feed, the 404 under DEBUG, and the start-up notice."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.commands import runserver as django_runserver
from django.test import override_settings
from django.utils import autoreload

from config.secrets import Secrets
from tests import factories

pytestmark = pytest.mark.django_db

NO_FILE = Secrets(Path("/nonexistent/secrets.json"), {}, {})


# Edit profile


def test_edit_profile_offers_no_removal_when_there_is_no_photo(client, owner):
    client.force_login(owner)
    page = client.get("/accounts/edit/").content.decode()
    assert "Remove current photo" not in page
    response = client.post(
        "/accounts/edit/", {"username": owner.username, "full_name": "Still Olivia"}
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.full_name == "Still Olivia"


def test_edit_profile_offers_removal_when_there_is_a_photo(client, owner):
    owner.avatar = "avatars/olivia.jpg"
    owner.save(update_fields=["avatar"])
    client.force_login(owner)
    assert "Remove current photo" in client.get("/accounts/edit/").content.decode()


# The post page


def test_the_post_page_names_the_author_above_the_photo(client, owner):
    post = factories.post(owner, "Evening light")
    page = client.get(post.get_absolute_url()).content.decode()
    article = page[page.index("<article") :]
    assert article.index('class="post__author"') < article.index('class="photos')
    assert article.index('class="photos') < article.index("Evening light")


# A new member's feed


def test_a_member_who_follows_no_one_is_told_why_the_feed_shows_everyone(client, owner, outsider):
    factories.post(owner, "From a stranger")
    newcomer = factories.user(username="newcomer")
    client.force_login(newcomer)
    page = client.get("/").content.decode()
    assert "Follow people to see their posts here" in page
    assert "Meanwhile, recent posts from everyone." in page
    assert "From a stranger" in page
    notice = page[page.index('class="card newcomer"') :]
    notice = notice[: notice.index("</section>")]
    assert "olivia" in notice and "oscar" in notice
    assert 'action="/olivia/follow/"' in notice


def test_a_member_who_follows_someone_sees_no_such_notice(client, owner, follower, outsider):
    factories.follow(follower, owner)
    factories.post(owner, "For followers")
    factories.post(outsider, "Not followed")
    client.force_login(follower)
    page = client.get("/").content.decode()
    assert "Follow people to see their posts here" not in page
    assert "For followers" in page and "Not followed" not in page


def test_the_notice_costs_no_query(client, owner, follower, django_assert_max_num_queries):
    factories.post(owner, "hello")
    client.force_login(follower)
    client.get("/")
    with django_assert_max_num_queries(6):
        assert "Follow people" in client.get("/").content.decode()


# The 404 under DEBUG


@override_settings(DEBUG=True)
@pytest.mark.parametrize("path", ["/p/no-such-post/", "/no/such/page/", "/nobody-here/"])
def test_under_debug_a_missing_page_is_the_sites_own_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    page = response.content.decode()
    assert "Sorry, this page isn't available" in page
    assert "/static/css/app.css" in page
    assert "Using the URLconf" not in page and "technical" not in page.lower()


@override_settings(DEBUG=True)
def test_under_debug_a_script_gets_the_404_as_json(client):
    response = client.get("/p/no-such-post/", HTTP_ACCEPT="application/json")
    assert response.status_code == 404
    assert "error" in response.json()


# The start-up notice


def test_commands_other_than_runserver_say_nothing_of_the_embedded_default():
    out = io.StringIO()
    with override_settings(SECRETS=NO_FILE):
        call_command("check", stdout=out, stderr=out)
    assert "embedded default" not in out.getvalue()


@pytest.fixture
def server_not_started(monkeypatch):
    """runserver up to the point where it would serve."""
    monkeypatch.setattr(django_runserver.Command, "inner_run", lambda self, *a, **k: None)


@override_settings(SECRETS=NO_FILE, DEBUG=True)
def test_runserver_says_once_that_it_runs_on_the_embedded_default(server_not_started):
    out = io.StringIO()
    call_command("runserver", "--noreload", stdout=out)
    assert out.getvalue().count("running on the embedded default") == 1


@override_settings(SECRETS=NO_FILE, DEBUG=True)
def test_the_autoreloaders_restarts_do_not_repeat_it(server_not_started, monkeypatch):
    monkeypatch.setenv(autoreload.DJANGO_AUTORELOAD_ENV, "true")
    out = io.StringIO()
    call_command("runserver", "--noreload", stdout=out)
    assert "embedded default" not in out.getvalue()


@override_settings(DEBUG=True)
def test_runserver_with_a_secrets_file_says_nothing_of_it(server_not_started):
    out = io.StringIO()
    call_command("runserver", "--noreload", stdout=out)
    assert "embedded default" not in out.getvalue()
