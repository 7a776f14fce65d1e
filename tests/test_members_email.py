"""Email addresses through the real views: confirmation at sign-up, change, and a sign-up page
that never tells whether an address is registered. Mail comes from the loopback SMTP server."""

from html import unescape
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client

from members.models import User
from members.services import CONFIRM_SALT
from tests import factories
from tests.mailserver import html, link, text

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "Alice@Example.com",
    "full_name": "Alice Liddell",
    "username": "alice",
    "password1": "through-the-looking-glass",
    "password2": "through-the-looking-glass",
}


def confirm(client: Client, url: str):
    """Open a confirmation link and press its button."""
    path = urlsplit(url).path
    page = client.get(path)
    assert page.status_code == 200 and b"Confirm email address" in page.content
    return client.post(path, follow=True)


def change_email(client: Client, address: str, password: str = factories.PASSWORD):
    return client.post("/accounts/email/", {"email": address, "password": password}, follow=True)


# Sign-up


def test_sign_up_sends_a_confirmation_link_and_says_check_your_email(client, mailbox):
    response = client.post("/accounts/signup/", SIGNUP, follow=True)
    assert response.redirect_chain == [("/accounts/signup/done/", 302)]
    assert "Check your email" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    user = User.objects.get()
    assert (user.username, user.email, user.email_verified) == ("alice", "alice@example.com", False)
    [message] = mailbox.messages
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Instagram: confirm your email address"
    assert link(message) in html(message) and "Hi alice" in text(message)


def test_signing_up_with_a_registered_address_answers_the_same_and_warns_its_owner(
    client, owner, mailbox
):
    fresh = client.post("/accounts/signup/", {**SIGNUP, "username": "bob"}, follow=True)
    taken = Client().post(
        "/accounts/signup/",
        {**SIGNUP, "email": "OLIVIA@example.com", "username": "mallory"},
        follow=True,
    )
    assert taken.redirect_chain == fresh.redirect_chain
    assert taken.content == fresh.content
    assert not User.objects.filter(username="mallory").exists()
    [warning] = mailbox.to("olivia@example.com")
    assert warning["Subject"] == "Instagram: someone tried to use your email address"
    assert "sign up for Instagram with this email address" in text(warning)
    assert "/accounts/password/reset/" in text(warning)
    assert "olivia" in text(warning) and "/accounts/email/confirm/" not in text(warning)


def test_the_owner_of_a_registered_address_is_warned_a_few_times_an_hour_only(owner, mailbox):
    for number in range(5):
        response = Client().post(
            "/accounts/signup/", {**SIGNUP, "email": "olivia@example.com", "username": f"m{number}"}
        )
        assert response.url == "/accounts/signup/done/"
    assert len(mailbox.to("olivia@example.com")) == 3


def test_a_member_can_log_in_before_confirming_and_sees_a_banner(client, mailbox):
    client.post("/accounts/signup/", SIGNUP)
    client.post("/accounts/login/", {"username": "alice", "password": SIGNUP["password1"]})
    page = client.get("/explore/").content.decode()
    assert "Please confirm your email address" in page and "alice@example.com" in page


def test_following_the_link_confirms_the_address_and_the_banner_goes(client, mailbox):
    client.post("/accounts/signup/", SIGNUP)
    client.post("/accounts/login/", {"username": "alice", "password": SIGNUP["password1"]})
    response = confirm(client, link(mailbox.messages[0]))
    assert "Your email address alice@example.com is confirmed" in response.content.decode()
    assert User.objects.get().email_verified
    assert "Please confirm your email address" not in client.get("/explore/").content.decode()


def test_opening_a_link_without_pressing_the_button_changes_nothing(client, mailbox):
    client.post("/accounts/signup/", SIGNUP)
    client.get(urlsplit(link(mailbox.messages[0])).path)
    assert not User.objects.get().email_verified


def test_the_link_can_be_sent_again_a_few_times(client, owner, mailbox):
    client.force_login(owner)
    for _ in range(3):
        response = client.post("/accounts/email/resend/", follow=True)
        assert "We sent a new link to olivia@example.com" in response.content.decode()
    refused = client.post("/accounts/email/resend/", follow=True).content.decode()
    assert "We have sent several links already" in refused
    assert len(mailbox.to("olivia@example.com")) == 3
    confirm(client, link(mailbox.messages[0]))
    assert User.objects.get(pk=owner.pk).email_verified


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        signing.dumps({"user": 1, "email": "olivia@example.com"}, salt="another-salt"),
    ],
)
def test_a_forged_link_is_refused_with_a_message(client, owner, token):
    response = client.post(f"/accounts/email/confirm/{token}/")
    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    assert not User.objects.get(pk=owner.pk).email_verified


