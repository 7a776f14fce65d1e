"""Email through real servers: SMTP on loopback (aiosmtpd) and moto's SES over HTTP.

Every message has a plain-text and an HTML part and the site's name; a failure to send is a
MailNotSent that the pages turn into a message, logged without the body or the whole address.
"""

import email
import email.policy
import logging

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.mail import MailNotSent, address_masked, mail_send
from config.secrets import Secrets
from tests.conftest import CREDENTIALS, REGION, moto_client
from tests.mailserver import free_port, html, text
from tests.test_secrets import PRODUCTION, start

SENDER = "Instagram <hello@example.com>"
LINK = "https://www.example.com/accounts/password/reset/MQ/secret-token-abc/"


def email_settings(tmp_path, **keys) -> dict:
    return Secrets(tmp_path / "secrets.json", keys, {}).email()


def reset_mail(to: str = "alice@example.org") -> None:
    mail_send(
        to=to,
        template="password_reset",
        context={"user": {"username": "alice"}, "link": LINK, "minutes": 60},
    )


# Settings


def test_the_embedded_default_prints_mail_to_the_terminal(tmp_path):
    assert email_settings(tmp_path)["EMAIL_BACKEND"] == (
        "django.core.mail.backends.console.EmailBackend"
    )


def test_each_backend_gets_djangos_own_settings(tmp_path):
    smtp = email_settings(
        tmp_path,
        EMAIL_BACKEND="smtp",
        EMAIL_HOST="smtp.example.com",
        EMAIL_USE_TLS=True,
        EMAIL_HOST_USER="me",
        EMAIL_HOST_PASSWORD="pw",
        DEFAULT_FROM_EMAIL=SENDER,
    )
    assert smtp["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_USE_TLS"]) == (
        "smtp.example.com",
        587,
        True,
    )
    assert smtp["DEFAULT_FROM_EMAIL"] == SENDER and smtp["EMAIL_TIMEOUT"] == 10
    ses = email_settings(
        tmp_path, EMAIL_BACKEND="ses", DEFAULT_FROM_EMAIL=SENDER, AWS_S3_REGION_NAME=REGION
    )
    assert ses["EMAIL_BACKEND"] == "django_ses.SESBackend"
    assert ses["AWS_SES_REGION_ENDPOINT_URL"] == f"https://email.{REGION}.amazonaws.com"
    # The instance role's credentials, found by boto3; no throttling that needs GetSendQuota.
    assert ses["AWS_SES_ACCESS_KEY_ID"] is None and ses["AWS_SES_AUTO_THROTTLE"] is None
    file = email_settings(tmp_path, EMAIL_BACKEND="file", EMAIL_FILE_PATH=str(tmp_path))
    assert file["EMAIL_FILE_PATH"] == str(tmp_path)


@pytest.mark.parametrize(
    ("keys", "fragment"),
    [
        ({"EMAIL_BACKEND": "sendmail"}, "'EMAIL_BACKEND' must be one of ses, smtp, console, file"),
        ({"EMAIL_BACKEND": "smtp", "EMAIL_HOST": "h"}, "'DEFAULT_FROM_EMAIL' is missing"),
        ({"EMAIL_BACKEND": "smtp", "DEFAULT_FROM_EMAIL": SENDER}, "'EMAIL_HOST' is missing"),
        (
            {"EMAIL_BACKEND": "smtp", "DEFAULT_FROM_EMAIL": SENDER, "EMAIL_HOST": "h",
             "EMAIL_USE_TLS": True, "EMAIL_USE_SSL": True},
            "EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive",
        ),
        ({"EMAIL_BACKEND": "file"}, "'EMAIL_FILE_PATH' is missing"),
        ({"EMAIL_BACKEND": "ses", "DEFAULT_FROM_EMAIL": SENDER},
         "'AWS_SES_REGION_NAME' is missing"),
    ],
)  # fmt: skip
def test_an_incomplete_email_setting_stops_start_up_naming_the_key(tmp_path, keys, fragment):
    with pytest.raises(ImproperlyConfigured, match=fragment) as raised:
        email_settings(tmp_path, **keys)
    assert str(tmp_path / "secrets.json") in str(raised.value)


def test_email_keys_of_the_wrong_type_are_refused(tmp_path):
    path = tmp_path / "secrets.json"
    path.write_text('{"EMAIL_PORT": "twenty-five"}')
    with pytest.raises(ImproperlyConfigured, match="'EMAIL_PORT' must be a number"):
        Secrets.load(path, {})


