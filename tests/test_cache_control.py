"""Personal pages are never stored by a browser or a shared cache; public pages may be.

"Personal" is every response to a signed-in member (it is rendered for them: their avatar, their
email on /accounts/edit/, their feed) and every page that carries a CSRF token in a form.
"""

import pytest
from django.test import Client

from posts.models import Tag
from tests import factories
from tests.test_access import ACTIONS

pytestmark = pytest.mark.django_db

# Every page a person can open with GET ({code}: Olivia's post, {tag}: its tag), and two
# error pages: one missing, one that only takes POST.
PAGES = [
    "/", "/explore/", "/explore/tags/{tag}/", "/posts/new/", "/p/{code}/", "/p/{code}/edit/",
    "/olivia/", "/olivia/followers/", "/olivia/following/", "/felix/", "/accounts/edit/",
    "/accounts/password/", "/accounts/login/", "/accounts/signup/", "/p/no-such-post/",
    "/p/{code}/like/", "/accounts/two-factor/", "/accounts/delete/", "/accounts/login/code/",
]  # fmt: skip
# What a visitor may keep: pages without a form, and nothing about anyone signed in.
PUBLIC = ["/explore/", "/explore/tags/{tag}/", "/olivia/", "/felix/"]


@pytest.fixture
def world(owner, follower):
    factories.follow(follower, owner)
    post = factories.post(owner, "#sunset at the pier")
    post.tags.add(Tag.objects.create(name="sunset"))
    comment = factories.comment(owner, post, "lovely")
    return {"code": post.code, "tag": "sunset", "comment": comment.pk, "post": post}


def personal(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives


@pytest.mark.parametrize("url", PAGES)
def test_a_member_s_pages_are_never_stored(client, owner, world, url):
    client.force_login(owner)
    response = client.get(url.format(**world))
    assert response.status_code in (200, 302, 404, 405)
    assert personal(response), response.get("Cache-Control")


@pytest.mark.parametrize("url", PAGES)
def test_a_visitor_s_page_is_stored_only_if_it_has_no_form(client, world, url):
    response = client.get(url.format(**world))
    has_form = b"csrfmiddlewaretoken" in response.content
    assert personal(response) == has_form
    if url in PUBLIC:
        assert response.status_code == 200 and not has_form


def test_the_email_on_the_edit_page_is_not_kept(client, owner):
    client.force_login(owner)
    response = client.get("/accounts/edit/")
    assert owner.email in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("action", ACTIONS, ids=[action[0] for action in ACTIONS])
def test_what_a_member_s_actions_answer_is_never_stored(owner, world, bucket, action):
    _name, url, data, _who, _done = action
    client = Client(headers={"Accept": "application/json"})
    client.force_login(owner)
    response = client.post(url.format(**world), data(world))
    assert personal(response), (response.status_code, response.get("Cache-Control"))
