"""Turn an uploaded photo into the renditions we store: checked, upright, sRGB, metadata-free.

Pure functions, an upload in (its bytes, or a file read as the decoder needs it) and bytes out,
with no Django, ORM or storage, so they can be tested and benchmarked alone. Every upload is
decoded once, as small as its renditions allow (JPEG draft mode), and every rendition is derived
from that one decoded image. How many pixels that decode takes is known from the header alone
(``post_pixels``), and how many it may hold at full size (``full_size_pixels``), so that a
request's photos can be refused together before any of them is decoded.
"""

import ctypes
import io
import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import IO, Self

import pillow_heif
from PIL import ExifTags, Image, ImageCms

from posts import webp

pillow_heif.register_heif_opener()

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # 20 MB
MAX_PIXELS = 50_000_000  # 50 megapixels
# Pixels decoded for all the photos of one request together, so that a post of flat 2 KB files
# claiming 50 MP each cannot hold a worker for seconds per photo. Ten 12 MP HEICs or PNGs fit,
# as do three photos at MAX_PIXELS; a JPEG counts at its draft size (a 12 MP one as 3 MP).
REQUEST_MAX_PIXELS = 150_000_000
# After decoding at least this many pixels, hand the freed memory back to the system: glibc
# keeps it otherwise, and a worker stays hundreds of MB larger after a single large photo.
RELEASE_AFTER_PIXELS = 10_000_000
DISPLAY_MAX_WIDTH = 1080
THUMBNAIL_SIZE = 640
AVATAR_SIZE = 320

# The display rendition's width / height is centre-cropped into this range (4:5 to 1.91:1).
MIN_ASPECT_RATIO = 4 / 5
MAX_ASPECT_RATIO = 1.91

DISPLAY_QUALITY = 85
THUMBNAIL_QUALITY = 80
AVATAR_QUALITY = 85

# The formats Pillow may detect from the content. A JPEG carrying extra pictures, as many phone
# cameras write, is detected as "MPO" by the JPEG opener and accepted as the JPEG it is.
_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "HEIF")

_EMPTY = "This file is empty."
_TOO_LARGE = f"This file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
_NOT_AN_IMAGE = "This file is not an image we can read (JPEG, PNG, WebP, GIF or HEIC)."
_TOO_MANY_PIXELS = f"This image has more than {MAX_PIXELS // 1_000_000} megapixels."
DAMAGED = "This image is damaged or incomplete."

# How to turn each EXIF orientation upright, and the ones that swap width and height.
_EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SIDEWAYS = {
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_270,
}

# Opaque modes that reduce() and ICC conversion take as they are; others become RGB first.
_OPAQUE_MODES = ("RGB", "L", "CMYK")
# Rows of a full-size image made opaque at a time (a 50 MP RGBA band: 4 MB).
_BAND_ROWS = 128
_WHITE = (255, 255, 255)
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

try:
    _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):
    _malloc_trim = None  # not glibc (musl, macOS): its allocator has no malloc_trim


class ImageError(ValueError):
    """A user-facing reason why an upload is not an acceptable photo."""


@dataclass(frozen=True)
class Rendition:
    """One encoded output image, with its real size and how to serve it."""

    data: bytes
    width: int
    height: int
    content_type: str
    extension: str


@dataclass(frozen=True)
class _Target:
    """A rendition to make: a crop box in the upright image, the size to scale it to, quality."""

    box: tuple[float, float, float, float]
    size: tuple[int, int]
    quality: int

    @property
    def scale(self) -> float:
        """The fraction of the full resolution this rendition needs from the decoder."""
        left, top, right, bottom = self.box
        return max(self.size[0] / (right - left), self.size[1] / (bottom - top))

    def scaled(self, x: float, y: float) -> Self:
        """The same target for an image decoded at a different resolution."""
        left, top, right, bottom = self.box
        return replace(self, box=(left * x, top * y, right * x, bottom * y))


# Given the upright full-size (width, height), the renditions to make from it.
_Plan = Callable[[tuple[int, int]], tuple[_Target, ...]]


@dataclass(frozen=True)
class _Opened:
    """A file whose header is read and checked, set to decode just large enough for a plan."""

    source: Image.Image  # not decoded yet; its size is the size it will decode at
    transpose: Image.Transpose | None
    upright: tuple[int, int]  # the full-size (width, height), upright
    targets: tuple[_Target, ...]
    needed: tuple[int, int]  # the least (width, height) the targets need from the decoder


# An upload: its bytes, or a seekable binary file (an upload spooled to disk), which decoders then
# read a block at a time instead of holding it whole.
Source = bytes | IO[bytes]