@pytest.mark.parametrize(
    "email",
    [
        {"EMAIL_BACKEND": "ses", "DEFAULT_FROM_EMAIL": SENDER},
        {"EMAIL_BACKEND": "smtp", "DEFAULT_FROM_EMAIL": SENDER, "EMAIL_HOST": "smtp.example.com",
         "EMAIL_USE_TLS": True, "EMAIL_HOST_USER": "app", "EMAIL_HOST_PASSWORD": "p4ss-w0rd"},
    ],
    ids=["ses", "smtp"],
)  # fmt: skip
def test_production_settings_with_email_pass_the_deploy_check(tmp_path, email):
    result = start(
        tmp_path, {**PRODUCTION, **email}, "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout and "p4ss-w0rd" not in result.stdout + result.stderr


# SMTP


def test_mail_goes_through_smtp_with_a_plain_text_and_an_html_part(mailbox):
    reset_mail()
    [message] = mailbox.messages
    assert message["From"] == SENDER and message["To"] == "alice@example.org"
    assert message["Subject"] == "Instagram: reset your password"
    assert LINK in text(message) and f'href="{LINK}"' in html(message)
    assert "Instagram" in text(message) and "Instagram" in html(message)


def test_the_site_name_comes_from_the_settings(mailbox):
    with override_settings(SITE_NAME="Pictogram & Co"):
        reset_mail()
    [message] = mailbox.messages
    assert message["Subject"] == "Pictogram & Co: reset your password"
    assert "Pictogram &amp; Co" in html(message) and "Pictogram & Co" in text(message)


def test_a_refusing_smtp_server_is_a_mail_not_sent_logged_without_secrets(mailbox, caplog):
    mailbox.refuse = True
    with caplog.at_level(logging.ERROR, logger="config.mail"), pytest.raises(MailNotSent):
        reset_mail()
    assert "a***@example.org" in caplog.text and "password_reset" in caplog.text
    assert "alice@" not in caplog.text and "secret-token" not in caplog.text


def test_an_smtp_server_that_is_down_is_a_mail_not_sent(tmp_path, caplog):
    closed = {"EMAIL_BACKEND": "smtp", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": free_port()}
    unreachable = email_settings(tmp_path, DEFAULT_FROM_EMAIL=SENDER, **closed)
    with override_settings(**unreachable), pytest.raises(MailNotSent, match="Try again"):
        reset_mail()
    assert "ConnectionRefusedError" in caplog.text


# SES


@pytest.fixture
def ses(s3_endpoint, tmp_path):
    """The app sends through moto's SES server as it would through SES; returns a function
    that reads back from moto, over HTTP, what SES was given to send."""
    moto_client("ses", s3_endpoint).verify_domain_dkim(Domain="example.com")
    keys = {
        "EMAIL_BACKEND": "ses",
        "DEFAULT_FROM_EMAIL": SENDER,
        "AWS_SES_REGION_NAME": REGION,
        "AWS_SES_REGION_ENDPOINT_URL": s3_endpoint,
        **CREDENTIALS,
    }

    def sent() -> list[email.message.EmailMessage]:
        data = requests.get(f"{s3_endpoint}/moto-api/data.json", timeout=10).json()
        return [
            email.message_from_string(raw["raw_data"], policy=email.policy.default)
            for raw in data["ses"]["RawMessage"]
        ]

    before = len(sent())
    with override_settings(**email_settings(tmp_path, **keys)):
        yield lambda: sent()[before:]


def test_mail_goes_through_ses_with_both_parts(ses):
    reset_mail("bob@example.net")
    [message] = ses()
    assert message["To"] == "bob@example.net" and message["From"] == SENDER
    assert LINK in text(message) and f'href="{LINK}"' in html(message)


def test_ses_refusing_an_unverified_sender_is_a_mail_not_sent(ses, caplog):
    unverified = override_settings(DEFAULT_FROM_EMAIL="someone@unverified.example")
    with unverified, pytest.raises(MailNotSent):
        reset_mail()
    assert "SES MessageRejected" in caplog.text and "secret-token" not in caplog.text
    assert ses() == []


# What people type, in mail and in logs


@settings(max_examples=60, deadline=None)
@given(
    local=st.text(min_size=2, max_size=20).filter(lambda s: "@" not in s),
    domain=st.text().filter(lambda s: "@" not in s),
)
def test_a_masked_address_keeps_one_letter_of_the_name_and_the_domain(local, domain):
    masked = address_masked(f"{local}@{domain}")
    assert masked == f"{local[0]}***@{domain}"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(address=st.emails(), name=st.text(max_size=30))
def test_text_in_a_mails_html_part_is_escaped(mailbox, address, name):
    mailbox.clear()
    mail_send(
        to="alice@example.org",
        template="email_changing",
        context={"user": {"username": name}, "new_address": address + "<b>", "reset_link": LINK},
    )
    [message] = mailbox.messages
    assert "<b>" not in html(message)
