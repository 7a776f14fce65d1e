"""A private account in a real headless Chromium: a request to follow, approved from the
activity page, after which the follower sees the posts and their photos load."""

import re

import pytest
from playwright.sync_api import expect

from config.storage import PRIVATE_URL_EXPIRES
from tests import imagefactory, test_browser
from tests.test_browser import card, photo_file, shot, sign_up

# The browser flows' fixtures: the site under gunicorn, Chromium, and one context per person.
site, chromium, people = test_browser.site, test_browser.chromium, test_browser.people

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_private_account_approves_a_request_and_the_follower_sees_the_posts(people, bucket):
    pia = people.open()
    sign_up(pia, "pia")  # ends on the edit page
    pia.get_by_label("Private account").check()
    pia.get_by_role("button", name="Save").click()
    expect(pia).to_have_url(re.compile(r"/pia/$"))
    pia.goto("/posts/new/")
    pia.locator("input[type=file]").set_input_files(
        [photo_file("lake.jpg", imagefactory.jpeg(1200, 900, noise=30))]
    )
    pia.get_by_label("Caption").fill("Only for friends: the lake")
    pia.get_by_role("button", name="Share").click()
    expect(pia).to_have_url(re.compile(r"/p/[\w-]{11}/$"), timeout=20_000)
    post_url = pia.url

    # Ray sees that the account is private, and asks to follow it.
    ray = people.open()
    sign_up(ray, "ray")
    ray.goto("/pia/")
    expect(ray.get_by_role("heading", name="This account is private")).to_be_visible()
    expect(ray.locator(".grid img")).to_have_count(0)
    ray.get_by_role("button", name="Follow").click()
    expect(ray.get_by_role("button", name=re.compile("Requested"))).to_be_visible()
    shot(ray, "private-profile-requested")
    assert ray.goto(post_url).status == 404

    # Pia approves from her activity page.
    pia.goto("/accounts/activity/")
    requests = pia.locator("#follow-requests")
    expect(requests).to_contain_text("ray")
    shot(pia, "follow-requests")
    requests.get_by_role("button", name="Approve ray").click()
    expect(pia.locator(".messages")).to_contain_text("ray now follows you")
    expect(pia.locator("#follow-requests")).to_have_count(0)

    # Ray now sees the grid, the post and its photo, whose URL lives twenty minutes.
    ray.goto("/pia/")
    expect(ray.get_by_role("button", name="Following")).to_be_visible()
    tile = ray.locator(".grid img")
    expect(tile).to_have_count(1)
    expect(tile).to_have_js_property("complete", True)
    assert tile.evaluate("img => img.naturalWidth") > 0
    ray.goto("/")
    photo = card(ray, "Only for friends").locator(".photos__slide img")
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("img => img.naturalWidth") > 0
    assert f"X-Amz-Expires={PRIVATE_URL_EXPIRES}" in photo.get_attribute("src")
    shot(ray, "private-feed")
    assert ray.goto(post_url).status == 200
