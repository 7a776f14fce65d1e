"""User flows in a real headless Chromium against gunicorn, PostgreSQL and the moto S3 server.

Each flow saves screenshots at phone (390x844) and desktop (1280x800) sizes under
artifacts/screenshots/; a failed test also keeps a Playwright trace under artifacts/traces/.
"""

import fcntl
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests import factories, imagefactory
from tests.mailserver import link
from tests.servers import ROOT, gunicorn, production_secrets, project_copy

# Playwright's sync API keeps an event loop in this thread; the ORM calls that pytest-django
# makes around each test are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ARTIFACTS = ROOT / "artifacts"
PASSWORD = "through-the-looking-glass"


@pytest.fixture(scope="module")
def site(
    tmp_path_factory, django_db_setup, django_db_blocker, s3_secrets, smtp_server, decode_slots
) -> str:
    """The app under gunicorn, as deployed: DEBUG off, collectstatic, WhiteNoise, S3, and mail
    through the loopback SMTP server."""
    with django_db_blocker.unblock():
        secrets = {**production_secrets(s3_secrets), **smtp_server.secrets()}
    secrets["DECODE_SLOT_DIR"] = str(decode_slots)
    app = project_copy(tmp_path_factory.mktemp("site"))
    with gunicorn(app, secrets) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Browser:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class People:
    """Browser contexts, one per person, each recorded; traces are kept for failed tests."""

    def __init__(self, chromium: Browser, site: str, name: str):
        self.chromium = chromium
        self.site = site
        self.name = name
        self.contexts = []

    def open(self, *, javascript: bool = True) -> Page:
        context = self.chromium.new_context(
            base_url=self.site, viewport=PHONE, java_script_enabled=javascript
        )
        context.tracing.start(screenshots=True, snapshots=True)
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        # Shown with a failed test's output.
        page.on("pageerror", lambda error: print(f"{self.name}: page error: {error}"))
        page.on("console", lambda message: print(f"{self.name}: console: {message.text}"))
        return page

    def close(self, failed: bool) -> None:
        for number, context in enumerate(self.contexts):
            if failed:
                traces = ARTIFACTS / "traces"
                traces.mkdir(parents=True, exist_ok=True)
                for page in context.pages:
                    shot(page, f"{self.name}-failed-{number}")
                context.tracing.stop(path=traces / f"{self.name}-{number}.zip")
            else:
                context.tracing.stop()
            context.close()


@pytest.fixture
def people(chromium, site, request):
    crowd = People(chromium, site, request.node.name)
    yield crowd
    report = getattr(request.node, "rep_call", None)
    crowd.close(failed=report is None or report.failed)


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Screenshots of the page as it is now, at phone and desktop sizes."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=folder / f"{name}-{label}.png", full_page=full_page)
    page.set_viewport_size(size)


def sign_up(page: Page, username: str) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Email address").fill(f"{username}@example.com")
    page.get_by_label("Full name").fill(username.title())
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto("/accounts/login/?next=/accounts/edit/")
    log_in(page, username)
    expect(page).to_have_url(re.compile(r"/accounts/edit/$"))


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def photo_file(name: str, content: bytes) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": content}


