"""Password reset through the real views, with mail from the loopback SMTP server."""

import logging
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.test import Client

from members import services
from members.models import User
from tests import factories
from tests.mailserver import after_response_done, html, link, text

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-42"


def ask(client: Client, login: str, address: str = "203.0.113.5"):
    """Ask for a reset link; the mail, if any, has left when this returns."""
    response = client.post(
        "/accounts/password/reset/", {"login": login}, REMOTE_ADDR=address, follow=True
    )
    after_response_done()
    return response


def reset(client: Client, url: str, password: str = NEW_PASSWORD):
    """Follow a reset link and set ``password``, as a browser would."""
    form = client.get(urlsplit(url).path, follow=True)
    return client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else urlsplit(url).path,
        {"new_password1": password, "new_password2": password},
        follow=True,
    )


def test_the_log_in_page_links_to_forgot_password(client):
    page = client.get("/accounts/login/").content.decode()
    assert '<a href="/accounts/password/reset/">Forgot password?</a>' in page


@pytest.mark.parametrize("login", ["olivia", "OLIVIA", "olivia@example.com", "Olivia@Example.COM"])
def test_a_link_goes_to_the_accounts_address_by_username_or_email(client, owner, mailbox, login):
    response = ask(client, login)
    assert response.redirect_chain == [("/accounts/password/reset/sent/", 302)]
    [message] = mailbox.messages
    assert message["To"] == "olivia@example.com"
    assert message["Subject"] == "Instagram: reset your password"
    assert "/accounts/password/reset/" in link(message) and link(message) in html(message)
    assert "within 60 minutes" in text(message)


def test_known_and_unknown_accounts_get_the_same_answer_and_only_known_ones_get_mail(
    client, owner, mailbox
):
    known = ask(client, "olivia")
    unknown = ask(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert known.redirect_chain == unknown.redirect_chain
    assert known.content == unknown.content
    assert b"If an account matches" in known.content
    assert [m["To"] for m in mailbox.messages] == ["olivia@example.com"]


def test_inactive_members_and_unusable_passwords_get_no_mail(client, mailbox):
    factories.user(username="gone", is_active=False)
    sso = factories.user(username="sso")
    sso.set_unusable_password()
    sso.save()
    assert ask(client, "gone").redirect_chain == ask(client, "sso").redirect_chain
    assert mailbox.messages == []


def test_the_link_sets_a_new_password_logs_in_and_works_once(client, owner, mailbox):
    ask(client, "olivia")
    url = link(mailbox.messages[0])
    response = reset(client, url)
    assert response.redirect_chain[-1] == ("/", 302)
    assert response.wsgi_request.user == owner
    assert "Your new password is set" in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD) and owner.email_verified

    again = Client().get(urlsplit(url).path, follow=True)
    assert "This link no longer works" in again.content.decode()
    assert 'name="new_password1"' not in again.content.decode()


def test_the_link_expires_after_an_hour(client, owner, mailbox, monkeypatch):
    ask(client, "olivia")
    url = link(mailbox.messages[0])
    now = PasswordResetTokenGenerator()._now()
    monkeypatch.setattr(
        PasswordResetTokenGenerator, "_now", lambda self: now + timedelta(minutes=61)
    )
    page = client.get(urlsplit(url).path, follow=True).content.decode()
    assert "This link no longer works" in page
    assert not User.objects.get(pk=owner.pk).check_password(NEW_PASSWORD)


def test_a_new_password_logs_out_every_other_session(client, owner, mailbox):
    phone = Client()
    phone.force_login(owner)
    assert phone.get("/accounts/settings/").status_code == 200
    ask(client, "olivia")
    reset(client, link(mailbox.messages[0]))
    assert phone.get("/accounts/settings/").url.startswith("/accounts/login/")
    assert client.get("/accounts/settings/").status_code == 200


def test_a_weak_new_password_is_refused_and_the_link_still_works(client, owner, mailbox):
    ask(client, "olivia")
    url = link(mailbox.messages[0])
    response = reset(client, url, "12345678")
    assert "too common" in response.content.decode()
    assert reset(client, url).wsgi_request.user == owner


def test_requests_are_throttled_per_network_address(client, owner, mailbox):
    for _ in range(10):
        assert ask(client, "someone-else").status_code == 200
    refused = ask(client, "olivia")
    assert refused.status_code == 429
    assert "Too many reset requests from your network" in refused.content.decode()
    assert mailbox.messages == []
    # Another network may still ask.
    assert ask(client, "olivia", "198.51.100.9").redirect_chain[-1][0].endswith("/sent/")


def test_requests_are_throttled_per_account_without_saying_so(client, owner, mailbox):
    answers = {ask(client, "olivia", f"198.51.100.{n}").content for n in range(6)}
    assert len(answers) == 1
    assert len(mailbox.messages) == 3


def test_the_answer_is_sent_before_the_mail(client, owner, mailbox, monkeypatch):
    """The mail leaves after the response, so the time the answer takes cannot tell that the
    account exists (an unknown one gets no mail)."""
    release = threading.Event()
    real = services.mail_send

    def held(**message):
        release.wait(timeout=10)
        real(**message)

    monkeypatch.setattr(services, "mail_send", held)
    response = client.post("/accounts/password/reset/", {"login": "olivia"})
    assert response.url == "/accounts/password/reset/sent/"
    assert mailbox.messages == []
    release.set()
    assert mailbox.wait_for("olivia@example.com")["Subject"] == "Instagram: reset your password"


def test_a_mail_server_failure_is_logged_and_answered_as_for_an_unknown_account(
    client, owner, mailbox, caplog
):
    mailbox.refuse = True
    with caplog.at_level(logging.ERROR):
        known = ask(client, "olivia")
    unknown = ask(client, "nobody@example.com")
    assert (
        known.redirect_chain == unknown.redirect_chain == [("/accounts/password/reset/sent/", 302)]
    )
    assert known.content == unknown.content
    assert "Could not send the 'password_reset' email to o***@example.com" in caplog.text
    assert "/accounts/password/reset/" not in caplog.text
