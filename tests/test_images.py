"""posts.images: what a photo looks like once uploaded, and which uploads are refused.

No Django needed: pytest -p no:django --noconftest tests/test_images.py (--noconftest skips
the shared conftest.py, which imports Django).
"""

import io
import json
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import GifImagePlugin, Image, ImageCms, JpegImagePlugin, PngImagePlugin

from posts import images
from posts.images import ImageError, Rendition, avatar_rendition, post_renditions
from tests import imagefactory
from tests.imagefactory import BACKGROUND, MARKER

ROOT = Path(__file__).resolve().parents[1]
WHITE = (255, 255, 255)
METADATA_KEYS = {"exif", "xmp", "comment", "photoshop", "icc_profile"}
# The scene's corners once upright: the marker at the top left only.
UPRIGHT = {
    "top-left": MARKER,
    "top-right": BACKGROUND,
    "bottom-left": BACKGROUND,
    "bottom-right": BACKGROUND,
}


@pytest.mark.parametrize(
    "build",
    [
        imagefactory.jpeg,
        imagefactory.png,
        imagefactory.webp,
        imagefactory.gif,
        imagefactory.heic,
        imagefactory.mpo,
    ],
    ids=["jpeg", "png", "webp", "gif", "heic", "jpeg-with-a-second-picture-mpo"],
)
def test_each_accepted_format_gives_a_jpeg_display_and_thumbnail(build):
    display, thumbnail = post_renditions(build(800, 600))

    assert _size(display) == (800, 600)
    assert _size(thumbnail) == (600, 600)
    for rendition in (display, thumbnail):
        assert _corners(_open(rendition)) == UPRIGHT


def test_a_sideways_12_megapixel_phone_photo_comes_out_upright_and_without_its_location():
    photo = imagefactory.jpeg(4000, 3000, orientation=6, gps=True, metadata=True)
    assert imagefactory.SECRET_GPS in photo

    display, thumbnail = post_renditions(photo)

    # Upright it is 3000x4000, taller than 4:5, so it is cropped to 3000x3750 and scaled.
    assert _size(display) == (1080, 1350)
    assert _size(thumbnail) == (640, 640)
    for rendition in (display, thumbnail):
        assert _corners(_open(rendition)) == UPRIGHT
        _assert_no_metadata(rendition.data)


@pytest.mark.parametrize(
    ("orientation", "size"),
    [
        *[(orientation, (400, 300)) for orientation in (1, 2, 3, 4)],
        *[(orientation, (300, 375)) for orientation in (5, 6, 7, 8)],
        (0, (400, 300)),
        (9, (400, 300)),
    ],
    ids=[f"orientation-{n}" for n in range(1, 9)] + ["invalid-0", "invalid-9"],
)
def test_photos_are_upright_for_every_exif_orientation_and_invalid_ones_are_ignored(
    orientation, size
):
    display, thumbnail = post_renditions(imagefactory.jpeg(400, 300, orientation=orientation))

    assert _size(display) == size
    assert _corners(_open(display)) == UPRIGHT
    assert _corners(_open(thumbnail)) == UPRIGHT


def test_a_sideways_iphone_heic_comes_out_upright():
    display, thumbnail = post_renditions(imagefactory.heic(800, 600, orientation=6))

    assert _size(display) == (600, 750)
    assert _corners(_open(display)) == UPRIGHT
    assert _corners(_open(thumbnail)) == UPRIGHT


@pytest.mark.parametrize(
    ("size", "display_size", "thumbnail_size"),
    [
        ((1000, 3000), (1000, 1250), (640, 640)),
        ((4000, 1000), (1080, 565), (640, 640)),
        ((1200, 1000), (1080, 900), (640, 640)),
        ((2000, 2500), (1080, 1350), (640, 640)),
        ((1910, 1000), (1080, 565), (640, 640)),
        ((300, 200), (300, 200), (200, 200)),
    ],
    ids=["tall", "panorama", "in-between", "exactly-4:5", "exactly-1.91:1", "small"],
)
def test_display_ratio_is_kept_between_4_5_and_1_91_and_small_photos_are_not_upscaled(
    size, display_size, thumbnail_size
):
    display, thumbnail = post_renditions(imagefactory.jpeg(*size))

    assert _size(display) == display_size
    assert _size(thumbnail) == thumbnail_size


