"""Hidden posts and comments, and a suspended member's content, are gone from every page for
outsiders; a hidden post or comment is still shown to its author and to staff."""

import re

import pytest
from django.test import Client

from moderation import services
from posts.models import Tag
from tests import factories

pytestmark = pytest.mark.django_db

CAPTION = "Forbidden sunset #dusk"
PAGES = ["/", "/explore/", "/explore/tags/dusk/", "/olivia/", "{post}"]


@pytest.fixture
def moderator(db):
    return factories.moderator(username="mona")


@pytest.fixture
def post(owner):
    made = factories.post(owner, CAPTION)
    made.tags.add(Tag.objects.create(name="dusk"))
    return made


def viewer(member) -> Client:
    client = Client()
    if member is not None:
        client.force_login(member)
    return client


def seen(client: Client, post) -> list[str]:
    """The pages (of PAGES) on which ``client`` finds the post's link and photo (the display
    photo on the feed and the post page, the thumbnail on grids)."""
    image = post.images.get()
    found = []
    for page in PAGES:
        response = client.get(page.format(post=post.get_absolute_url()))
        body = response.content.decode()
        if image.display.name in body or image.thumbnail.name in body:
            assert response.status_code == 200, page
            found.append(page)
    return found


def test_a_post_is_everywhere_before_it_is_hidden(post, outsider):
    assert seen(viewer(outsider), post) == PAGES
    assert seen(viewer(None), post) == PAGES[1:]


def test_a_hidden_post_is_gone_for_outsiders_and_visitors(post, outsider, follower, moderator):
    factories.follow(follower, post.author)
    services.content_hide(moderator=moderator, target=post)
    for member in (outsider, follower, None):
        assert seen(viewer(member), post) == []
    assert viewer(outsider).get(post.get_absolute_url()).status_code == 404


def test_a_hidden_post_is_shown_to_its_author_and_staff(post, owner, moderator):
    services.content_hide(moderator=moderator, target=post)
    assert seen(viewer(owner), post) == PAGES
    assert viewer(moderator).get(post.get_absolute_url()).status_code == 200


def test_a_hidden_comment_is_gone_for_others_but_shown_to_its_author_and_staff(
    post, owner, outsider, follower, moderator
):
    comment = factories.comment(follower, post, "A rude remark")
    services.content_hide(moderator=moderator, target=comment)
    url = post.get_absolute_url()
    for member in (outsider, owner, None):
        assert "A rude remark" not in viewer(member).get(url).content.decode()
        assert "A rude remark" not in viewer(member).get("/explore/").content.decode()
    for member in (follower, moderator):
        assert "A rude remark" in viewer(member).get(url).content.decode()


def test_a_suspended_member_s_content_is_gone_for_everyone(post, owner, outsider, moderator):
    comment_on = factories.post(outsider, "Another post")
    factories.comment(owner, comment_on, "Comment by the suspended")
    services.member_suspend(moderator=moderator, member=owner, reason="Spam")
    for member in (outsider, moderator, None):
        assert seen(viewer(member), post) == []
        page = viewer(member).get(comment_on.get_absolute_url()).content.decode()
        assert "Comment by the suspended" not in page
    assert viewer(outsider).get("/olivia/").status_code == 404
    services.member_reactivate(moderator=moderator, member=owner)
    assert seen(viewer(outsider), post) == PAGES


def test_the_author_is_told_their_post_or_comment_is_hidden(post, owner, follower, moderator):
    comment = factories.comment(follower, post, "A rude remark")
    services.content_hide(moderator=moderator, target=post)
    services.content_hide(moderator=moderator, target=comment)
    page = viewer(owner).get(post.get_absolute_url()).content.decode()
    assert "A moderator hid this post: only you and staff can see it." in page
    factories.follow(follower, owner)
    services.content_restore(moderator=moderator, target=post)
    page = viewer(follower).get(post.get_absolute_url()).content.decode()
    assert "A moderator hid this post" not in page
    # The comment's author sees their hidden comment, marked as such.
    marked = r"A rude remark</span>\s*<span [^>]*data-hidden>\(hidden by a moderator\)"
    assert re.search(marked, page)


def test_report_forms_cost_no_query_per_comment(
    client, post, outsider, follower, django_assert_max_num_queries
):
    client.force_login(outsider)
    factories.comment(follower, post, "first")
    client.get(post.get_absolute_url())
    with django_assert_max_num_queries(50) as one:
        client.get(post.get_absolute_url())
    for number in range(10):
        factories.comment(follower, post, f"comment {number}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(post.get_absolute_url()).content.decode()
    assert page.count("/report/") == 12
