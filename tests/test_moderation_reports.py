"""Members report posts, comments and accounts: the forms, the thanks, one open report each,
and nothing reported that the member cannot see."""

import re

import pytest
from django.db import IntegrityError, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from members.models import Block
from moderation import services
from moderation.forms import ReportForm
from moderation.models import Reason, Report
from tests import factories

pytestmark = pytest.mark.django_db

THANKS = "Thanks, we&#x27;ll look at it."
JSON = {"Accept": "application/json"}


@pytest.fixture
def post(owner):
    return factories.post(owner, "Sunset at the pier")


@pytest.fixture
def comment(follower, post):
    return factories.comment(follower, post, "buy followers at example.com")


def report_actions(html: str) -> list[str]:
    return re.findall(r'<form method="post" action="([^"]*report[^"]*)"', html)


def test_the_post_page_has_a_report_form_for_the_post_and_each_comment(
    client, outsider, post, comment
):
    client.force_login(outsider)
    html = client.get(post.get_absolute_url()).content.decode()
    assert report_actions(html) == [
        f"/p/{post.code}/report/",
        f"/p/{post.code}/comments/{comment.pk}/report/",
    ]
    for reason in Reason:
        assert f'value="{reason.value}"' in html


def test_each_report_form_s_fields_have_ids_of_their_own_target(client, outsider, post, comment):
    """The fields are rendered once per kind of target (moderation/templatetags): each form
    still names its own target, so every label points at its own form's field."""
    factories.comment(follower := factories.user(), post, "second")
    client.force_login(outsider)
    html = client.get(post.get_absolute_url()).content.decode()
    ids = re.findall(r' id="(report-[^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert set(re.findall(r' for="(report-[^"]+)"', html)) <= set(ids)
    assert f'id="report-post-{post.pk}-text"' in html
    second = post.comments.get(author=follower)
    for target in (comment, second):
        assert f'id="report-comment-{target.pk}-reason_0"' in html
        assert f'for="report-comment-{target.pk}-text"' in html
    assert "\x00" not in html


def test_the_profile_has_a_report_form_for_the_account(client, outsider, owner):
    client.force_login(outsider)
    html = client.get(owner.get_absolute_url()).content.decode()
    assert report_actions(html) == [f"/{owner.username}/report/"]


def test_no_report_form_for_what_is_one_s_own_or_for_visitors(client, owner, post, follower):
    factories.comment(owner, post, "my own comment")
    client.force_login(owner)
    assert report_actions(client.get(post.get_absolute_url()).content.decode()) == []
    assert report_actions(client.get(owner.get_absolute_url()).content.decode()) == []
    client.logout()
    assert report_actions(client.get(post.get_absolute_url()).content.decode()) == []