def test_a_very_tall_photo_keeps_its_middle():
    # The marker covers the top 40% (1200 px); the 1000x1250 crop starts at 875 px.
    display, _ = post_renditions(imagefactory.jpeg(1000, 3000))

    image = _open(display)
    assert _colour_at(image, 0.05, 0.10) == MARKER
    assert _colour_at(image, 0.05, 0.35) == BACKGROUND


def test_a_panorama_keeps_its_middle_in_the_display_and_the_thumbnail():
    # The marker covers the left 40% (1600 px); the display crop starts at 1045 px, the
    # thumbnail's 1000 px square at 1500 px.
    display, thumbnail = post_renditions(imagefactory.jpeg(4000, 1000))

    display_image, thumbnail_image = _open(display), _open(thumbnail)
    assert _colour_at(display_image, 0.10, 0.05) == MARKER
    assert _colour_at(display_image, 0.35, 0.05) == BACKGROUND
    assert _colour_at(thumbnail_image, 0.05, 0.05) == MARKER
    assert _colour_at(thumbnail_image, 0.20, 0.05) == BACKGROUND


def test_a_large_png_is_reduced_without_losing_its_framing():
    # Formats without draft mode are decoded in full, then reduced before any colour work.
    photo = imagefactory.png(4400, 3000)

    display, thumbnail = post_renditions(photo)
    avatar = avatar_rendition(photo)

    assert [_size(r) for r in (display, thumbnail, avatar)] == [(1080, 736), (640, 640), (320, 320)]
    for rendition in (display, thumbnail, avatar):
        assert _corners(_open(rendition)) == UPRIGHT


def test_renditions_are_progressive_jpegs_with_4_2_0_chroma():
    for rendition in post_renditions(imagefactory.png()):
        image = _open(rendition)
        assert image.info.get("progressive")
        assert JpegImagePlugin.get_sampling(image) == 2


@pytest.mark.parametrize("render", [post_renditions, avatar_rendition])
@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: b"", "empty"),
        (lambda: imagefactory.TEXT, "not an image we can read"),
        (lambda: imagefactory.HTML, "not an image we can read"),
        (lambda: imagefactory.SVG_WITH_SCRIPT, "not an image we can read"),
        (lambda: imagefactory.PDF, "not an image we can read"),
        (imagefactory.tiff, "not an image we can read"),
        (imagefactory.bmp, "not an image we can read"),
        (imagefactory.truncated_jpeg, "damaged"),
        (imagefactory.corrupt_jpeg, "damaged"),
        (imagefactory.corrupt_png, "damaged"),
        (lambda: imagefactory.jpeg(app_padding=25 * 1024 * 1024), "larger than 20 MB"),
        (imagefactory.png_bomb, "more than 50 megapixels"),
    ],
    ids=[
        "empty",
        "text",
        "html",
        "svg-with-script",
        "pdf",
        "tiff",
        "bmp",
        "truncated-jpeg",
        "jpeg-with-random-image-data",
        "png-with-random-image-data",
        "25-mb-jpeg",
        "20000x20000-png",
    ],
)
def test_it_rejects_uploads_that_are_not_acceptable_photos(render, build, message):
    with pytest.raises(ImageError, match=message):
        render(build())


def test_each_kind_of_rejection_has_its_own_short_sentence():
    messages = set()
    for upload in (
        b"",
        imagefactory.HTML,
        imagefactory.truncated_jpeg(),
        imagefactory.png_bomb(),
        imagefactory.pad_jpeg(imagefactory.jpeg(), images.MAX_UPLOAD_BYTES + 1),
    ):
        with pytest.raises(ImageError) as raised:
            post_renditions(upload)
        messages.add(str(raised.value))

    assert len(messages) == 5
    assert all(message[0].isupper() and message.endswith(".") for message in messages)
    assert all(len(message) < 80 for message in messages)


