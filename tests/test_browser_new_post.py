"""The new-post page in a real headless Chromium: photos shrunk before they are sent, what an
empty Share says, and how a refused file looks.

The site, the browser and the people are test_browser.py's fixtures.
"""

import io
import re
from email import message_from_bytes
from email.policy import HTTP

import pytest
from PIL import ExifTags, Image, ImageStat
from playwright.sync_api import Page, Request, Route, expect

from posts.forms import BROWSER_MAX_SIDE, PHOTOS_REQUIRED
from tests import imagefactory, test_browser
from tests.test_browser import photo_file, shot, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

site = test_browser.site
chromium = test_browser.chromium
people = test_browser.people


def red_corners(image: Image.Image) -> list[str]:
    """Which corners of the photo show the scene's red marker rather than its blue background."""
    corners = {
        "top left": (0, 0),
        "top right": (image.width - 40, 0),
        "bottom left": (0, image.height - 40),
        "bottom right": (image.width - 40, image.height - 40),
    }
    found = []
    for name, (left, top) in corners.items():
        red, _, blue = ImageStat.Stat(image.crop((left, top, left + 40, top + 40))).mean
        if red > blue:
            found.append(name)
    return found


def sent_photos(request: Request) -> list[tuple[str, bytes]]:
    """The (file name, bytes) of each photo in a multipart request, as the server receives it."""
    head = f"Content-Type: {request.header_value('content-type')}\r\n\r\n".encode()
    message = message_from_bytes(head + request.post_data_buffer, policy=HTTP)
    return [
        (part.get_filename(), part.get_payload(decode=True))
        for part in message.iter_parts()
        if part.get_param("name", header="content-disposition") == "photos"
    ]


def recording_uploads(page: Page) -> list[Request]:
    """Every new-post form the page sends from now on, passed on to the server unchanged."""
    sent: list[Request] = []

    def record(route: Route) -> None:
        if route.request.method == "POST":
            sent.append(route.request)
        route.continue_()

    page.route(re.compile(r"/posts/new/$"), record)
    return sent


def test_a_12_megapixel_photo_arrives_at_2160_pixels_upright_and_small_ones_as_they_are(
    people, bucket
):
    page = people.open()
    sign_up(page, "grace")
    page.goto("/posts/new/")
    sent = recording_uploads(page)
    # Stored sideways as a phone writes it: 4000 x 3000 pixels, EXIF orientation 6, a portrait.
    big = imagefactory.jpeg(4000, 3000, noise=20, orientation=6)
    small = imagefactory.jpeg(1200, 900)
    heic = imagefactory.heic(800, 600)
    page.locator("input[type=file]").set_input_files(
        [
            photo_file("portrait.jpg", big),
            photo_file("small.jpg", small),
            {"name": "iphone.heic", "mimeType": "image/heic", "buffer": heic},
        ]
    )
    expect(page.locator(".preview")).to_have_count(3)
    # Chromium cannot show a HEIC: a tile says so, with no broken image.
    expect(page.locator(".preview").nth(2).locator(".preview__tile")).to_contain_text("HEIC")
    expect(page.locator(".preview").nth(2).locator("img")).to_have_count(0)
    page.get_by_role("button", name="Share").click()
    expect(page).to_have_url(re.compile(r"/p/[\w-]{11}/$"), timeout=30_000)

    [request] = sent
    (name, shrunk), (_, as_chosen), (_, heic_sent) = sent_photos(request)
    assert name == "portrait.jpg"
    assert len(shrunk) < len(big) / 3
    with Image.open(io.BytesIO(shrunk)) as image:
        assert image.format == "JPEG"
        assert image.size == (BROWSER_MAX_SIDE * 3 // 4, BROWSER_MAX_SIDE)
        assert image.getexif().get(ExifTags.Base.Orientation, 1) == 1
        assert red_corners(image.convert("RGB")) == ["top left"]  # upright
    assert as_chosen == small
    assert heic_sent == heic
    assert len(bucket.keys()) == 6


def test_share_with_no_photo_says_what_is_missing(people, bucket):
    page = people.open()
    sign_up(page, "heidi")
    page.goto("/posts/new/")
    sent = recording_uploads(page)
    page.get_by_role("button", name="Share").click()
    expect(page.get_by_role("alert")).to_have_text(PHOTOS_REQUIRED)
    expect(page.get_by_label("Choose photos")).to_be_focused()
    shot(page, "new-post-empty")
    assert sent == []
    # Choosing a photo takes the message away.
    page.locator("input[type=file]").set_input_files(
        [photo_file("one.jpg", imagefactory.jpeg(800, 600))]
    )
    expect(page.get_by_role("alert")).to_have_count(0)


def test_share_with_no_photo_says_what_is_missing_without_javascript(people, bucket):
    page = people.open(javascript=False)
    sign_up(page, "ivan")
    page.goto("/posts/new/")
    page.get_by_label("Caption").fill("Words only")
    page.get_by_role("button", name="Share").click()
    expect(page.locator(".field--error .error")).to_have_text(PHOTOS_REQUIRED)
    expect(page.get_by_label("Caption")).to_have_value("Words only")
    assert bucket.keys() == []


def test_chosen_photos_show_no_file_chosen_text_and_a_refused_file_is_a_tile_with_the_reason(
    people, bucket
):
    page = people.open()
    sign_up(page, "judy")
    page.goto("/posts/new/")
    page.locator("input[type=file]").set_input_files(
        [
            photo_file("good.jpg", imagefactory.jpeg(800, 600)),
            photo_file("notes.jpg", imagefactory.TEXT),
        ]
    )
    expect(page.locator(".preview")).to_have_count(2)
    # The picker is a button that says what it does; the input's own text is out of sight.
    expect(page.locator("label.picker")).to_have_text("Add more photos")
    box = page.locator("input[type=file]").bounding_box()
    assert box is None or box["width"] <= 1
    # A file the browser cannot show is a tile, never a broken image with overlapping text.
    notes = page.locator(".preview").nth(1)
    expect(notes.locator(".preview__tile")).to_contain_text("No preview")
    expect(notes.locator("img")).to_have_count(0)

    page.get_by_role("button", name="Share").click()
    expect(notes).to_have_class(re.compile(r"\bpreview--refused\b"))
    expect(notes.locator(".preview__tile")).to_contain_text("Refused")
    expect(notes.locator(".error")).to_contain_text("not an image")
    expect(notes).to_contain_text("notes.jpg")
    expect(notes.get_by_role("textbox")).to_have_count(0)  # no alt text for a refused file
    good = page.locator(".preview").nth(0)
    expect(good.locator("img")).to_have_js_property("complete", True)
    expect(good.locator(".error")).to_have_count(0)
    # The tile and the reason sit side by side, not on top of each other.
    tile = notes.locator(".preview__tile").bounding_box()
    reason = notes.locator(".error").bounding_box()
    assert tile["x"] + tile["width"] <= reason["x"]
    shot(page, "new-post-refused")

    # Removing the refused file leaves a post that goes through.
    notes.get_by_role("button", name="Remove photo 2").click()
    page.get_by_role("button", name="Share").click()
    expect(page).to_have_url(re.compile(r"/p/[\w-]{11}/$"), timeout=20_000)
    assert len(bucket.keys()) == 2
