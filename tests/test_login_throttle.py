"""Password guessing is slowed wherever a password is checked, without locking the owner out."""

import threading
import time

import pytest
from django.contrib.auth import authenticate
from django.db import connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import ratelimit
from config.models import RateCounter
from config.ratelimit import client_address
from members.models import User
from tests import factories
from tests.servers import Browser, gunicorn, production_secrets, project_copy

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
ELSEWHERE = "198.51.100.20"


def log_in(client, login, password, **extra):
    return client.post("/accounts/login/", {"username": login, "password": password}, **extra)


def refused_for(response) -> str:
    return " ".join(response.context["form"].non_field_errors()) if response.context else ""


def guess(times: int, login: str = "olivia", **extra) -> None:
    """``times`` wrong passwords for ``login`` from a browser that never logged in."""
    for _ in range(times):
        assert log_in(Client(), login, "wrong", **extra).status_code == 200


def test_five_wrong_passwords_from_one_address_refuse_that_address(client, owner, follower):
    for login in ["olivia", "OLIVIA", "olivia@example.com", "Olivia@Example.com", "olivia"]:
        assert log_in(client, login, "wrong").status_code == 200
    response = log_in(client, "olivia", factories.PASSWORD)
    assert response.status_code == 429
    assert "Too many failed log-ins" in refused_for(response)
    assert int(response["Retry-After"]) > 0
    assert not response.wsgi_request.user.is_authenticated
    # Another account from the same address is not locked out.
    assert log_in(client, "felix", factories.PASSWORD).status_code == 302


def test_guesses_from_one_address_do_not_lock_the_owner_out_elsewhere(owner):
    guess(5, REMOTE_ADDR=ATTACKER)
    for _ in range(25):
        assert log_in(Client(), "olivia", "wrong", REMOTE_ADDR=ATTACKER).status_code == 429
    response = log_in(Client(), "olivia", factories.PASSWORD, REMOTE_ADDR=ELSEWHERE)
    assert response.status_code == 302


def test_guessing_from_many_addresses_stops_new_devices_but_not_the_owners(owner):
    owners_browser = Client()
    assert log_in(owners_browser, "olivia", factories.PASSWORD).status_code == 302
    owners_browser.post("/accounts/logout/")
    for number in range(4):
        guess(5, REMOTE_ADDR=f"203.0.113.{number}")
    stranger = log_in(Client(), "olivia", factories.PASSWORD, REMOTE_ADDR=ELSEWHERE)
    assert stranger.status_code == 429
    assert "browser you have logged in with before" in refused_for(stranger)
    # The owner's browser, known from its signed device cookie, still gets in.
    assert log_in(owners_browser, "olivia", factories.PASSWORD).status_code == 302