def test_reporting_a_post_thanks_the_reporter_and_opens_a_report(client, outsider, post):
    client.force_login(outsider)
    response = client.post(f"/p/{post.code}/report/", {"reason": "spam"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == post.get_absolute_url()
    assert THANKS in response.content.decode()
    report = Report.objects.get()
    assert (report.reporter, report.post, report.reason) == (outsider, post, "spam")
    assert report.resolved_at is None


def test_reporting_a_comment_and_an_account(client, outsider, comment, owner):
    client.force_login(outsider)
    url = f"/p/{comment.post.code}/comments/{comment.pk}/report/"
    assert THANKS in client.post(url, {"reason": "spam"}, follow=True).content.decode()
    response = client.post(
        f"/{owner.username}/report/", {"reason": "harassment"}, follow=True
    ).content.decode()
    assert THANKS in response
    assert {(r.comment, r.account, r.reason) for r in Report.objects.all()} == {
        (comment, None, "spam"),
        (None, owner, "harassment"),
    }


def test_fetch_gets_the_thanks_as_json(client, outsider, post):
    client.force_login(outsider)
    response = client.post(f"/p/{post.code}/report/", {"reason": "nudity"}, headers=JSON)
    assert response.json() == {"message": "Thanks, we'll look at it."}


def test_other_needs_a_few_words(client, outsider, post):
    client.force_login(outsider)
    response = client.post(f"/p/{post.code}/report/", {"reason": "other", "text": "  "})
    assert response.status_code == 400
    assert "Tell us what is wrong with it." in response.content.decode()
    assert not Report.objects.exists()
    response = client.post(
        f"/p/{post.code}/report/", {"reason": "other", "text": "It is my photo"}, follow=True
    )
    assert THANKS in response.content.decode()
    assert Report.objects.get().text == "It is my photo"


def test_an_unknown_reason_is_refused(client, outsider, post):
    client.force_login(outsider)
    response = client.post(f"/p/{post.code}/report/", {"reason": "boring"})
    assert response.status_code == 400
    assert not Report.objects.exists()


def test_reporting_twice_keeps_one_open_report(client, outsider, post):
    client.force_login(outsider)
    for reason in ("spam", "violence"):
        response = client.post(f"/p/{post.code}/report/", {"reason": reason}, follow=True)
        assert THANKS in response.content.decode()
    assert Report.objects.get().reason == "spam"


def test_the_database_holds_one_open_report_per_reporter_and_target(outsider, post):
    Report.objects.create(reporter=outsider, post=post, reason="spam")
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(reporter=outsider, post=post, reason="nudity")


def test_a_closed_report_lets_the_member_report_again(outsider, post, owner):
    first = services.report_create(reporter=outsider, target=post, reason="spam")
    services.reports_dismiss(moderator=owner, target=post)
    second = services.report_create(reporter=outsider, target=post, reason="spam")
    assert second.pk != first.pk
    assert Report.objects.open().get() == second


def test_a_report_names_exactly_one_target(outsider, post, owner):
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(reporter=outsider, post=post, account=owner, reason="spam")
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(reporter=outsider, reason="spam")


def test_visitors_are_sent_to_log_in(client, post):
    response = client.post(f"/p/{post.code}/report/", {"reason": "spam"})
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert not Report.objects.exists()


def test_a_member_cannot_report_what_they_cannot_see(client, outsider, owner, post, comment):
    Block.objects.create(blocker=owner, blocked=outsider)
    client.force_login(outsider)
    urls = [
        f"/p/{post.code}/report/",
        f"/p/{post.code}/comments/{comment.pk}/report/",
        f"/{owner.username}/report/",
    ]
    for url in urls:
        assert client.post(url, {"reason": "spam"}).status_code == 404
    assert not Report.objects.exists()


def test_a_hidden_post_cannot_be_reported_by_others(client, outsider, owner, post):
    services.content_hide(moderator=owner, target=post)
    client.force_login(outsider)
    assert client.post(f"/p/{post.code}/report/", {"reason": "spam"}).status_code == 404


def test_a_private_account_s_post_cannot_be_reported_by_a_stranger(client, outsider, owner, post):
    owner.is_private = True
    owner.save(update_fields=["is_private"])
    client.force_login(outsider)
    assert client.post(f"/p/{post.code}/report/", {"reason": "spam"}).status_code == 404


def test_one_s_own_post_is_not_reported(client, owner, post):
    client.force_login(owner)
    response = client.post(f"/p/{post.code}/report/", {"reason": "spam"}, follow=True)
    assert "You can&#x27;t report yourself or what you shared." in response.content.decode()
    assert not Report.objects.exists()


def test_the_report_page_works_without_the_folded_form(client, outsider, post):
    client.force_login(outsider)
    response = client.get(f"/p/{post.code}/report/")
    assert response.status_code == 200
    assert "Report a post" in response.content.decode()


@settings(max_examples=100, deadline=None)
@given(reason=st.sampled_from([*Reason.values, "", "Spam", "boring"]), text=st.text(max_size=1100))
def test_the_report_form_takes_only_known_reasons_and_bounded_text(reason, text):
    kept = text.strip()
    valid = (
        reason in Reason.values
        and len(kept) <= 1000
        and "\x00" not in kept
        and (reason != Reason.OTHER or bool(kept))
    )
    form = ReportForm({"reason": reason, "text": text})
    assert form.is_valid() == valid
    if valid:
        assert form.cleaned_data["text"] == kept