def test_a_sign_up_whose_mail_cannot_be_sent_saves_nothing(client, mailbox):
    mailbox.refuse = True
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 503
    assert "We could not send the email. Try again in a minute." in response.content.decode()
    assert not User.objects.exists()


# Changing the address


def test_a_change_sends_a_link_to_the_new_address_and_a_notice_to_the_old(client, owner, mailbox):
    client.force_login(owner)
    response = change_email(client, "Olivia.New@Example.org")
    assert "We sent a link to olivia.new@example.org" in response.content.decode()
    owner.refresh_from_db()
    assert (owner.email, owner.pending_email) == ("olivia@example.com", "olivia.new@example.org")

    [notice] = mailbox.to("olivia@example.com")
    assert notice["Subject"] == "Instagram: your email address is being changed"
    assert "olivia.new@example.org" in text(notice) and "/accounts/password/reset/" in text(notice)
    [message] = mailbox.to("olivia.new@example.org")
    assert message["Subject"] == "Instagram: confirm your new email address"

    confirm(Client(), link(message))
    owner.refresh_from_db()
    assert (owner.email, owner.pending_email, owner.email_verified) == (
        "olivia.new@example.org",
        "",
        True,
    )


def test_a_change_needs_the_password(client, owner, mailbox):
    client.force_login(owner)
    response = change_email(client, "new@example.org", "wrong-password")
    assert "That is not your password." in response.content.decode()
    assert mailbox.messages == [] and User.objects.get(pk=owner.pk).pending_email == ""


def test_password_checks_for_a_change_are_throttled(client, owner, mailbox):
    client.force_login(owner)
    # The password goes through the log-in throttle: five wrong guesses from this address.
    for _ in range(5):
        change_email(client, "new@example.org", "guess")
    response = change_email(client, "new@example.org")
    assert response.status_code == 429
    assert "Too many failed log-ins" in unescape(response.content.decode())
    assert mailbox.messages == [] and User.objects.get(pk=owner.pk).pending_email == ""


def test_a_second_change_voids_the_first_link(client, owner, mailbox):
    client.force_login(owner)
    change_email(client, "first@example.org")
    change_email(client, "second@example.org")
    response = Client().post(urlsplit(link(mailbox.to("first@example.org")[0])).path)
    assert response.status_code == 400
    assert "no longer valid" in response.content.decode()
    assert User.objects.get(pk=owner.pk).email == "olivia@example.com"


def test_changing_to_a_registered_address_tells_nothing_and_warns_its_owner(
    client, owner, follower, mailbox
):
    client.force_login(owner)
    response = change_email(client, "felix@example.com")
    assert "We sent a link to felix@example.com" in response.content.decode()
    [warning] = mailbox.to("felix@example.com")
    assert "move another Instagram account to this email address" in text(warning)
    assert "/accounts/email/confirm/" not in text(warning)
    assert User.objects.get(pk=owner.pk).email == "olivia@example.com"


def test_an_address_taken_before_the_link_is_followed_is_refused(client, owner, mailbox):
    client.force_login(owner)
    change_email(client, "wanted@example.org")
    factories.user(username="quick", email="wanted@example.org")
    response = Client().post(urlsplit(link(mailbox.to("wanted@example.org")[0])).path)
    assert response.status_code == 400
    assert "belongs to another account" in response.content.decode()
    assert User.objects.get(pk=owner.pk).email == "olivia@example.com"


def test_a_change_whose_mail_cannot_be_sent_records_nothing(client, owner, mailbox):
    client.force_login(owner)
    mailbox.refuse = True
    response = change_email(client, "new@example.org")
    assert response.status_code == 503
    assert "We could not send the email" in response.content.decode()
    assert User.objects.get(pk=owner.pk).pending_email == ""


def test_the_profile_form_no_longer_changes_the_address(client, owner):
    client.force_login(owner)
    client.post("/accounts/edit/", {"username": "olivia", "email": "sneaky@example.org"})
    assert User.objects.get(pk=owner.pk).email == "olivia@example.com"


def test_an_old_confirmation_link_cannot_confirm_a_changed_address(client, owner, mailbox):
    old = signing.dumps({"user": owner.pk, "email": "olivia@example.com"}, salt=CONFIRM_SALT)
    owner.email = "olivia@elsewhere.org"
    owner.save()
    response = client.post(f"/accounts/email/confirm/{old}/")
    assert response.status_code == 400
    assert not User.objects.get(pk=owner.pk).email_verified
