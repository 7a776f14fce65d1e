"""Sign-up, log-in, profiles and follows, through the pages people use."""

import threading

import pytest
from django.db import IntegrityError, connections
from django.test import Client
from django.urls import reverse

from members.forms import SignupForm
from members.models import Follow, User
from tests import factories

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "Alice@Example.com",
    "full_name": "Alice Liddell",
    "username": "Alice_L",
    "password1": "through-the-looking-glass",
    "password2": "through-the-looking-glass",
}


def test_signing_up_makes_the_member_who_can_then_log_in(client):
    response = client.post(reverse("members:signup"), SIGNUP)
    assert response.url == "/accounts/signup/done/"
    user = User.objects.get()
    assert (user.username, user.email) == ("alice_l", "alice@example.com")
    client.post(reverse("members:login"), {"username": "alice_l", "password": SIGNUP["password1"]})
    assert client.get("/").wsgi_request.user == user


def test_sign_up_page_is_a_form(client):
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b"csrfmiddlewaretoken" in response.content


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"username": "ALICE"}, "username", "already exists"),
        ({"username": "admin"}, "username", "reserved"),
        ({"username": "accounts"}, "username", "reserved"),
        ({"username": "\u0430lice"}, "username", "lowercase letters"),  # Cyrillic a
        ({"username": "a..b"}, "username", "lowercase letters"),
        ({"password1": "12345678", "password2": "12345678"}, "password2", "too common"),
        ({"password2": "something-else-entirely"}, "password2", "didn\u2019t match"),
    ],
)
def test_sign_up_rejects_clashing_or_unsafe_details(client, change, field, message):
    factories.user(username="alice", email="alice@example.com")
    response = client.post(reverse("members:signup"), {**SIGNUP, "username": "bob", **change})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert User.objects.count() == 1


