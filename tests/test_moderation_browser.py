"""A member reports a post and a moderator hides it from the queue, in a real Chromium against
gunicorn (see tests/test_browser.py for the set-up this shares)."""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import expect

from moderation.roles import moderators_group
from posts import services as post_services
from posts.forms import Photo
from tests import factories, imagefactory
from tests.test_browser import chromium, people, shot, site  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def log_in(page, username: str, path: str = "/accounts/login/") -> None:
    page.goto(path)
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_moderator_hides_a_reported_post_from_the_queue(people, bucket):  # noqa: F811
    author = factories.server_user(username="olivia")
    factories.server_user(username="oscar")
    moderator = factories.server_user(username="mona", is_staff=True)
    moderator.groups.add(moderators_group(Group, Permission))
    source = imagefactory.jpeg(800, 800, noise=30)
    post = post_services.post_create(
        author=author, photos=[Photo(source, "A watch")], caption="Cheap watches!"
    )

    # A member reports it from the post page.
    member = people.open()
    log_in(member, "oscar")
    expect(member).to_have_url(re.compile(r"/$"))
    member.goto(f"/p/{post.code}/")
    member.get_by_text("Report post").click()
    member.get_by_label("Spam").check()
    shot(member, "report-post")
    member.get_by_role("button", name="Send report").click()
    expect(member.locator(".messages")).to_contain_text("Thanks, we'll look at it.")

    # The moderator finds it in the queue, linked from the admin's index, and hides it.
    staff = people.open()
    log_in(staff, "mona", "/admin/login/?next=/admin/")
    staff.get_by_role("link", name="Moderation queue").click()
    case = staff.locator(f'[data-case="post-{post.pk}"]')
    expect(case).to_contain_text("1 report")
    expect(case).to_contain_text("Spam: 1")
    image = case.locator("img")
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") > 0  # the signed URL works
    shot(staff, "moderation-queue")
    case.get_by_label(re.compile("^Why")).fill("Counterfeit goods")
    case.get_by_role("button", name="Hide").click()
    expect(staff.locator(".messagelist")).to_contain_text("Hid post")
    expect(staff.locator(f'[data-case="post-{post.pk}"]')).to_have_count(0)
    expect(staff.locator(f'[data-acted="post-{post.pk}"]')).to_be_visible()

    # The post is gone for the member; the audit log says who did what and why.
    assert member.goto(f"/p/{post.code}/").status == 404
    staff.goto("/admin/moderation/auditentry/")
    expect(staff.locator("#result_list")).to_contain_text("Counterfeit goods")
    expect(staff.locator("#result_list")).to_contain_text("mona")