def post_renditions(
    data: Source, *, made: Callable[[Rendition], None] | None = None
) -> tuple[Rendition, Rendition]:
    """(display, thumbnail) for a post photo; ``made``, if given, is called with each of them as
    soon as it is encoded, so that the display rendition can be stored while the thumbnail is
    made.

    The display rendition is at most DISPLAY_MAX_WIDTH wide, never upscaled, with its aspect
    ratio centre-cropped into MIN_ASPECT_RATIO..MAX_ASPECT_RATIO. The thumbnail is a centred
    THUMBNAIL_SIZE square, or a smaller square when the photo's short side is smaller: post
    photos are never upscaled.
    """
    display, thumbnail = _render(data, _post_plan, made)
    return display, thumbnail


def avatar_rendition(data: Source) -> Rendition:
    """A square AVATAR_SIZE x AVATAR_SIZE profile photo (centre crop), metadata stripped.

    Unlike post photos, a small avatar is scaled up, so that every avatar has the same size.
    """
    (avatar,) = _render(data, _avatar_plan)
    return avatar


def post_pixels(file: IO[bytes]) -> int:
    """How many pixels ``post_renditions`` will decode for this file, from its header alone.

    A JPEG counts at the reduced size draft mode decodes it at. Raises ImageError for a header
    ``post_renditions`` would refuse.
    """
    opened = _open(file, _post_plan)
    width, height = _decode_size(opened.source, opened.needed)
    return width * height


def full_size_pixels(file: IO[bytes]) -> int:
    """How many pixels decoding this file may hold at full size, from its header alone: a JPEG
    at its draft size, every other format whole (a lossless WebP is decoded whole inside
    libwebp, however small its output). Raises ImageError for a file (empty, too large) or a
    header the pipeline refuses.
    """
    source = _open(_sized(file), _post_plan).source
    return source.width * source.height


def _post_plan(size: tuple[int, int]) -> tuple[_Target, ...]:
    """The display rendition and the thumbnail."""
    return (
        _display_target(size),
        _square_target(size, THUMBNAIL_SIZE, THUMBNAIL_QUALITY, upscale=False),
    )


def _avatar_plan(size: tuple[int, int]) -> tuple[_Target, ...]:
    """The avatar alone."""
    return (_square_target(size, AVATAR_SIZE, AVATAR_QUALITY, upscale=True),)


def _display_target(size: tuple[int, int]) -> _Target:
    """The largest centred crop within the allowed aspect ratios, at most DISPLAY_MAX_WIDTH."""
    width, height = size
    ratio = min(max(width / height, MIN_ASPECT_RATIO), MAX_ASPECT_RATIO)
    crop_width = min(width, height * ratio)
    crop_height = min(height, width / ratio)
    out_width = max(1, min(DISPLAY_MAX_WIDTH, round(crop_width)))
    out_height = max(1, round(out_width / ratio))
    return _Target(
        _centred_box(size, crop_width, crop_height), (out_width, out_height), DISPLAY_QUALITY
    )


def _square_target(size: tuple[int, int], side: int, quality: int, *, upscale: bool) -> _Target:
    """A centred square crop scaled to `side`; smaller if the photo is and `upscale` is off."""
    short = min(size)
    out = side if upscale else min(side, short)
    return _Target(_centred_box(size, short, short), (out, out), quality)


def _centred_box(
    size: tuple[int, int], width: float, height: float
) -> tuple[float, float, float, float]:
    """A width x height box in the middle of an image of `size`."""
    left = (size[0] - width) / 2
    top = (size[1] - height) / 2
    return (left, top, left + width, top + height)


def _render(
    data: Source, plan: _Plan, made: Callable[[Rendition], None] | None = None
) -> list[Rendition]:
    """Decode `data` once, then crop, scale and encode every target of the plan, handing each
    rendition to `made` as soon as it is encoded."""
    image, targets, decoded = _decode(data, plan)
    renditions = []
    for t in targets:
        renditions.append(
            _encode(image.resize(t.size, Image.Resampling.LANCZOS, box=t.box), t.quality)
        )
        if made is not None:
            made(renditions[-1])
    del image
    if decoded >= RELEASE_AFTER_PIXELS and _malloc_trim is not None:
        _malloc_trim(0)
    return renditions


def _decode(data: Source, plan: _Plan) -> tuple[Image.Image, list[_Target], int]:
    """Check and decode `data` just large enough for the plan, upright and as sRGB RGB.

    Returns the pixels, the plan's targets with their boxes in those pixels' coordinates, and
    how many pixels were decoded. Everything that reads the untrusted bytes happens here or in
    `_open`, so that a hostile or damaged file ends as an ImageError, and no image larger than
    the returned one outlives this call.
    """
    file = _sized(data)
    opened = _open(file, plan)
    source = opened.source
    with _reading_untrusted_image():
        pixels = _pixels(file, source, opened.needed)
    image = _upright_srgb(pixels, source.info.get("icc_profile"), opened.needed, opened.transpose)
    width, height = opened.upright
    targets = [t.scaled(image.width / width, image.height / height) for t in opened.targets]
    return image, targets, source.width * source.height