def test_it_accepts_exactly_20_mb_and_refuses_one_byte_more():
    photo = imagefactory.pad_jpeg(imagefactory.jpeg(), images.MAX_UPLOAD_BYTES)
    assert len(photo) == 20 * 1024 * 1024

    display, _ = post_renditions(photo)
    assert _size(display) == (800, 600)
    with pytest.raises(ImageError, match="larger than 20 MB"):
        post_renditions(imagefactory.pad_jpeg(imagefactory.jpeg(), len(photo) + 1))


def test_it_accepts_a_photo_with_megabytes_of_metadata_and_strips_all_of_it():
    photo = imagefactory.jpeg(orientation=1, gps=True, metadata=True, app_padding=5 * 1024 * 1024)

    for rendition in post_renditions(photo):
        _assert_no_metadata(rendition.data)
        assert imagefactory.PADDING not in rendition.data


@pytest.mark.parametrize(
    ("build", "secrets"),
    [
        (
            lambda: imagefactory.jpeg(orientation=1, gps=True, metadata=True),
            imagefactory.SECRETS,
        ),
        (lambda: imagefactory.png(metadata=True), imagefactory.SECRETS[:4]),
        (lambda: imagefactory.webp(metadata=True), imagefactory.SECRETS[:3]),
        (lambda: imagefactory.heic(metadata=True), imagefactory.SECRETS[:3]),
    ],
    ids=["jpeg", "png", "webp", "heic"],
)
def test_no_metadata_from_any_format_survives(build, secrets):
    photo = build()
    assert all(secret in photo for secret in secrets)

    for rendition in (*post_renditions(photo), avatar_rendition(photo)):
        _assert_no_metadata(rendition.data)


@pytest.mark.parametrize(
    ("width", "height"), [(20_000, 20_000), (10_000, 6_000)], ids=["pillow-limit", "our-limit"]
)
def test_a_decompression_bomb_is_rejected_without_decoding_it(width, height):
    # Pillow allocates pixels outside Python's allocator, where tracemalloc cannot see them, so
    # the peak resident memory of a fresh process is measured instead. How fast the refusal
    # is, is measured by bench/run (images).
    script = """
import json, resource, sys
from posts import images
from tests import imagefactory
bomb = imagefactory.png_bomb(int(sys.argv[1]), int(sys.argv[2]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    images.post_renditions(bomb)
    outcome = "accepted"
except images.ImageError as error:
    outcome = str(error)
growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"outcome": outcome, "growth_kb": growth}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script, str(width), str(height)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    measured = json.loads(result.stdout)

    assert "more than 50 megapixels" in measured["outcome"]
    assert measured["growth_kb"] < 100 * 1024


@pytest.mark.parametrize(
    "build",
    [imagefactory.jpeg, imagefactory.png, imagefactory.webp, imagefactory.heic],
    ids=["jpeg", "png", "webp", "heic"],
)
def test_a_photo_read_from_its_file_gives_the_same_renditions_as_its_bytes(build, tmp_path):
    # Uploads Django spooled to disk are decoded from the file, a block at a time.
    photo = build(2400, 1800)
    path = tmp_path / "upload"
    path.write_bytes(photo)
    with path.open("rb") as file:
        from_file = post_renditions(file)

    assert [r.data for r in from_file] == [r.data for r in post_renditions(photo)]


def test_megabytes_after_a_pngs_pixels_cost_no_memory_when_decoded_from_its_file(tmp_path):
    # Pillow reads the chunks after the pixels and keeps private ones whole: 19 MB of them
    # held 38 MB beside the decoded image (a 50 MP PNG's decode process reached 300 MB).
    script = """
