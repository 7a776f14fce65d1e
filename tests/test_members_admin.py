"""Follow requests and blocks in the admin: lists staff can search, and change nothing in."""

import pytest
from django.contrib import admin

from members.models import Block, FollowRequest, User
from tests import factories

pytestmark = pytest.mark.django_db

LISTS = {"follow requests": "/admin/members/followrequest/", "blocks": "/admin/members/block/"}


@pytest.fixture
def admin_client(client, owner, follower, outsider):
    """Felix asked to follow Olivia; Oscar blocks Olivia; staff logged in."""
    FollowRequest.objects.create(requester=follower, target=owner)
    Block.objects.create(blocker=outsider, blocked=owner)
    client.force_login(factories.user(username="sam", is_staff=True, is_superuser=True))
    return client


def test_the_admin_index_lists_follow_requests_and_blocks(admin_client):
    body = admin_client.get("/admin/").content.decode()
    assert all(url in body for url in LISTS.values())


@pytest.mark.parametrize(
    ("url", "found", "other"),
    [(LISTS["follow requests"], "felix", "oscar"), (LISTS["blocks"], "oscar", "felix")],
    ids=list(LISTS),
)
def test_staff_search_the_lists_by_username(admin_client, url, found, other):
    everyone = admin_client.get(url).content.decode()
    assert found in everyone and "olivia" in everyone
    searched = admin_client.get(url, {"q": found}).content.decode()
    assert found in searched
    assert admin_client.get(url, {"q": other}).content.decode().count("olivia") < everyone.count(
        "olivia"
    )


@pytest.mark.parametrize("url", LISTS.values(), ids=list(LISTS))
def test_staff_add_change_and_delete_nothing(admin_client, url):
    row = (FollowRequest if "followrequest" in url else Block).objects.get()
    assert admin_client.get(f"{url}add/").status_code == 403
    assert admin_client.post(f"{url}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    page = admin_client.get(f"{url}{row.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.post(f"{url}{row.pk}/change/", {}).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


def test_members_cannot_reach_the_lists(client, outsider):
    client.force_login(outsider)
    for url in LISTS.values():
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/admin/login/")


def test_a_website_typed_without_a_scheme_becomes_an_https_link(owner, rf):
    request = rf.get("/admin/")
    request.user = factories.user(username="root", is_staff=True, is_superuser=True)
    form = admin.site._registry[User].get_form(request, owner)
    assert form.base_fields["website"].clean("example.com") == "https://example.com"
