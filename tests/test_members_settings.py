"""The settings page: profile, email, password, two-factor, sessions, download and deletion in
one place."""

import re

import pyotp
import pytest
from django.test import Client

from members import services
from members.models import User
from tests import factories

pytestmark = pytest.mark.django_db


def test_settings_need_a_log_in(client):
    response = client.get("/accounts/settings/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_settings_gather_profile_email_password_and_sessions(client, owner):
    client.force_login(owner)
    page = client.get("/accounts/settings/").content.decode()
    for section in ("profile", "email", "password", "two-factor", "sessions", "download", "delete"):
        assert f'id="{section}"' in page
    assert 'href="/accounts/edit/"' in page and 'href="/accounts/password/"' in page
    assert "olivia@example.com · <strong>not confirmed</strong>" in page
    assert 'action="/accounts/sessions/end-others/"' in page


def test_the_profile_links_to_settings_for_its_owner_only(client, owner, outsider):
    client.force_login(owner)
    assert 'href="/accounts/settings/"' in client.get("/olivia/").content.decode()
    client.force_login(outsider)
    assert 'href="/accounts/settings/"' not in client.get("/olivia/").content.decode()


def test_log_out_everywhere_else_ends_the_other_sessions_only(client, owner):
    laptop, phone = Client(), Client()
    for device in (client, laptop, phone):
        device.post("/accounts/login/", {"username": "olivia", "password": factories.PASSWORD})
        assert device.get("/accounts/settings/").status_code == 200
    response = client.post("/accounts/sessions/end-others/", follow=True)
    assert "You are logged out everywhere else." in response.content.decode()
    assert client.get("/accounts/settings/").status_code == 200
    for device in (laptop, phone):
        assert device.get("/accounts/settings/").url.startswith("/accounts/login/")
    # Logging in again on another device works as before.
    laptop.post("/accounts/login/", {"username": "olivia", "password": factories.PASSWORD})
    assert laptop.get("/accounts/settings/").status_code == 200


def test_sessions_made_before_the_upgrade_stay_valid(client, owner):
    """Generation 0 keeps Django's own session hash, so deploying this logs nobody out."""
    client.force_login(owner)
    assert User.objects.get(pk=owner.pk).session_generation == 0
    assert client.get("/accounts/settings/").status_code == 200


def test_changing_the_password_ends_other_sessions_and_keeps_this_one(client, owner):
    phone = Client()
    phone.force_login(owner)
    client.force_login(owner)
    new = "a-brand-new-passphrase-42"
    response = client.post(
        "/accounts/password/",
        {"old_password": factories.PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.url == "/accounts/settings/"
    assert client.get("/accounts/settings/").status_code == 200
    assert phone.get("/accounts/settings/").url.startswith("/accounts/login/")


def test_no_two_fields_of_the_page_share_an_id(client, owner):
    """The email form and the two-factor form both ask for the password: each label must
    name its own field."""
    services.two_factor_enable(user=owner, secret=pyotp.random_base32(), step=0)
    client.force_login(owner)
    ids = re.findall(r'\sid="([^"]+)"', client.get("/accounts/settings/").content.decode())
    assert len(ids) == len(set(ids)), sorted(ids)