@dataclass(frozen=True)
class _Pixels:
    """Decoded pixels, read a band of rows at a time, so no caller needs a full-size copy."""

    size: tuple[int, int]
    crop: Callable[[tuple[int, int, int, int]], Image.Image]  # a box of them, as Image.crop
    # The decoded image itself, when there is one: cropping all of it would copy it.
    whole: Image.Image | None = None


def _pixels(file: IO[bytes], source: Image.Image, needed: tuple[int, int]) -> _Pixels:
    """Decode `source` (opened from `file`) as small as its format allows for `needed`.

    A JPEG is decoded at its draft size, a still WebP scaled by libwebp as it decodes (posts/
    webp.py), and a HEIC's rows are read from libheif's own buffer rather than copied whole
    into Pillow; every other format is decoded at full size by Pillow.
    """
    size = _decode_size(source, needed)
    scaled = webp.decode_scaled(_whole_file(file), size) if size != source.size else None
    if scaled is not None:
        return _whole(scaled)
    if source.format == "HEIF":
        heif = pillow_heif.open_heif(io.BytesIO(_whole_file(file)), convert_hdr_to_8bit=True)
        buffer, mode, stride = memoryview(heif.data), heif.mode, heif.stride
        width = heif.size[0]

        def crop(box: tuple[int, int, int, int]) -> Image.Image:
            left, top, right, bottom = box
            band = buffer[top * stride : bottom * stride]
            rows = Image.frombuffer(mode, (width, bottom - top), band, "raw", mode, stride, 1)
            whole_width = (left, right) == (0, width)
            return rows if whole_width else rows.crop((left, 0, right, bottom - top))

        return _Pixels(heif.size, crop)
    if source.format == "PNG":
        # Pillow reads every chunk after the pixels once they are decoded and keeps private
        # ones whole: 20 MB of them, within the upload limit, held 40 MB beside the decoded
        # image. Nothing after the pixels is used.
        source.load_end = lambda: None
    source.load()
    return _whole(source)


def _whole_file(file: IO[bytes]) -> bytes:
    """All of `file`'s bytes, for decoders that take them at once (libwebp, libheif)."""
    file.seek(0)
    return file.read()


def _sized(data: Source) -> IO[bytes]:
    """`data` as a file at its start, if it is neither empty nor over MAX_UPLOAD_BYTES."""
    file = io.BytesIO(data) if isinstance(data, bytes) else data
    size = file.seek(0, io.SEEK_END)
    if not size:
        raise ImageError(_EMPTY)
    if size > MAX_UPLOAD_BYTES:
        raise ImageError(_TOO_LARGE)
    file.seek(0)
    return file