import json, resource, sys
from posts import images
with open(sys.argv[1], "rb") as file:
    images.post_renditions(file)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    plain = imagefactory.png(3000, 2000, mode="RGBA")
    peaks = {}
    for name, photo in {"plain": plain, "padded": imagefactory.padded_png(plain, 19 << 20)}.items():
        path = tmp_path / f"{name}.png"
        path.write_bytes(photo)
        result = subprocess.run(
            [sys.executable, "-c", script, str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        peaks[name] = int(result.stdout) / 1024

    assert peaks["padded"] - peaks["plain"] < 8


def test_an_image_in_pillows_warning_range_is_rejected_without_a_warning():
    bomb = imagefactory.png_bomb(10_000, 10_000)  # 100 MP: Pillow warns from 89 MP

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageError, match="more than 50 megapixels"):
            post_renditions(bomb)

    assert [str(warning.message) for warning in caught] == []


def test_a_gif_with_thousands_of_frames_gives_its_first_frame_without_reading_the_others(
    monkeypatch,
):
    # Decoding all 20,000 frames one by one takes seconds (bench/run images measures how long
    # the first frame takes); every frame after the first is green.
    animation = imagefactory.gif(800, 600, frames=20_000)
    frames_read = []
    read_frame = GifImagePlugin.GifImageFile._seek

    def seek(image, frame, *args, **kwargs):
        frames_read.append(frame)
        return read_frame(image, frame, *args, **kwargs)

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "_seek", seek)
    display, thumbnail = post_renditions(animation)

    assert set(frames_read) == {0}
    assert _corners(_open(display)) == UPRIGHT
    assert _corners(_open(thumbnail)) == UPRIGHT


def test_a_cmyk_jpeg_comes_out_rgb_with_its_colours():
    display, _ = post_renditions(imagefactory.jpeg(mode="CMYK"))

    assert _corners(_open(display)) == UPRIGHT


@pytest.mark.parametrize(
    ("build", "marker"),
    [
        (lambda: imagefactory.png(mode="RGBA", transparent_background=True), MARKER),
        (lambda: imagefactory.png(mode="P", transparent_background=True), MARKER),
        (lambda: imagefactory.png(mode="LA", transparent_background=True), (87, 87, 87)),
        (lambda: imagefactory.webp(transparent_background=True), MARKER),
    ],
    ids=["png-rgba", "png-palette", "png-grey-alpha", "webp-rgba"],
)
def test_transparent_areas_come_out_white(build, marker):
    for rendition in post_renditions(build()):
        image = _open(rendition)
        assert _colour_at(image, 0.05, 0.05) == marker
        assert _colour_at(image, 0.95, 0.95) == WHITE
        assert _colour_at(image, 0.95, 0.05) == WHITE


def test_a_sideways_png_comes_out_upright():
    stored = imagefactory._stored(800, 600, 6)
    buffer = io.BytesIO()
    stored.save(buffer, "PNG", exif=imagefactory._exif(6, gps=False, metadata=False))

    display, _ = post_renditions(buffer.getvalue())

    assert _size(display) == (600, 750)
    assert _corners(_open(display)) == UPRIGHT


def test_a_pngs_header_is_read_without_decoding_its_pixels(monkeypatch):
    # Pillow's PNG getexif() would decode all 50 MP (200 MB) to look for EXIF after the
    # pixels; the header check runs before any bound on decodes, so it must not.
    photo = imagefactory.png_bomb(7000, 7000)
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", lambda self: pytest.fail("decoded"))
    assert images.post_pixels(io.BytesIO(photo)) == 49_000_000
    assert images.full_size_pixels(io.BytesIO(photo)) == 49_000_000


def test_a_large_transparent_webp_is_decoded_small_and_comes_out_white_behind(monkeypatch):
    # Four times the display width: libwebp scales it while decoding (posts/webp.py), so no
    # full-size copy exists in Python; the result looks as Pillow's full decode would.
    photo = imagefactory.webp(4800, 3600, transparent_background=True)
    sizes = []
    decode_scaled = images.webp.decode_scaled
    monkeypatch.setattr(
        images.webp,
        "decode_scaled",
        lambda data, size: sizes.append(size) or decode_scaled(data, size),
    )
    display, thumbnail = post_renditions(photo)
    assert sizes == [(2400, 1800)]
    assert _size(display) == (1080, 810)
    for rendition in (display, thumbnail):
        image = _open(rendition)
        assert _colour_at(image, 0.05, 0.05) == MARKER
        assert _colour_at(image, 0.95, 0.95) == WHITE


