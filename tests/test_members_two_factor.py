"""Two-factor log-in: turning it on and off, log-in with a code or a backup code on the site and
in the admin, no replay, throttled guesses, and no way around it by a reset link."""

import re
import time

import pyotp
import pytest
from django.contrib.auth.hashers import check_password
from django.core import mail
from hypothesis import given, settings
from hypothesis import strategies as st

from members import services, throttle, totp
from members.models import User
from tests import factories
from tests.mailserver import after_response_done

pytestmark = pytest.mark.django_db

LOGIN = {"username": "olivia", "password": factories.PASSWORD}


def code(secret: str, steps_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


@pytest.fixture
def secured(owner):
    """Olivia, with two-factor log-in on; her backup codes are ``secured.backup``."""
    owner.backup = services.two_factor_enable(user=owner, secret=pyotp.random_base32(), step=0)
    return owner


def logged_in(client) -> bool:
    return client.get("/accounts/settings/").status_code == 200


def test_turning_it_on_shows_a_qr_code_and_the_key_and_needs_a_first_code(client, owner):
    client.force_login(owner)
    page = client.get("/accounts/two-factor/").content.decode()
    secret = re.search(r'class="two-factor__secret">([A-Z2-7]+)<', page)[1]
    assert "<svg" in page and "QR code for your authenticator" in page
    assert client.get("/accounts/two-factor/").content.decode().count(secret) == 1  # same key

    wrong = client.post("/accounts/two-factor/", {"code": "000000"})
    assert "That code is not right" in wrong.content.decode()
    assert not User.objects.get(pk=owner.pk).two_factor_on

    shown = client.post("/accounts/two-factor/", {"code": code(secret)}).content.decode()
    backup = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", shown)
    stored = User.objects.get(pk=owner.pk)
    assert stored.two_factor_secret == secret
    assert len(set(backup)) == 10 and len(stored.two_factor_backup_codes) == 10
    # Stored hashed: no code appears in the row, each matches one hash.
    assert not any(c.replace("-", "") in str(stored.two_factor_backup_codes) for c in backup)
    assert check_password(backup[0].replace("-", ""), stored.two_factor_backup_codes[0]["hash"])
    # Shown once: the page now sends the member to settings, which says it is on.
    again = client.get("/accounts/two-factor/", follow=True).content.decode()
    assert "10 backup codes left" in again and backup[0] not in again


def test_log_in_asks_for_a_code_after_the_password(client, secured):
    response = client.post("/accounts/login/?next=/olivia/", LOGIN)
    assert response.url == "/accounts/login/code/"
    assert not logged_in(client)
    assert client.post("/accounts/login/code/", {"code": "123456"}).status_code == 200
    assert not logged_in(client)
    response = client.post("/accounts/login/code/", {"code": code(secured.two_factor_secret)})
    assert response.url == "/olivia/"
    assert logged_in(client)


def test_a_code_cannot_be_replayed(client, secured, django_user_model):
    used = code(secured.two_factor_secret)
    client.post("/accounts/login/", LOGIN)
    client.post("/accounts/login/code/", {"code": used})
    assert logged_in(client)

    other = type(client)()
    other.post("/accounts/login/", LOGIN)
    response = other.post("/accounts/login/code/", {"code": used})
    assert "used already" in response.content.decode()
    assert not logged_in(other)
    # A later step's code still works.
    other.post("/accounts/login/code/", {"code": code(secured.two_factor_secret, 1)})
    assert logged_in(other)


def test_a_backup_code_logs_in_once(client, secured):
    backup = secured.backup[3]
    client.post("/accounts/login/", LOGIN)
    client.post("/accounts/login/code/", {"code": backup.upper()})
    assert logged_in(client)
    assert len(User.objects.get(pk=secured.pk).two_factor_backup_codes) == 9

    other = type(client)()
    other.post("/accounts/login/", LOGIN)
    other.post("/accounts/login/code/", {"code": backup})
    assert not logged_in(other)


def test_code_guesses_are_throttled(client, secured):
    client.post("/accounts/login/", LOGIN)
    for _ in range(throttle.PAIR_LIMIT):
        assert client.post("/accounts/login/code/", {"code": "000000"}).status_code == 200
    response = client.post("/accounts/login/code/", {"code": code(secured.two_factor_secret)})
    assert response.status_code == 429
    assert "Too many failed code entries" in response.content.decode()
    assert not logged_in(client)


def test_the_code_page_needs_a_right_password_first_and_it_expires(client, secured, monkeypatch):
    assert client.get("/accounts/login/code/").url == "/accounts/login/"
    client.post("/accounts/login/", LOGIN)
    later = time.time() + 301
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.post("/accounts/login/code/", {"code": code(secured.two_factor_secret)})
    assert response.url == "/accounts/login/"
    assert not logged_in(client)


def test_the_admin_log_in_asks_for_the_code_too(client):
    staff = factories.user(username="sam", is_staff=True, is_superuser=True)
    services.two_factor_enable(user=staff, secret=pyotp.random_base32(), step=0)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "sam", "password": factories.PASSWORD}
    )
    assert response.url == "/accounts/login/code/"
    assert client.get("/admin/").url.startswith("/admin/login/")
    response = client.post("/accounts/login/code/", {"code": code(staff.two_factor_secret)})
    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_admin_log_in_without_two_factor_is_unchanged(client):
    factories.user(username="sam", is_staff=True, is_superuser=True)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "sam", "password": factories.PASSWORD}
    )
    assert response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_password_reset_link_does_not_skip_the_code(client, secured):
    client.post("/accounts/password/reset/", {"login": "olivia"})
    after_response_done()
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body)[1]
    form_url = client.get(link).url
    new = "a-brand-new-passphrase-42"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.url == "/accounts/login/code/"
    assert not logged_in(client)
    client.post("/accounts/login/code/", {"code": code(secured.two_factor_secret)})
    assert logged_in(client)
    assert User.objects.get(pk=secured.pk).check_password(new)