def throttle_uploads(page: Page, bytes_per_second: int) -> None:
    """Slow the page's uploads through the DevTools protocol, so progress can be watched."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


def watch_progress(page: Page) -> list[float]:
    """The values the upload progress bar takes, reported back as they change."""
    seen: list[float] = []
    page.expose_function("reportProgress", lambda value: seen.append(value))
    page.evaluate(
        """() => {
          const bar = document.querySelector("#upload-progress");
          new MutationObserver(() => window.reportProgress(bar.value))
            .observe(bar, {attributes: true, attributeFilter: ["value"]});
        }"""
    )
    return seen


def card(page: Page, caption: str):
    return page.locator("article[data-post]").filter(has_text=caption)


def test_two_people_share_like_comment_follow_and_delete(people, site, bucket):
    alice = people.open()
    sign_up(alice, "alice")

    alice.goto("/posts/new/")
    photos = [
        photo_file("beach.jpg", imagefactory.jpeg(1600, 1200, noise=40)),
        photo_file("dunes.jpg", imagefactory.jpeg(1200, 1600, noise=40, orientation=6)),
    ]
    alice.locator("input[type=file]").set_input_files(photos)
    expect(alice.locator(".preview")).to_have_count(2)
    alice.get_by_label(re.compile(r"Alt text for photo 1")).fill("Waves on the sand")
    alice.get_by_label(re.compile(r"Alt text for photo 2")).fill("Dunes at dusk")
    alice.get_by_label("Caption").fill("Summer at the #beach with <b>friends</b>")
    shot(alice, "new-post")

    throttle_uploads(alice, 1_200_000)  # the 2.4 MB upload takes about two seconds
    seen = watch_progress(alice)
    alice.get_by_role("button", name="Share").click()
    expect(alice).to_have_url(re.compile(r"/p/[\w-]{11}/$"), timeout=20_000)
    assert any(0 < value < 100 for value in seen) and seen[-1] == 100, seen
    code = alice.url.rstrip("/").rsplit("/", 1)[1]
    assert len(bucket.keys()) == 4

    # The post in the feed: both photos load from the bucket, in order, with their alt text.
    alice.goto("/")
    post = card(alice, "Summer at the")
    expect(post.locator("text=<b>friends</b>")).to_be_visible()  # escaped, not bold
    images = post.locator(".photos__slide img")
    expect(images).to_have_count(2)
    expect(images.nth(0)).to_have_attribute("alt", "Waves on the sand")
    post.get_by_role("button", name="Next photo").click()
    stored_at = f"{bucket.client.meta.endpoint_url}/{bucket.name}/media/posts/"
    for index in range(2):
        image = images.nth(index)
        assert image.get_attribute("src").startswith(stored_at)
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("img => img.naturalWidth") > 0

    # Double-tap the photo to like it, then comment, all without reloading.
    post.locator("[data-photos]").dblclick()
    expect(post.locator("[data-like-count]")).to_have_text("1")
    expect(post.get_by_role("button", name="Unlike")).to_have_attribute("aria-pressed", "true")
    post.get_by_label("Add a comment").fill("What a day! #sun")
    post.get_by_label("Add a comment").press("Enter")
    expect(post.locator(".comment")).to_contain_text("What a day!")
    # The form stays for another comment, with a one-time key of its own.
    post.get_by_label("Add a comment").fill("And again")
    post.get_by_label("Add a comment").press("Enter")
    expect(post.locator(".comment")).to_have_count(2)
    expect(post.locator(".comment").nth(1)).to_contain_text("And again")
    alice.reload()
    expect(card(alice, "Summer at the").locator("[data-like-count]")).to_have_text("1")
    shot(alice, "feed")
    alice.goto(f"/p/{code}/")
    shot(alice, "post")

    # Bob follows Alice and sees her post in his feed.
    bob = people.open()
    sign_up(bob, "bob")
    bob.goto("/alice/")
    bob.get_by_role("button", name="Follow").click()
    expect(bob.get_by_role("button", name="Following")).to_be_visible()
    shot(bob, "profile")
    bob.goto("/")
    expect(card(bob, "Summer at the")).to_be_visible()

    # Alice deletes the post: it is gone for both, and so are its photos.
    alice.goto(f"/p/{code}/")
    alice.get_by_role("button", name="Delete").first.click()
    expect(alice).to_have_url(re.compile(r"/alice/$"))
    expect(alice.locator(".messages")).to_contain_text("deleted")
    bob.reload()
    expect(card(bob, "Summer at the")).to_have_count(0)
    assert bob.goto(f"/p/{code}/").status == 404
    assert bucket.keys() == []


def test_a_text_file_named_jpg_is_refused_beside_its_photo(people, bucket):
    page = people.open()
    sign_up(page, "carol")
    page.goto("/posts/new/")
    page.locator("input[type=file]").set_input_files(
        [
            photo_file("good.jpg", imagefactory.jpeg(800, 600)),
            photo_file("notes.jpg", b"Shopping list: eggs, milk"),
        ]
    )
    page.get_by_label("Caption").fill("Keep this caption")
    page.get_by_role("button", name="Share").click()
    slot = page.locator(".preview").nth(1)
    expect(slot.locator(".error")).to_contain_text("not an image")
    expect(page.locator(".preview").nth(0).locator(".error")).to_have_count(0)
    expect(page.get_by_label("Caption")).to_have_value("Keep this caption")
    expect(page).to_have_url(re.compile(r"/posts/new/$"))
    shot(page, "upload-error")
    assert bucket.keys() == []


def test_an_upload_the_server_refuses_says_why_and_keeps_the_form(people, bucket):
    page = people.open()
    sign_up(page, "erin")
    page.goto("/posts/new/")
    page.locator("input[type=file]").set_input_files(
        [photo_file("good.jpg", imagefactory.jpeg(800, 600))]
    )
    page.get_by_label("Caption").fill("Keep this caption")
    # As when the session ended in another tab: the form's CSRF token no longer matches.
    page.context.clear_cookies(name="csrftoken")
    page.get_by_role("button", name="Share").click()
    expect(page.locator("[data-form-error]")).to_contain_text("Your session expired")
    expect(page.get_by_label("Caption")).to_have_value("Keep this caption")
    expect(page.locator(".preview")).to_have_count(1)
    shot(page, "upload-refused")
    assert bucket.keys() == []


def test_a_busy_server_has_the_page_send_the_post_again_by_itself(people, decode_slots, bucket):
    page = people.open()
    sign_up(page, "fiona")
    page.goto("/posts/new/")
    large = {"name": "large.png", "mimeType": "image/png", "buffer": imagefactory.png(2500, 2000)}
    page.locator("input[type=file]").set_input_files([large])
    # Another worker of the host holds the only slot for large decodes.
    holder = os.open(decode_slots / "slot-0", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        page.get_by_role("button", name="Share").click()
        expect(page.locator("[data-progress-text]")).to_contain_text("sent again")
        shot(page, "upload-busy")
    finally:
        os.close(holder)
    expect(page).to_have_url(re.compile(r"/p/[\w-]+/$"), timeout=20_000)
    assert len(bucket.keys()) == 2


def test_everything_works_without_javascript(people, bucket):
    page = people.open(javascript=False)
    sign_up(page, "dave")
    page.goto("/posts/new/")
    page.locator("input[type=file]").set_input_files(
        [photo_file("one.jpg", imagefactory.jpeg(900, 900))]
    )
    page.get_by_label("Photo 1", exact=True).fill("A plain photo")
    page.get_by_label("Caption").fill("No scripts here")
    page.get_by_role("button", name="Share").click()
    expect(page).to_have_url(re.compile(r"/p/[\w-]{11}/$"))
    page.get_by_role("button", name="Like").click()
    expect(page.locator("[data-like-count]")).to_have_text("1")
    page.get_by_label("Add a comment").fill("Works anyway")
    page.get_by_role("button", name="Post").click()
    expect(page.locator(".comment")).to_contain_text("Works anyway")
    assert len(bucket.keys()) == 2


def test_static_files_come_from_the_site_itself(people, site):
    page = people.open()
    hosts = set()
    page.on("request", lambda request: hosts.add(re.sub(r"^(\w+://[^/]+).*", r"\1", request.url)))
    page.goto("/accounts/login/")
    page.wait_for_load_state("networkidle")
    assert hosts == {site}
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(250, 250, 250)"
    shot(page, "login")
    assert Path(ARTIFACTS / "screenshots" / "login-phone.png").exists()


def test_the_demo_site_as_people_see_it(people, bucket):
    """Screenshots of a lively site for the README: feed, profile, post, explore, new post."""
    from django.contrib.auth.hashers import make_password

    from members.models import User
    from posts.demo import PEOPLE, demo_seed

    demo_seed(password=PASSWORD)
    # The server checks production's password hashes, not the tests' fast ones.
    User.objects.update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    username = PEOPLE[0][0]
    page = people.open()
    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("article[data-post]").first).to_be_visible()
    images = page.locator("article[data-post] .photos__slide:first-child img")
    expect(images.first).to_have_js_property("complete", True)
    assert images.first.evaluate("img => img.naturalWidth") > 0
    shot(page, "demo-feed", full_page=False)
    page.goto(f"/{PEOPLE[1][0]}/")
    expect(page.locator(".grid__item")).to_have_count(3)
    shot(page, "demo-profile", full_page=False)
    page.locator(".grid__link").first.click()
    expect(page.locator(".post--detail")).to_be_visible()
    shot(page, "demo-post", full_page=False)
    page.goto("/explore/")
    expect(page.locator(".grid__item")).to_have_count(15)
    shot(page, "demo-explore", full_page=False)


def test_grids_load_more_as_you_scroll_and_comment_counts_follow(people, owner):
    from tests import factories

    posts = [factories.post(owner, f"post number {number}") for number in range(30)]
    for number in range(2):
        factories.comment(owner, posts[-1], f"comment {number}")
    # Without JavaScript: a page of 24 and a plain link to the rest.
    plain = people.open(javascript=False)
    plain.goto("/explore/")
    expect(plain.locator(".grid__item")).to_have_count(24)
    plain.get_by_role("link", name="More").click()
    expect(plain.locator(".grid__item")).to_have_count(6)
    # With it, the rest arrives as the end of the grid comes near.
    page = people.open()
    page.goto("/explore/")
    page.locator(".grid__item").last.scroll_into_view_if_needed()
    expect(page.locator(".grid__item")).to_have_count(30)
    expect(page.locator("[data-more]")).to_have_count(0)

    sign_up(page, "erin")  # follows no one yet, so the feed shows everyone's posts
    page.goto("/")
    newest = card(page, "post number 29")
    expect(newest.locator("[data-comment-count]")).to_be_hidden()
    newest.get_by_label("Add a comment").fill("the third one")
    newest.get_by_label("Add a comment").press("Enter")
    expect(newest.locator("[data-comment-count]")).to_have_text("View all 3 comments")
    cards = page.locator("article[data-post]")
    for loaded in (24, 30):  # the feed pages by 12: scrolling down brings the rest
        cards.last.scroll_into_view_if_needed()
        expect(cards).to_have_count(loaded)


def test_forgot_password_email_link_new_password_logged_in(people, site, smtp_server):
    factories.server_user(username="frida", email="frida@example.com")
    smtp_server.inbox.clear()
    page = people.open()
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/$"))
    page.get_by_label("Username or email").fill("Frida@Example.com")
    shot(page, "password-reset")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    message = smtp_server.inbox.wait_for("frida@example.com")
    assert message["Subject"] == "Instagram: reset your password"
    url = link(message)
    assert url.startswith(site + "/accounts/password/reset/")
    page.goto(url)
    # Django moves the token out of the address before the form shows, so no Referer holds it.
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/[^/]+/set-password/$"))
    new_password = "a-brand-new-passphrase-42"
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("New password confirmation").fill(new_password)
    shot(page, "password-new")
    page.get_by_role("button", name="Set new password").click()
    expect(page).to_have_url(site + "/")
    expect(page.get_by_text("Your new password is set, and you are logged in.")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    # The link worked once; the new password opens the account on another device.
    again = people.open()
    again.goto(url)
    expect(again.get_by_role("heading", name="This link no longer works")).to_be_visible()
    again.goto("/accounts/login/")
    log_in(again, "frida", new_password)
    expect(again.get_by_role("button", name="Log out")).to_be_visible()
    # Following the link proved the address: no banner asks to confirm it.
    again.goto("/accounts/settings/")
    expect(again.get_by_text("frida@example.com · confirmed")).to_be_visible()
    expect(again.get_by_text("Please confirm your email address")).to_have_count(0)
    shot(again, "settings")