def _decode_size(source: Image.Image, needed: tuple[int, int]) -> tuple[int, int]:
    """The size `_pixels` decodes `source` at: reduced for a still WebP, else `source.size`."""
    if source.format != "WEBP" or getattr(source, "is_animated", False):
        return source.size
    factor = max(1, min(source.width // (2 * needed[0]), source.height // (2 * needed[1])))
    return (source.width // factor, source.height // factor)


def _whole(image: Image.Image) -> _Pixels:
    """An image already decoded, read a band at a time."""
    return _Pixels(image.size, image.crop, image)


def _open(file: IO[bytes], plan: _Plan) -> _Opened:
    """Read and check the header of `file`, and set it to decode just large enough for `plan`.

    Image.open reads only the header, so the pixel count is known before any decoding.
    """
    with _reading_untrusted_image():
        source = Image.open(file, formats=_FORMATS)
        if source.width * source.height > MAX_PIXELS:
            raise ImageError(_TOO_MANY_PIXELS)
        transpose = _EXIF_TRANSPOSE.get(_header_exif(source).get(ExifTags.Base.Orientation))
    upright = source.size[::-1] if transpose in _SIDEWAYS else source.size
    targets = plan(upright)
    scale = min(1.0, max(t.scale for t in targets))
    needed = (math.ceil(source.width * scale), math.ceil(source.height * scale))
    with _reading_untrusted_image():
        # For a JPEG, libjpeg will decode at 1/2, 1/4 or 1/8 scale, still at least `needed`;
        # other formats ignore this. An animated image loads its first frame only.
        source.draft("RGB", needed)
    return _Opened(source, transpose, upright, targets, needed)


def _header_exif(source: Image.Image) -> Image.Exif:
    """The EXIF found in the header, without decoding any pixels.

    Pillow's PNG getexif() decodes the whole image to look for an eXIf chunk after the pixel
    data: a 50 MP PNG's 200 MB, before any bound on decodes could apply. Writers (Pillow,
    phones, editors) put eXIf before the pixels, where Pillow has already read it on opening.
    """
    if source.format == "PNG":
        exif = Image.Exif()
        if "exif" in source.info:
            exif.load(source.info["exif"])
        return exif
    return source.getexif()


@contextmanager
def _reading_untrusted_image() -> Iterator[None]:
    """Turn whatever Pillow raises or warns about a file into an ImageError."""
    # catch_warnings is not thread-safe before Python 3.14 (python/cpython#128384). A race can
    # only let this warning through as a warning, or leave it an error for the whole process;
    # either way the image is still rejected by the MAX_PIXELS check.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageError(_TOO_MANY_PIXELS) from error
        except Image.UnidentifiedImageError as error:
            raise ImageError(_NOT_AN_IMAGE) from error
        except Exception as error:
            # Decoders report bad data as OSError, SyntaxError, ValueError, struct.error, EOFError
            # and more; truncation is an OSError because LOAD_TRUNCATED_IMAGES stays off.
            raise ImageError(DAMAGED) from error


def _upright_srgb(
    pixels: _Pixels,
    icc_profile: bytes | None,
    needed: tuple[int, int],
    transpose: Image.Transpose | None,
) -> Image.Image:
    """RGB pixels in sRGB, upright, reduced to no less than twice `needed` when much larger."""
    image = _to_srgb(_opaque_shrunk(pixels, needed), icc_profile)
    return image.transpose(transpose) if transpose is not None else image


def _opaque_shrunk(pixels: _Pixels, needed: tuple[int, int]) -> Image.Image:
    """`_opaque` pixels, reduced to no less than twice `needed` when much larger.

    Formats without draft mode arrive at full size. They are made opaque and reduced a band of
    rows at a time, so no full-size copy is ever made: converting or compositing a 50 MP RGBA
    PNG whole would take 350 MB more, and Image.reduce() itself copies RGBA at full size. The
    2x margin keeps the final LANCZOS resize close to one from full size, as Pillow's own
    reducing_gap=2 does.
    """
    full_width, full_height = pixels.size
    factor = min(full_width // (2 * needed[0]), full_height // (2 * needed[1]))
    if factor <= 1:
        # A 12 MP JPEG arrives here at its draft size: copying it took 5 to 18 ms.
        whole = pixels.whole
        return _opaque(whole if whole is not None else pixels.crop((0, 0, *pixels.size)))
    width, height = full_width // factor * factor, full_height // factor * factor
    rows = factor * max(1, _BAND_ROWS // factor)
    shrunk = None
    for top in range(0, height, rows):
        band = _opaque(pixels.crop((0, top, width, min(top + rows, height)))).reduce(factor)
        # Pasted as each is made: kept until the end, the bands were a second shrunk image.
        if shrunk is None:
            shrunk = Image.new(band.mode, (width // factor, height // factor))
        shrunk.paste(band, (0, top // factor))
    return shrunk


def _opaque(image: Image.Image) -> Image.Image:
    """8-bit pixels in RGB, L or CMYK, with any transparency composited onto white."""
    if image.mode.startswith("I"):
        # 16-bit greyscale: scale to 8 bits, as a plain conversion clips everything to white.
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    if image.has_transparency_data:
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        image = Image.new("RGB", rgba.size, _WHITE)
        image.paste(rgba, mask=rgba)
    elif image.mode not in _OPAQUE_MODES:
        image = image.convert("RGB")
    return image


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """RGB pixels in sRGB, converting from the embedded ICC profile unless it is sRGB."""
    if icc_profile:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            if "sRGB" not in ImageCms.getProfileDescription(profile):
                image = ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGB")
        except (OSError, ImageCms.PyCMSError):
            # A profile we cannot read, or one that does not fit the pixels, is ignored: the
            # pixels are still a photo, shown as if they were sRGB.
            pass
    return image if image.mode == "RGB" else image.convert("RGB")


def _encode(image: Image.Image, quality: int) -> Rendition:
    """A progressive JPEG of `image`, with no metadata at all."""
    # Pillow's savers copy some of image.info into the file (the JPEG comment, for one).
    image.info.clear()
    buffer = io.BytesIO()
    image.save(
        buffer, "JPEG", quality=quality, optimize=True, progressive=True, subsampling="4:2:0"
    )
    return Rendition(buffer.getvalue(), image.width, image.height, "image/jpeg", "jpg")
