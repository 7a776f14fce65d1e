"""A suspended member: told why when they log in with the right password (and only then), every
session ended, and everything they shared gone; reactivated, they log in again."""

import pytest
from django.test import Client

from moderation import services
from tests import factories

pytestmark = pytest.mark.django_db

REASON = "Repeated spam after two warnings"


@pytest.fixture
def moderator(db):
    return factories.moderator(username="mona")


def log_in(client: Client, login: str, password: str, path: str = "/accounts/login/"):
    return client.post(path, {"username": login, "password": password})


def test_the_right_password_shows_the_suspension_reason(client, owner, moderator):
    services.member_suspend(moderator=moderator, member=owner, reason=REASON)
    response = log_in(client, "olivia", factories.PASSWORD)
    assert response.status_code == 200
    assert f"Your account was suspended: {REASON}" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_reveals_nothing_about_a_suspension(client, owner, moderator):
    services.member_suspend(moderator=moderator, member=owner, reason=REASON)
    suspended = log_in(client, "olivia", "not-the-password").content.decode()
    unknown = log_in(Client(), "nobody-here", "not-the-password").content.decode()
    assert "suspended" not in suspended and REASON not in suspended
    assert "don&#x27;t match an account" in suspended
    assert "don&#x27;t match an account" in unknown


def test_the_admin_log_in_says_so_too(client, owner, moderator):
    services.member_suspend(moderator=moderator, member=owner, reason=REASON)
    response = log_in(client, "olivia", factories.PASSWORD, "/admin/login/?next=/admin/")
    assert f"Your account was suspended: {REASON}" in response.content.decode()


def test_suspending_ends_every_session(owner, moderator):
    phone, laptop = Client(), Client()
    for device in (phone, laptop):
        assert log_in(device, "olivia", factories.PASSWORD).status_code == 302
        assert device.get("/accounts/settings/").status_code == 200
    services.member_suspend(moderator=moderator, member=owner, reason=REASON)
    for device in (phone, laptop):
        response = device.get("/accounts/settings/")
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    # Lifting the suspension does not bring the old sessions back.
    services.member_reactivate(moderator=moderator, member=owner)
    assert phone.get("/accounts/settings/").status_code == 302
    assert log_in(phone, "olivia", factories.PASSWORD).status_code == 302
    assert phone.get("/accounts/settings/").status_code == 200


def test_a_deactivated_member_without_a_reason_gets_the_usual_answer(client, owner):
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    response = log_in(client, "olivia", factories.PASSWORD).content.decode()
    assert "suspended" not in response and "don&#x27;t match an account" in response