def test_a_known_browser_has_its_own_limit(client, owner):
    assert log_in(client, "olivia", factories.PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(5):
        assert log_in(client, "olivia", "wrong").status_code == 200
    response = log_in(client, "olivia", factories.PASSWORD)
    assert response.status_code == 429
    assert "from this browser" in refused_for(response)
    # Its failures are its own: another browser at the same address is not refused.
    assert log_in(Client(), "olivia", factories.PASSWORD).status_code == 302


def test_a_device_cookie_helps_only_the_account_it_names(client, owner, follower):
    assert log_in(client, "felix", factories.PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for number in range(4):
        guess(5, REMOTE_ADDR=f"203.0.113.{number}")
    assert log_in(client, "olivia", factories.PASSWORD).status_code == 429
    client.cookies["device"] = "forged-value"
    assert log_in(client, "olivia", factories.PASSWORD).status_code == 429


def test_the_lock_lifts_after_fifteen_minutes(client, owner, monkeypatch):
    guess(5)
    assert log_in(client, "olivia", factories.PASSWORD).status_code == 429
    later = time.time() + 31 * 60
    monkeypatch.setattr(ratelimit, "clock", lambda: later)
    assert log_in(client, "olivia", factories.PASSWORD).status_code == 302


def test_a_successful_log_in_clears_earlier_failures(client, owner):
    guess(4)
    assert log_in(client, "olivia", factories.PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    guess(4)
    assert log_in(Client(), "olivia", factories.PASSWORD).status_code == 302


def test_one_address_guessing_many_accounts_is_stopped(owner):
    for number in range(50):
        guess(1, login=f"nobody{number}")
    response = log_in(Client(), "olivia", factories.PASSWORD)
    assert response.status_code == 429
    assert "from your network" in refused_for(response)
    elsewhere = log_in(Client(), "olivia", factories.PASSWORD, REMOTE_ADDR=ELSEWHERE)
    assert elsewhere.status_code == 302


@pytest.mark.parametrize("login", ["o" * 255, "o" * 5000, "ÖLIVIA 🦜 " * 40, "名前@例え.テスト"])
def test_any_log_in_name_is_refused_plainly_and_counted(client, owner, login):
    for _ in range(5):
        response = log_in(client, login, "wrong")
        assert response.status_code == 200
        assert "don't match" in refused_for(response)
    assert log_in(client, login, "wrong").status_code == 429


@pytest.mark.parametrize("login", ["olivia\x00", "\x00"])
def test_a_log_in_name_with_a_nul_byte_is_refused_plainly(client, owner, login):
    response = log_in(client, login, factories.PASSWORD)
    assert response.status_code == 200
    assert "Null characters are not allowed" in str(response.context["form"].errors)
    # Callers other than the form get no member either, and no error.
    assert authenticate(None, username=login, password=factories.PASSWORD) is None


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    login=st.text(max_size=40) | st.text(min_size=250, max_size=400),
    address=st.text(max_size=60),
)
def test_no_log_in_name_or_forwarded_address_breaks_the_page(owner, settings, login, address):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = log_in(Client(), login, "wrong", HTTP_X_FORWARDED_FOR=address)
    assert response.status_code in (200, 429)


def test_the_admin_log_in_is_refused_while_the_site_log_in_is(client):
    factories.user(username="root", is_staff=True, is_superuser=True)
    guess(5, login="root")
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": factories.PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert not client.get("/admin/").wsgi_request.user.is_authenticated


def test_wrong_guesses_in_the_admin_count_too(client):
    factories.user(username="root", is_staff=True, is_superuser=True)
    for _ in range(5):
        response = client.post("/admin/login/", {"username": "root", "password": "wrong"})
        assert response.status_code == 200
    assert log_in(client, "root", factories.PASSWORD).status_code == 429


@pytest.mark.parametrize("site", ["/accounts/password/", "/admin/password_change/"])
def test_guessing_the_old_password_is_throttled(client, site):
    member = factories.user(username="root", is_staff=True, is_superuser=True)
    client.force_login(member)
    form = {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"}
    for _ in range(5):
        response = client.post(site, {"old_password": "wrong", **form})
        assert response.status_code == 200
    response = client.post(site, {"old_password": factories.PASSWORD, **form})
    assert response.status_code == 429
    assert "Too many failed" in response.content.decode()
    member.refresh_from_db()
    assert member.check_password(factories.PASSWORD)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "remote", "client"),
    [
        (0, "198.51.100.7", "127.0.0.1", "127.0.0.1"),
        (1, "198.51.100.7", "10.0.0.5", "198.51.100.7"),
        # ALB, then nginx on the host: "<client>, <ALB>" from 127.0.0.1.
        (2, "198.51.100.7, 10.0.0.5", "127.0.0.1", "198.51.100.7"),
        # Whatever the client sent itself comes first and is never believed.
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.5", "127.0.0.1", "198.51.100.7"),
        # Fewer entries than proxies: the farthest one known.
        (2, "", "127.0.0.1", "127.0.0.1"),
    ],
)
def test_the_client_address_comes_from_the_trusted_proxies(
    rf, settings, proxies, forwarded, remote, client
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote)
    assert client_address(request) == client


@settings(max_examples=50, deadline=None)
@given(forged=st.text(max_size=80), proxies=st.integers(min_value=1, max_value=3))
def test_nothing_a_client_forges_changes_its_address(forged, proxies):
    from django.test import RequestFactory, override_settings

    chain = ", ".join(["198.51.100.7", "10.0.0.5", "10.0.0.6"][:proxies])
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        honest = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=chain, REMOTE_ADDR="127.0.0.1")
        forging = RequestFactory().get(
            "/", HTTP_X_FORWARDED_FOR=f"{forged}, {chain}", REMOTE_ADDR="127.0.0.1"
        )
        assert client_address(forging) == client_address(honest)


@pytest.mark.django_db(transaction=True)
def test_simultaneous_wrong_guesses_get_only_five_password_checks(monkeypatch):
    factories.user(username="olivia")
    checks = []
    check_password = User.check_password

    def slow_check(user, password):
        checks.append(password)
        time.sleep(0.2)  # as long as a real hash takes, so that every guess overlaps
        return check_password(user, password)

    monkeypatch.setattr(User, "check_password", slow_check)
    start = threading.Barrier(16)
    statuses = []

    def attempt():
        try:
            start.wait(timeout=30)
            statuses.append(log_in(Client(), "olivia", "wrong").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checks) == 5
    assert sorted(statuses) == [200] * 5 + [429] * 11


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.parametrize("counters", ["database", "redis"])
def test_failures_on_one_server_lock_the_account_on_another(
    tmp_path, s3_secrets, bucket, request, counters
):
    factories.server_user(username="olivia")
    secrets = production_secrets(s3_secrets)
    if counters == "redis":  # REDIS_URL: the servers count in Redis, not in the database
        redis_server = request.getfixturevalue("redis_server")
        redis_server.client().flushdb()
        secrets["REDIS_URL"] = redis_server.url
    with (
        gunicorn(project_copy(tmp_path / "a"), secrets) as a,
        gunicorn(project_copy(tmp_path / "b"), secrets) as b,
    ):
        for _ in range(5):
            assert "don&#x27;t match" in attempt(a, "wrong")
        assert "Too many failed log-ins" in attempt(b, factories.PASSWORD)
    if counters == "redis":
        assert not RateCounter.objects.exists()
        assert redis_server.client().keys("ratelimit:password.*")


def attempt(server: str, password: str) -> str:
    return (
        Browser(server)
        .submit("/accounts/login/", {"username": "olivia", "password": password})
        .text
    )