def test_a_large_webp_that_libwebp_cannot_scale_is_still_decoded(monkeypatch):
    monkeypatch.setattr(images.webp, "decode_scaled", lambda data, size: None)
    display, _ = post_renditions(imagefactory.webp(4800, 3600))
    assert _corners(_open(display)) == UPRIGHT


def test_a_large_sideways_heic_is_read_in_bands_and_comes_out_upright():
    # Large enough to be reduced while it is read from libheif's buffer, a band at a time.
    display, thumbnail = post_renditions(imagefactory.heic(4800, 3600, orientation=6))

    assert _size(display) == (1080, 1350)
    assert _corners(_open(display)) == UPRIGHT
    assert _corners(_open(thumbnail)) == UPRIGHT


def test_a_16_bit_greyscale_png_keeps_its_grey_levels():
    display, _ = post_renditions(imagefactory.png(mode="I;16"))

    # The background's grey is 88 of 255; clipping 16-bit values would make it white.
    assert _colour_at(_open(display), 0.95, 0.95) == (88, 88, 88)


@pytest.mark.parametrize("build", [imagefactory.jpeg, imagefactory.png], ids=["jpeg", "png"])
def test_a_display_p3_photo_is_converted_to_srgb(build):
    p3_colour = (200, 150, 100)
    photo = build(color=p3_colour, icc_profile=imagefactory.display_p3_profile())

    display, _ = post_renditions(photo)

    pixel = _open(display).getpixel((700, 500))
    assert _close(pixel, _display_p3_to_srgb(p3_colour), tolerance=4)
    assert not _close(pixel, p3_colour, tolerance=4)


@pytest.mark.parametrize(
    "icc_profile",
    [ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(), b"not a profile" * 20],
    ids=["srgb-profile", "unreadable-profile"],
)
def test_an_srgb_or_unreadable_profile_leaves_colours_as_they_are(icc_profile):
    colour = (200, 150, 100)
    display, _ = post_renditions(imagefactory.jpeg(color=colour, icc_profile=icc_profile))

    assert _close(_open(display).getpixel((700, 500)), colour, tolerance=4)


def test_an_avatar_is_an_upright_320_square_centre_crop_without_metadata():
    photo = imagefactory.jpeg(800, 600, orientation=6, gps=True, metadata=True)

    avatar = avatar_rendition(photo)

    assert _size(avatar) == (320, 320)
    assert _corners(_open(avatar)) == UPRIGHT
    _assert_no_metadata(avatar.data)


def test_a_small_avatar_is_scaled_up_to_320():
    avatar = avatar_rendition(imagefactory.png(100, 80))

    assert _size(avatar) == (320, 320)
    assert _corners(_open(avatar)) == UPRIGHT


def _size(rendition: Rendition) -> tuple[int, int]:
    """The size a rendition claims."""
    return rendition.width, rendition.height


def _open(rendition: Rendition) -> Image.Image:
    """The decoded rendition, after checking it is the RGB JPEG of the size it claims."""
    assert (rendition.content_type, rendition.extension) == ("image/jpeg", "jpg")
    image = Image.open(io.BytesIO(rendition.data))
    image.load()
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", _size(rendition))
    return image


