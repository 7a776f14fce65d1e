"""Item 5 of issue 15: what a 12 MP JPEG costs to share from Chromium, shrunk by the page's
script before sending or sent as it is.

Headless Chromium (Playwright, as tests/test_browser.py launches it) against gunicorn on the
large database and moto, logged in as the reader. "As is" is the same page with its shrinking
turned off (the file input's data-shrink-to removed), so both send through the same script.
The time runs from choosing the photo to the server's answer, by the page's clock, with Share
pressed at once, so the shrinking counts in full (a member who writes a caption first waits
less). Over loopback, and over a phone's uplink (Chromium's network emulation), in alternating
rounds.

Imports models: import this module only once Django is set up.
"""

import io
import re
import statistics

from PIL import Image
from playwright.sync_api import Page, Request, Route, sync_playwright

from bench.report import Row
from bench.stack import gunicorn
from posts.forms import BROWSER_MAX_SIDE
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, throttle_uploads
from tests.test_browser_new_post import sent_photos

NEW_POST = "/posts/new/"
POST_PAGE = re.compile(r"/p/[\w-]{11}/$")
ROUNDS = 5
# A phone's uplink on a good mobile connection: 10 Mbit/s.
UPLINK_BYTES_PER_SECOND = 1_250_000
UPLINK = f"{UPLINK_BYTES_PER_SECOND * 8 / 1_000_000:.0f} Mbit/s uplink"
LOOPBACK = "loopback"


def open_form(page: Page, *, shrink: bool) -> None:
    page.goto(NEW_POST)
    if not shrink:
        page.locator("input[type=file]").evaluate("input => delete input.dataset.shrinkTo")


def choose_and_share(page: Page, photo: bytes) -> float:
    """Choose the photo, press Share at once, and wait for the server's answer; the
    milliseconds from the choice to the answer, by the page's clock (Playwright's own work to
    hand the file to the page is not counted)."""
    page.evaluate(
        """() => document.addEventListener(
             "change", () => { window.benchChosenAt = performance.now(); },
             { capture: true, once: true })"""
    )
    page.locator("input[type=file]").set_input_files(
        {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": photo}
    )
    answer = page.expect_response(
        lambda response: response.request.method == "POST" and response.url.endswith(NEW_POST),
        timeout=120_000,
    )
    with answer as info:
        page.get_by_role("button", name="Share").click()
    assert info.value.status == 201, info.value.text()
    answered = page.wait_for_function(
        """() => performance.getEntriesByType("resource")
               .filter((entry) => entry.initiatorType === "xmlhttprequest")
               .map((entry) => entry.responseEnd)[0]"""
    )
    return answered.json_value() - page.evaluate("window.benchChosenAt")


def sent(page: Page, photo: bytes, *, shrink: bool) -> dict[str, object]:
    """The request body's size and the photo as the server receives it."""
    requests: list[Request] = []

    def record(route: Route) -> None:
        if route.request.method == "POST":
            requests.append(route.request)
        route.continue_()

    open_form(page, shrink=shrink)
    page.route(re.compile(rf"{NEW_POST}$"), record)
    choose_and_share(page, photo)
    page.wait_for_url(POST_PAGE)
    page.unroute(re.compile(rf"{NEW_POST}$"))
    [request] = requests
    [(_, received)] = sent_photos(request)
    with Image.open(io.BytesIO(received)) as image:
        size = image.size
    return {
        "request_bytes": len(request.post_data_buffer),
        "photo_bytes": len(received),
        "size": size,
    }


def upload_times(page: Page, photo: bytes) -> dict[str, dict[str, float]]:
    """Median milliseconds from choosing the photo to the answer, by network and mode."""
    samples: dict[str, dict[str, list[float]]] = {}
    for network, limit in ((LOOPBACK, -1), (UPLINK, UPLINK_BYTES_PER_SECOND)):
        throttle_uploads(page, limit)
        samples[network] = {"shrunk": [], "as is": []}
        for _ in range(ROUNDS):
            for mode in samples[network]:
                open_form(page, shrink=mode == "shrunk")
                samples[network][mode].append(choose_and_share(page, photo))
                page.wait_for_url(POST_PAGE)
    throttle_uploads(page, -1)
    return {
        network: {mode: statistics.median(values) for mode, values in modes.items()}
        for network, modes in samples.items()
    }


def run(env: dict[str, str], cookie: str, photo: bytes) -> tuple[list[Row], dict]:
    """``cookie`` is the reader's session in the database ``env`` names."""
    with gunicorn(env) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=server.url)
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": server.url}])
        page = context.new_page()
        # One upload each way first: the server's first request and Chromium's decoder warm up.
        sizes = {"shrunk": sent(page, photo, shrink=True), "as is": sent(page, photo, shrink=False)}
        times = upload_times(page, photo)
        browser.close()

    shrunk, as_is = sizes["shrunk"], sizes["as is"]
    long_side = max(shrunk["size"])
    rows = [
        Row(
            name="Bytes sent for a 12 MP JPEG, shrunk in Chromium",
            measured=f"{shrunk['request_bytes'] / 1_000_000:.2f} MB, "
            f"{shrunk['size'][0]} x {shrunk['size'][1]}",
            reference=f"{as_is['request_bytes'] / 1_000_000:.2f} MB sent as is",
            ratio=shrunk["request_bytes"] / as_is["request_bytes"],
            target=f"long side ≤ {BROWSER_MAX_SIDE:,} px",
            met=long_side <= BROWSER_MAX_SIDE,
        )
    ]
    for network, modes in times.items():
        rows.append(
            Row(
                name=f"Share a 12 MP JPEG from Chromium, choice to answer, {network}",
                measured=f"{modes['shrunk']:.0f} ms shrunk",
                reference=f"{modes['as is']:.0f} ms sent as is",
                ratio=modes["shrunk"] / modes["as is"],
                target="report",
                met=None,
            )
        )
    return rows, {"sent": sizes, "upload_ms": times}


def lines(details: dict) -> list[str]:
    """What each way sent, and how long each took."""
    found = [
        f"{mode}: {size['request_bytes']:,} bytes in the request, the photo "
        f"{size['photo_bytes']:,} bytes at {size['size'][0]} x {size['size'][1]}"
        for mode, size in details["sent"].items()
    ]
    for network, modes in details["upload_ms"].items():
        found.append(
            f"{network}: {modes['shrunk']:.0f} ms shrunk, {modes['as is']:.0f} ms as is "
            f"(median of {ROUNDS})"
        )
    return found
