"""Per-member abuse limits on comments, follows and reports: shared by every server (the
counters live in the database), far above what a person does by hand, set in secrets.json, and
a 429 with the site's page (JSON for fetch) once met."""

import re

import pytest
from django.conf import settings
from django.test import override_settings

from members.models import Follow
from moderation.models import Report
from posts.models import Comment
from tests import factories
from tests.test_secrets import PRODUCTION, start

pytestmark = pytest.mark.django_db

JSON = {"Accept": "application/json"}


@pytest.fixture
def post(owner):
    return factories.post(owner, "Busy post")


@override_settings(COMMENT_LIMIT_PER_MINUTE=3)
def test_comments_past_the_limit_answer_429_with_the_site_s_page(client, follower, post):
    client.force_login(follower)
    url = f"/p/{post.code}/comments/"
    for number in range(3):
        assert client.post(url, {"text": f"comment {number}"}).status_code == 302
    refused = client.post(url, {"text": "one too many"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    body = refused.content.decode()
    assert re.search(r"You&#x27;re commenting too fast. Wait [12] minutes and try again.", body)
    assert "<html" in body
    assert Comment.objects.count() == 3


@override_settings(COMMENT_LIMIT_PER_MINUTE=1)
def test_fetch_gets_the_refusal_as_json(client, follower, post):
    client.force_login(follower)
    url = f"/p/{post.code}/comments/"
    assert client.post(url, {"text": "first"}, headers=JSON).status_code == 200
    refused = client.post(url, {"text": "second"}, headers=JSON)
    assert refused.status_code == 429
    # One a minute, sliding: the next fits once the first has slid out, up to two minutes on.
    assert re.fullmatch(
        r"You're commenting too fast. Wait [12] minutes and try again.", refused.json()["error"]
    )


@override_settings(COMMENT_LIMIT_PER_MINUTE=1)
def test_each_member_has_a_limit_of_their_own(client, follower, outsider, post):
    url = f"/p/{post.code}/comments/"
    for member in (follower, outsider):
        client.force_login(member)
        assert client.post(url, {"text": f"from {member}"}).status_code == 302
    assert client.post(url, {"text": "again"}).status_code == 429


@override_settings(FOLLOW_LIMIT_PER_HOUR=2)
def test_follows_past_the_limit_answer_429(client, follower):
    targets = [factories.user() for _ in range(3)]
    client.force_login(follower)
    for target in targets[:2]:
        assert client.post(f"/{target.username}/follow/").status_code == 302
    refused = client.post(f"/{targets[2].username}/follow/")
    assert refused.status_code == 429
    assert "following too many accounts too fast" in refused.content.decode()
    assert Follow.objects.count() == 2


@override_settings(REPORT_LIMIT_PER_DAY=2)
def test_reports_past_the_limit_answer_429(client, outsider):
    posts = [factories.post(factories.user(), f"post {number}") for number in range(3)]
    client.force_login(outsider)
    for post in posts[:2]:
        assert client.post(f"/p/{post.code}/report/", {"reason": "spam"}).status_code == 302
    refused = client.post(f"/p/{posts[2].code}/report/", {"reason": "spam"})
    assert refused.status_code == 429
    assert "a lot of reports today" in refused.content.decode()
    assert Report.objects.count() == 2


def test_a_busy_person_never_meets_the_defaults(client, follower, post):
    assert settings.COMMENT_LIMIT_PER_MINUTE >= 20
    assert settings.FOLLOW_LIMIT_PER_HOUR >= 200
    assert settings.REPORT_LIMIT_PER_DAY >= 50
    client.force_login(follower)
    for number in range(15):  # a comment every four seconds for a minute
        assert client.post(f"/p/{post.code}/comments/", {"text": f"{number}"}).status_code == 302


def test_the_limits_are_set_in_secrets_json(tmp_path):
    limits = {"COMMENT_LIMIT_PER_MINUTE": 3, "FOLLOW_LIMIT_PER_HOUR": 4, "REPORT_LIMIT_PER_DAY": 5}
    code = (
        "from django.conf import settings as s; "
        "print(s.COMMENT_LIMIT_PER_MINUTE, s.FOLLOW_LIMIT_PER_HOUR, s.REPORT_LIMIT_PER_DAY)"
    )
    result = start(tmp_path, {**PRODUCTION, **limits}, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "3 4 5"
    refused = start(tmp_path, {**PRODUCTION, "REPORT_LIMIT_PER_DAY": 0})
    assert "key 'REPORT_LIMIT_PER_DAY' must be at least 1" in refused.stderr
