"""The new-post page in a real headless Chromium: photos shrunk before they are sent, what an
empty Share says, and how a refused file looks.

The site, the browser and the people are test_browser.py's fixtures.
"""

import base64
import io
import re
from email import message_from_bytes
from email.policy import HTTP

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageStat
from playwright.sync_api import Page, Request, Route, expect

from posts.forms import BROWSER_JPEG_QUALITY, BROWSER_MAX_SIDE, PHOTOS_REQUIRED
from tests import imagefactory, test_browser
from tests.test_browser import photo_file, shot, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

site = test_browser.site
chromium = test_browser.chromium
people = test_browser.people


def red_corners(image: Image.Image) -> list[str]:
    """Which corners of the photo show the scene's red marker rather than its blue background."""
    side = max(1, min(image.size) // 8)
    corners = {
        "top left": (0, 0),
        "top right": (image.width - side, 0),
        "bottom left": (0, image.height - side),
        "bottom right": (image.width - side, image.height - side),
    }
    found = []
    for name, (left, top) in corners.items():
        red, _, blue = ImageStat.Stat(image.crop((left, top, left + side, top + side))).mean
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


def shrunk_in_page(page: Page, data: bytes, max_side: int) -> bytes:
    """What the page's script makes of a file before sending it, with ``max_side``."""
    shrunk = page.evaluate(
        """async ([data, maxSide, quality]) => {
             const bytes = Uint8Array.from(atob(data), (char) => char.charCodeAt(0));
             const file = new File([bytes], "photo.jpg", { type: "image/jpeg" });
             const result = await shrunk(file, maxSide, quality);
             const out = new Uint8Array(await result.arrayBuffer());
             return btoa(Array.from(out, (byte) => String.fromCharCode(byte)).join(""));
           }""",
        [base64.b64encode(data).decode(), max_side, BROWSER_JPEG_QUALITY],
    )
    return base64.b64decode(shrunk)


@pytest.fixture
def script_page(people) -> Page:
    page = people.open()
    page.goto("/accounts/login/")
    return page


# One page serves every example: the script is a pure function of the file and the long side.
in_one_page = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@in_one_page
@given(
    width=st.integers(24, 320),
    height=st.integers(24, 320),
    orientation=st.sampled_from([None, *range(1, 9)]),
    max_side=st.integers(16, 360),
)
def test_any_photo_is_sent_upright_within_the_long_side_or_as_it_is(
    script_page, width, height, orientation, max_side
):
    # Grainy, so that a smaller JPEG of it is always fewer bytes than the original.
    photo = imagefactory.jpeg(width, height, orientation=orientation, noise=60, quality=95)
    sent = shrunk_in_page(script_page, photo, max_side)
    sideways = orientation in (5, 6, 7, 8)
    upright = (height, width) if sideways else (width, height)
    if max(upright) <= max_side:
        assert sent == photo
        return
    with Image.open(io.BytesIO(sent)) as image:
        assert image.format == "JPEG"
        assert max(image.size) == max_side
        # The shape is kept, within a pixel of rounding.
        scale = max_side / max(upright)
        assert abs(image.width - upright[0] * scale) <= 1
        assert abs(image.height - upright[1] * scale) <= 1
        assert image.getexif().get(ExifTags.Base.Orientation, 1) == 1
        if min(image.size) >= 16:
            assert red_corners(image.convert("RGB")) == ["top left"]


@in_one_page
@given(data=st.binary(max_size=2000))
def test_a_file_the_browser_cannot_decode_is_sent_as_it_is(script_page, data):
    assert shrunk_in_page(script_page, data, 16) == data
