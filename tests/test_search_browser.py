"""Search in a real headless Chromium against gunicorn (the fixtures of test_browser.py):
suggestions as you type, keyboard choice, and the form without JavaScript."""

# The fixtures are imported from test_browser.py, so the tests' arguments name them again.
# ruff: noqa: F811

import re

import pytest
from playwright.sync_api import expect

from members.models import Block
from posts.models import Tag
from tests import factories
from tests.test_browser import chromium, log_in, people, shot, site  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def crowd():
    reader = factories.server_user(username="reader", email="reader@example.com")
    for username, full_name in [
        ("annabel.lee", "Annabel Lee"),
        ("anna.k", "Anna Karenina"),
        ("hannah", "Hannah Arendt"),
    ]:
        factories.user(username=username, full_name=full_name)
    blocked = factories.user(username="annoying", full_name="Ann Noying")
    Block.objects.create(blocker=reader, blocked=blocked)
    factories.user(username="private.anne", full_name="Anne Private", is_private=True)
    Tag.objects.create(name="annapurna")
    return reader


def test_suggestions_appear_as_you_type_and_open_a_profile(people, site, crowd):
    page = people.open()
    page.goto("/accounts/login/")
    log_in(page, "reader", factories.PASSWORD)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    box = page.get_by_role("combobox", name="Search people and #tags")
    box.click()
    box.press_sequentially("ann", delay=40)
    listbox = page.get_by_role("listbox", name="Suggestions")
    expect(listbox).to_be_visible()
    options = listbox.get_by_role("option")
    expect(options.first).to_contain_text("anna.k")
    expect(listbox).to_contain_text("annabel.lee")
    expect(listbox).to_contain_text("#annapurna")
    expect(listbox).not_to_contain_text("annoying")  # blocked: never suggested
    shot(page, "search-suggestions", full_page=False)

    # A private account is suggested, and says so.
    box.fill("@private")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox).to_contain_text("Anne Private · Private")
    expect(listbox).not_to_contain_text("#")

    # Keyboard: down to the first suggestion, Enter opens it.
    box.fill("#annap")
    expect(listbox.get_by_role("option")).to_have_text(["#annapurna"])
    box.press("ArrowDown")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/explore/tags/annapurna/$"))

    # Enter without choosing opens the results page.
    box = page.get_by_role("combobox", name="Search people and #tags")
    box.fill("hannah")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=hannah$"))
    expect(page.get_by_role("link", name="hannah Hannah Arendt")).to_be_visible()
    shot(page, "search-results")


def test_the_search_form_works_without_javascript(people, site, crowd):
    page = people.open(javascript=False)
    page.goto("/explore/")
    box = page.get_by_label("Search people and #tags")
    box.fill("#anna")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=%23anna$"))
    expect(page.get_by_role("link", name="#annapurna")).to_be_visible()
    expect(page.get_by_role("heading", name="People")).to_have_count(0)