@pytest.mark.parametrize("login", ["olivia", "OLIVIA", "olivia@example.com", "Olivia@Example.COM"])
def test_members_log_in_with_username_or_email_in_any_case(client, owner, login):
    response = client.post(
        reverse("members:login"), {"username": login, "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/").wsgi_request.user == owner


def test_a_wrong_password_is_refused_with_a_clear_message(client, owner):
    response = client.post(reverse("members:login"), {"username": "olivia", "password": "nope"})
    assert response.status_code == 200
    assert "don't match an account" in response.context["form"].non_field_errors()[0]
    assert "don&#x27;t match an account" in response.content.decode()
    assert not client.get("/accounts/edit/").wsgi_request.user.is_authenticated


def test_log_out_is_a_post(client, owner):
    client.force_login(owner)
    assert client.get(reverse("members:logout")).status_code == 405
    assert client.post(reverse("members:logout")).status_code == 302
    assert not client.get("/accounts/login/").wsgi_request.user.is_authenticated


def test_pages_that_need_a_member_send_visitors_to_log_in(client, owner):
    for url in ["/", "/accounts/edit/", "/accounts/password/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=")


def test_editing_the_profile_changes_what_others_see(client, owner, outsider):
    client.force_login(owner)
    response = client.post(
        reverse("members:edit"),
        {
            "full_name": "Olivia O.",
            "username": "olivia",
            "email": "olivia@example.com",
            "website": "https://olivia.example",
            "bio": "Photos of <b>cats</b>",
        },
    )
    assert response.status_code == 302
    client.force_login(outsider)
    page = client.get("/olivia/").content.decode()
    assert "Olivia O." in page
    assert "Photos of &lt;b&gt;cats&lt;/b&gt;" in page
    assert 'href="https://olivia.example"' in page


def test_a_website_must_be_a_web_address(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("members:edit"),
        {"username": "olivia", "email": "olivia@example.com", "website": "javascript:alert(1)"},
    )
    assert response.status_code == 200
    assert "website" in response.context["form"].errors


def test_changing_the_password_replaces_the_old_one(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("members:password"),
        {
            "old_password": factories.PASSWORD,
            "new_password1": "a-brand-new-passphrase",
            "new_password2": "a-brand-new-passphrase",
        },
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("a-brand-new-passphrase")
    assert not owner.check_password(factories.PASSWORD)


def test_following_shows_up_in_counts_and_lists(client, owner, follower):
    client.force_login(follower)
    assert client.post("/olivia/follow/").status_code == 302
    assert client.post("/olivia/follow/").status_code == 302  # idempotent
    assert Follow.objects.filter(follower=follower, following=owner).count() == 1
    profile = client.get("/olivia/")
    assert profile.context["owner"].followers_count == 1
    assert profile.context["owner"].followed_by_viewer
    assert "felix" in client.get("/olivia/followers/").content.decode()
    assert "olivia" in client.get("/felix/following/").content.decode()


def test_unfollowing_is_idempotent(client, owner, follower):
    factories.follow(follower, owner)
    client.force_login(follower)
    assert client.post("/olivia/unfollow/").status_code == 302
    assert client.post("/olivia/unfollow/").status_code == 302
    assert not Follow.objects.exists()


def test_nobody_can_follow_themselves(client, owner):
    client.force_login(owner)
    response = client.post("/olivia/follow/", follow=True)
    assert "You can&#x27;t follow yourself." in response.content.decode()
    assert not Follow.objects.exists()


def test_the_database_refuses_a_self_follow(owner):
    with pytest.raises(IntegrityError):
        Follow.objects.create(follower=owner, following=owner)


def test_follow_needs_a_logged_in_post(client, owner):
    assert client.get("/olivia/follow/").status_code == 405
    response = client.post("/olivia/follow/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    assert not Follow.objects.exists()


def test_follow_is_csrf_protected(owner, follower):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(follower)
    assert client.post("/olivia/follow/").status_code == 403
    assert not Follow.objects.exists()


def test_a_profile_url_in_another_case_redirects_to_the_real_one(client, owner):
    response = client.get("/Olivia/")
    assert response.status_code == 301
    assert response.url == "/olivia/"


def test_an_unknown_profile_is_a_friendly_404(client):
    response = client.get("/nobody-here/")
    assert response.status_code == 404
    assert "this page isn't available" in response.content.decode()


def test_the_admin_lists_users_for_staff_only(client, owner):
    client.force_login(owner)
    assert client.get("/admin/members/user/").status_code == 302
    staff = factories.user(username="sam", is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.get("/admin/members/user/")
    assert response.status_code == 200
    assert "olivia" in response.content.decode()


def sign_up(client, number: int, **extra):
    details = {**SIGNUP, "username": f"alice{number}", "email": f"alice{number}@example.com"}
    return client.post(reverse("members:signup"), details, **extra)


def test_one_address_gets_ten_sign_ups_an_hour(client):
    for number in range(10):
        assert sign_up(Client(), number).status_code == 302
    response = sign_up(Client(), 10)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    page = response.content.decode()
    assert "Too many sign-ups from your network" in page
    assert 'class="topbar"' in page  # the site's own page, not a bare error
    assert User.objects.count() == 10
    assert sign_up(Client(), 11, REMOTE_ADDR="198.51.100.20").status_code == 302


def test_probing_which_emails_are_registered_is_rate_limited(client):
    factories.user(username="alice", email="alice@example.com")
    for number in range(10):
        response = client.post(
            reverse("members:signup"), {**SIGNUP, "email": f"probe{number}@example.com"}
        )
        assert response.status_code in (200, 302)
        client.post("/accounts/logout/")
    response = client.post(reverse("members:signup"), {**SIGNUP, "email": "alice@example.com"})
    assert response.status_code == 429
    assert "already exists" not in response.content.decode()


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_ACCEPT": "application/json"}, {"HTTP_X_REQUESTED_WITH": "fetch"}],
)
def test_a_refused_sign_up_answers_json_to_scripts(client, settings, headers):
    settings.SIGNUP_LIMIT_PER_HOUR = 1
    assert sign_up(client, 1).status_code == 302
    client.post("/accounts/logout/")
    response = sign_up(client, 2, **headers)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert "Too many sign-ups" in response.json()["error"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("clash", ["username", "email"])
def test_simultaneous_sign_ups_with_one_name_get_a_form_error(monkeypatch, clash):
    """Four people submit the same username (or email) at once: each passes the form's own
    check before any of them is saved; one gets the account, the others a clear message."""
    arrived = threading.Barrier(4)
    post_clean = SignupForm._post_clean

    def all_validated(form):
        post_clean(form)
        arrived.wait(timeout=30)

    monkeypatch.setattr(SignupForm, "_post_clean", all_validated)
    responses = []

    def submit(number):
        details = {**SIGNUP, "username": f"alice{number}", "email": f"alice{number}@example.com"}
        details[clash] = SIGNUP[clash]
        try:
            responses.append(Client().post(reverse("members:signup"), details))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if clash == "email":
        # Sign-up never tells whether an address is taken: everyone is told to check their
        # email, and the address's owner gets a notice instead.
        assert [response.status_code for response in responses] == [302] * 4
    else:
        assert sorted(response.status_code for response in responses) == [200, 200, 200, 302]
        for response in responses:
            if response.status_code == 200:
                assert "already exists" in " ".join(response.context["form"].errors[clash])
    assert User.objects.count() == 1
