"""Password guessing is slowed per account and per address, on every app server at once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from members.models import LoginFailure
from tests import factories
from tests.servers import Browser, gunicorn, production_secrets, project_copy

pytestmark = pytest.mark.django_db


def log_in(client, login, password, **extra):
    return client.post("/accounts/login/", {"username": login, "password": password}, **extra)


def refused_for(response) -> str:
    return " ".join(response.context["form"].non_field_errors()) if response.context else ""


def test_five_wrong_passwords_lock_the_account_even_with_the_right_one(client, owner, follower):
    for login in ["olivia", "OLIVIA", "olivia@example.com", "Olivia@Example.com", "olivia"]:
        assert log_in(client, login, "wrong").status_code == 200
    response = log_in(client, "olivia", factories.PASSWORD)
    assert "Too many failed log-ins for this account" in refused_for(response)
    assert not response.wsgi_request.user.is_authenticated
    # Another account from the same address is not locked out.
    assert log_in(client, "felix", factories.PASSWORD).status_code == 302


def test_the_lock_lifts_after_fifteen_minutes(client, owner):
    for _ in range(5):
        log_in(client, "olivia", "wrong")
    LoginFailure.objects.update(created=timezone.now() - timedelta(minutes=16))
    assert log_in(client, "olivia", factories.PASSWORD).status_code == 302


def test_a_successful_log_in_clears_earlier_failures(client, owner):
    for _ in range(4):
        log_in(client, "olivia", "wrong")
    assert log_in(client, "olivia", factories.PASSWORD).status_code == 302
    assert not LoginFailure.objects.exists()


def test_one_address_guessing_many_accounts_is_stopped(client, owner):
    for number in range(20):
        log_in(client, f"nobody{number}", "wrong")
    response = log_in(client, "olivia", factories.PASSWORD)
    assert "Too many failed log-ins from your network" in refused_for(response)
    elsewhere = log_in(client, "olivia", factories.PASSWORD, REMOTE_ADDR="203.0.113.9")
    assert elsewhere.status_code == 302


def test_behind_a_load_balancer_the_address_it_saw_counts(client, owner, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for number in range(20):
        # A forged first entry changes nothing: the balancer appends the real address last.
        forged = f"10.0.0.{number}, 198.51.100.7"
        log_in(client, f"nobody{number}", "wrong", HTTP_X_FORWARDED_FOR=forged)
    assert set(LoginFailure.objects.values_list("address", flat=True)) == {"198.51.100.7"}
    response = log_in(client, "olivia", factories.PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert "from your network" in refused_for(response)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_failures_on_one_server_lock_the_account_on_another(tmp_path, s3_secrets, bucket):
    factories.server_user(username="olivia")
    secrets = production_secrets(s3_secrets)
    with (
        gunicorn(project_copy(tmp_path / "a"), secrets) as a,
        gunicorn(project_copy(tmp_path / "b"), secrets) as b,
    ):
        for _ in range(5):
            assert "don&#x27;t match" in attempt(a, "wrong")
        assert "Too many failed log-ins for this account" in attempt(b, factories.PASSWORD)


def attempt(server: str, password: str) -> str:
    return (
        Browser(server)
        .submit("/accounts/login/", {"username": "olivia", "password": password})
        .text
    )
