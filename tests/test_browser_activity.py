"""Activity and saved posts in a real headless Chromium against gunicorn (see test_browser.py)."""

import re

import pytest
from playwright.sync_api import Page, expect

from members.services import follow_create
from posts import services
from posts.forms import Photo
from tests import factories, imagefactory
from tests import test_browser as browser
from tests.test_browser import log_in, shot

# The browser tests' fixtures, shared: the site under gunicorn, Chromium, and one context each.
site, chromium, people = browser.site, browser.chromium, browser.people

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def member(username: str):
    return factories.server_user(username=username, full_name=username.title())


def photo_post(author, caption: str):
    """A post whose photo is really stored, so its thumbnail loads."""
    source = imagefactory.jpeg(1200, 900, noise=30)
    photo = Photo(source=source, alt_text=f"{caption} photo")
    return services.post_create(author=author, photos=[photo], caption=caption)


def logged_in(people, username: str, *, javascript: bool = True) -> Page:
    page = people.open(javascript=javascript)
    page.goto("/accounts/login/")
    log_in(page, username, factories.PASSWORD)
    expect(page.locator(".nav__me")).to_be_visible()
    return page


def test_a_like_shows_up_in_the_other_member_s_activity_with_the_badge(people, bucket):
    alice = member("alice")
    bob = member("bob")
    post = photo_post(alice, "Harbour at dawn")
    # Older news, read once Alice opens her activity.
    follow_create(follower=bob, following=alice)
    services.comment_create(author=bob, post=post, text="Lovely light, @alice #harbour")

    mine = logged_in(people, "alice")
    expect(mine.locator(".badge")).to_have_text(re.compile(r"^2\s*new$"))
    mine.locator("a.nav__activity").click()
    expect(mine.locator(".activity__entry--new")).to_have_count(2)
    mine.goto("/")
    expect(mine.locator(".badge")).to_have_count(0)

    theirs = logged_in(people, "bob")
    theirs.goto(f"/p/{post.code}/")
    theirs.get_by_role("button", name="Like").click()
    expect(theirs.locator("[data-like-count]")).to_have_text("1")

    mine.reload()
    expect(mine.locator(".badge")).to_have_text(re.compile(r"^1\s*new$"))
    shot(mine, "activity-badge", full_page=False)
    mine.locator("a.nav__activity").click()
    expect(mine).to_have_url(re.compile(r"/accounts/activity/$"))
    entry = mine.locator(".activity__entry").first
    expect(entry).to_contain_text("bob liked your post.")
    expect(entry).to_have_class(re.compile("activity__entry--new"))
    expect(mine.locator(".activity__entry--new")).to_have_count(1)
    expect(mine.locator(".activity__entry")).to_have_count(3)
    thumbnail = entry.locator(".activity__post img")
    expect(thumbnail).to_have_js_property("complete", True)
    assert thumbnail.evaluate("img => img.naturalWidth") > 0
    expect(mine.locator(".badge")).to_have_count(0)  # opened: cleared at once
    shot(mine, "activity")

    # Bob takes his like back: the entry goes.
    theirs.get_by_role("button", name="Unlike").click()
    expect(theirs.locator("[data-like-count]")).to_have_text("0")
    mine.reload()
    expect(mine.locator(".activity__entry")).to_have_count(2)
    expect(mine.get_by_text("bob liked your post.")).to_have_count(0)
    expect(mine.locator(".badge")).to_have_count(0)


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "plain-form"])
def test_saving_and_unsaving(people, bucket, javascript):
    author = member("carol")
    post = photo_post(author, "Worth keeping")
    member("dave")
    page = logged_in(people, "dave", javascript=javascript)

    page.goto(f"/p/{post.code}/")
    page.get_by_role("button", name="Save", exact=True).click()
    unsave = page.get_by_role("button", name="Remove from saved")
    expect(unsave).to_have_attribute("aria-pressed", "true")

    page.goto("/dave/")
    page.get_by_role("link", name="Saved").click()
    expect(page).to_have_url(re.compile(r"/dave/saved/$"))
    expect(page.locator(".grid__item")).to_have_count(1)
    image = page.locator(".grid__item img")
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") > 0
    if javascript:
        shot(page, "saved")

    page.locator(".grid__link").click()
    page.get_by_role("button", name="Remove from saved").click()
    expect(page.get_by_role("button", name="Save", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    page.goto("/dave/saved/")
    expect(page.locator(".grid__item")).to_have_count(0)
    expect(page.locator(".grid__empty")).to_be_visible()

    # Nobody else sees it.
    other = logged_in(people, "carol", javascript=javascript)
    assert other.goto("/dave/saved/").status == 404