def test_turning_it_off_needs_the_password_and_a_code(client, secured):
    client.force_login(secured)
    right = code(secured.two_factor_secret)
    attempts = [
        {"password": "wrong", "code": right},
        {"password": factories.PASSWORD},
        {"password": factories.PASSWORD, "code": "999999"},
    ]
    for data in attempts:
        assert client.post("/accounts/two-factor/off/", data).status_code == 200
        assert User.objects.get(pk=secured.pk).two_factor_on
    # The wrong password did not use the code up.
    data = {"password": factories.PASSWORD, "code": right}
    assert client.post("/accounts/two-factor/off/", data).url == "/accounts/settings/"
    assert not User.objects.get(pk=secured.pk).two_factor_on
    client.logout()
    assert client.post("/accounts/login/", LOGIN).url == "/"


@settings(max_examples=40, deadline=None)
@given(typed=st.text(max_size=40))
def test_no_text_but_a_valid_code_is_accepted(typed):
    """Whatever is typed, a code is accepted only if it is the current step's TOTP code or an
    unused backup code (as typed, give or take spaces, dashes and case)."""
    secret = pyotp.random_base32()
    backup, hashes = totp.new_backup_codes()
    valid = {code(secret, n) for n in (-1, 0, 1)} | {c.replace("-", "") for c in backup}
    accepted = (
        totp.matching_step(secret, typed, after=0) is not None
        or totp.backup_code_index(hashes, typed) is not None
    )
    assert accepted == (totp.normalised(typed) in valid)


def test_turning_it_on_needs_a_log_in(client):
    for method in (client.get, client.post):
        response = method("/accounts/two-factor/", {"code": "123456"})
        assert response.url.startswith("/accounts/login/?next=")


def test_a_backup_code_costs_one_password_hash_not_ten(monkeypatch):
    """Each check is a full password hash (about 0.3 s in production)."""
    backup, stored = totp.new_backup_codes()
    checked = []
    real = totp.check_password
    monkeypatch.setattr(totp, "check_password", lambda *args: checked.append(1) or real(*args))
    last = backup[-1].replace("-", "")
    assert totp.backup_code_index(stored, last) == len(backup) - 1
    assert len(checked) == sum(entry["hint"] == last[:2] for entry in stored)  # usually 1
    checked.clear()
    assert totp.backup_code_index(stored, "123456") is None
    assert checked == []


def test_staff_can_turn_it_off_for_a_member_who_lost_their_phone(client, secured):
    staff = factories.user(username="sam", is_staff=True, is_superuser=True)
    client.force_login(staff)
    page = client.get(f"/admin/members/user/{secured.pk}/change/").content.decode()
    assert "On, 10 backup codes left" in page
    data = {"action": "two_factor_turn_off", "_selected_action": [secured.pk]}
    client.post("/admin/members/user/", data)
    assert not User.objects.get(pk=secured.pk).two_factor_on
    client.logout()
    assert client.post("/accounts/login/", LOGIN).url == "/"