def _colour_at(image: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    """The named colour (MARKER, BACKGROUND, WHITE) nearest the pixel at fractions x, y.

    Returns the pixel itself when it is near none of them, so a failure shows what was there.
    """
    pixel = image.getpixel((int(x * image.width), int(y * image.height)))
    for colour in (MARKER, BACKGROUND, WHITE):
        if _close(pixel, colour, tolerance=12):
            return colour
    return pixel


def _corners(image: Image.Image) -> dict[str, tuple[int, int, int]]:
    """The colour 5% in from each corner."""
    return {
        "top-left": _colour_at(image, 0.05, 0.05),
        "top-right": _colour_at(image, 0.95, 0.05),
        "bottom-left": _colour_at(image, 0.05, 0.95),
        "bottom-right": _colour_at(image, 0.95, 0.95),
    }


def _close(pixel: tuple[int, ...], colour: tuple[int, ...], *, tolerance: int) -> bool:
    """Whether every channel of `pixel` is within `tolerance` of `colour`."""
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def _display_p3_to_srgb(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """`colour` in Display P3 as sRGB, computed by hand rather than by LittleCMS.

    Both spaces share the sRGB tone curve and the D65 white; only the primaries differ.
    """
    p3_to_srgb = (
        (1.2249, -0.2247, 0.0),
        (-0.0420, 1.0419, 0.0),
        (-0.0197, -0.0786, 1.0979),
    )
    encoded = [value / 255 for value in colour]
    linear = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in encoded]
    converted = [sum(m * v for m, v in zip(row, linear, strict=True)) for row in p3_to_srgb]
    clipped = [min(max(v, 0.0), 1.0) for v in converted]
    srgb = [12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055 for v in clipped]
    red, green, blue = (round(255 * v) for v in srgb)
    return red, green, blue


def _assert_no_metadata(data: bytes) -> None:
    """Assert a JPEG carries no EXIF, GPS, XMP, IPTC, comment or ICC profile."""
    image = Image.open(io.BytesIO(data))
    assert not METADATA_KEYS & image.info.keys()
    assert not image.getexif()
    assert b"Exif\x00\x00" not in data
    assert not any(secret in data for secret in imagefactory.SECRETS)
    # Only APP0 (the JFIF header) may precede the image data: no APP1-15 and no COM.
    assert set(_markers_before_image_data(data)) & {*range(0xE1, 0xF0), 0xFE} == set()


def _markers_before_image_data(data: bytes) -> list[int]:
    """The JPEG marker codes from SOI up to the first SOS."""
    markers, position = [], 2
    while data[position + 1] != 0xDA:
        markers.append(data[position + 1])
        position += 2 + struct.unpack(">H", data[position + 2 : position + 4])[0]
    return markers


@settings(max_examples=20, deadline=None)
@given(
    width=st.integers(1, 2400),
    height=st.integers(1, 2400),
    kind=st.sampled_from(["JPEG", "PNG", "WEBP", "GIF"]),
    orientation=st.sampled_from([None, 3, 6, 8]),
)
def test_the_pixels_counted_from_a_header_are_the_pixels_decoded(width, height, kind, orientation):
    # The request budget (posts.forms) trusts this count, taken before anything is decoded.
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), BACKGROUND).save(buffer, kind, exif=exif)
    photo = buffer.getvalue()
    decoded = []
    upright_srgb = images._upright_srgb

    def spy(pixels, icc_profile, needed, transpose):
        decoded.append(pixels.size[0] * pixels.size[1])
        return upright_srgb(pixels, icc_profile, needed, transpose)

    counted = images.post_pixels(io.BytesIO(photo))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(images, "_upright_srgb", spy)
        post_renditions(photo)
    assert decoded == [counted]
    assert counted <= width * height


def test_a_large_decode_hands_its_memory_back_to_the_system():
    # glibc keeps freed memory for reuse: without malloc_trim a process that decoded a
    # 25-megapixel WebP twice stays about 90 MB larger (gunicorn workers kept 700 MB after
    # three 50 MP WebPs). Measured in a fresh process, as Pillow allocates outside Python.
    script = """
import io, json, re
from pathlib import Path
from PIL import Image
from posts import images
def rss_mb():
    return int(re.search(r"VmRSS:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1]) / 1024
buffer = io.BytesIO()
Image.new("RGB", (5000, 5000), (200, 120, 40)).save(buffer, "WEBP", lossless=True)
photo = buffer.getvalue()
before = rss_mb()
for _ in range(2):
    images.post_renditions(photo)
print(json.dumps({"before": before, "after": rss_mb()}))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    measured = json.loads(result.stdout)
    assert measured["after"] - measured["before"] < 30
