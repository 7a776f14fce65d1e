"""Test images built in memory: photos in every accepted format, other formats, hostile files.

Every photo shows the same scene: a BACKGROUND colour with a MARKER block over the top-left
MARKER_FRACTION of each side, as a viewer sees it once EXIF orientation is applied. A test can
tell from the corners whether orientation was applied and which part of the photo a crop kept.
Photos built with `metadata=True` carry each of SECRETS in some metadata block, so a test can
search the output bytes for them.
"""

import io
import math
import random
import struct
import zlib

import pillow_heif
from PIL import ExifTags, Image, ImageChops, PngImagePlugin

BACKGROUND = (40, 90, 200)
MARKER = (220, 30, 30)
MARKER_FRACTION = 0.4

SECRET_EXIF = b"SECRET-EXIF"
SECRET_GPS = b"SECRET-GPS"
SECRET_XMP = b"SECRET-XMP"
SECRET_COMMENT = b"SECRET-COMMENT"
SECRET_IPTC = b"SECRET-IPTC"
SECRETS = (SECRET_EXIF, SECRET_GPS, SECRET_XMP, SECRET_COMMENT, SECRET_IPTC)
PADDING = b"PADDING!"

TEXT = b"Just some notes, not a photo at all.\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b'<script>alert(document.cookie)</script><rect width="100" height="100"/></svg>'
)
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# The transpose that stores an upright scene so that EXIF orientation N shows it upright again.
_STORE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:description>SECRET-XMP</dc:description></x:xmpmeta>'
)
_JPEG_SEGMENT_MAX = 65535 - 2  # payload bytes in one JPEG marker segment


def scene(
    width: int, height: int, *, color: tuple[int, int, int] = BACKGROUND, noise: int = 0
) -> Image.Image:
    """The upright scene; with `noise`, shaded and grainy like a photo, so it compresses poorly."""
    image = Image.new("RGB", (width, height), color)
    image.paste(MARKER, (0, 0, round(width * MARKER_FRACTION), round(height * MARKER_FRACTION)))
    if noise:
        shade = Image.linear_gradient("L").resize((width, height))
        light = Image.merge("RGB", (shade, shade.transpose(Image.Transpose.ROTATE_180), shade))
        image = Image.blend(image, light, 0.3)
        grain = Image.effect_noise((width, height), noise).convert("RGB")
        image = ImageChops.add(image, grain, offset=-128)
    return image


def jpeg(
    width: int = 800,
    height: int = 600,
    *,
    orientation: int | None = None,
    gps: bool = False,
    metadata: bool = False,
    color: tuple[int, int, int] = BACKGROUND,
    mode: str = "RGB",
    icc_profile: bytes | None = None,
    quality: int = 90,
    noise: int = 0,
    app_padding: int = 0,
) -> bytes:
    """A width x height JPEG (as stored) that shows the scene upright under `orientation`.

    `app_padding` adds that many bytes of extra APP1 "Exif" segments after the real metadata.
    """
    image = _stored(width, height, orientation, color=color, noise=noise).convert(mode)
    options: dict[str, object] = {
        "quality": quality,
        "exif": _exif(orientation, gps=gps, metadata=metadata),
    }
    if metadata:
        options |= {"xmp": _XMP, "comment": SECRET_COMMENT}
    if icc_profile:
        options["icc_profile"] = icc_profile
    data = _save(image, "JPEG", **options)
    extra = (_iptc_segment() if metadata else b"") + _padding_segments(app_padding)
    return _insert_after_jpeg_headers(data, extra)


def pad_jpeg(data: bytes, total_size: int) -> bytes:
    """`data` padded with APP segments to exactly `total_size` bytes."""
    return _insert_after_jpeg_headers(data, _padding_segments(total_size - len(data)))


def mpo(width: int = 800, height: int = 600) -> bytes:
    """A JPEG with a second picture appended, as phone cameras write (Pillow calls it MPO)."""
    second = Image.new("RGB", (width, height), (0, 200, 0))
    return _save(scene(width, height), "MPO", save_all=True, append_images=[second])


def png(
    width: int = 800,
    height: int = 600,
    *,
    mode: str = "RGB",
    color: tuple[int, int, int] = BACKGROUND,
    transparent_background: bool = False,
    icc_profile: bytes | None = None,
    metadata: bool = False,
) -> bytes:
    """A PNG of the scene in `mode` (RGB, RGBA, LA, P, L, I;16, ...).

    With `transparent_background` the background is fully transparent (its colour values kept),
    so it only turns white if transparency is composited rather than dropped.
    """
    image = scene(width, height, color=color)
    options: dict[str, object] = {}
    if transparent_background:
        image = _with_transparent_background(image)
    if mode == "I;16":
        # Scale 8-bit grey to the full 16-bit range, as a real 16-bit scan would be.
        image = image.convert("L").convert("I").point(lambda value: value * 257).convert("I;16")
    elif mode == "P":
        image = image.convert("RGB").quantize(colors=4)
        if transparent_background:
            options["transparency"] = image.getpixel((width - 1, height - 1))
    else:
        image = image.convert(mode)
    if icc_profile:
        options["icc_profile"] = icc_profile
    if metadata:
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", SECRET_COMMENT.decode())
        text.add_itxt("XML:com.adobe.xmp", _XMP.decode())
        options |= {"pnginfo": text, "exif": _exif(None, gps=True, metadata=True)}
    return _save(image, "PNG", **options)


def webp(
    width: int = 800,
    height: int = 600,
    *,
    transparent_background: bool = False,
    metadata: bool = False,
) -> bytes:
    """A lossless WebP of the scene, optionally with a transparent background and metadata."""
    image = scene(width, height)
    if transparent_background:
        image = _with_transparent_background(image)
    # exact: keep the colour of transparent pixels, which must not show through.
    options: dict[str, object] = {"lossless": True, "exact": True}
    if metadata:
        options |= {"exif": _exif(None, gps=True, metadata=True), "xmp": _XMP}
    return _save(image, "WEBP", **options)


def gif(width: int = 800, height: int = 600, *, frames: int = 1) -> bytes:
    """A GIF whose first frame is the scene; later frames differ, so a test sees which it got.

    The second frame is all green; any further frames are 1x1 pixel patches, so thousands of
    them cost little to build or store but a lot to decode one by one.
    """
    palette = [*BACKGROUND, *MARKER, 0, 200, 0] + [0, 0, 0] * 253
    first = Image.new("P", (width, height), 0)
    first.putpalette(palette)
    first.paste(1, (0, 0, round(width * MARKER_FRACTION), round(height * MARKER_FRACTION)))
    if frames == 1:
        return _save(first, "GIF")
    green = Image.new("P", (width, height), 2)
    green.putpalette(palette)
    data = _save(first, "GIF", save_all=True, append_images=[green], optimize=False, duration=100)
    assert data.endswith(b";")
    patches = b"".join(_gif_patch(i % width, (i // width) % height) for i in range(frames - 2))
    return data[:-1] + patches + b";"


def heic(
    width: int = 800,
    height: int = 600,
    *,
    orientation: int | None = None,
    metadata: bool = False,
) -> bytes:
    """A HEIC (as an iPhone writes) of width x height that shows the scene upright."""
    image = _stored(width, height, orientation)
    options: dict[str, object] = {"quality": 90}
    if exif := _exif(orientation, gps=metadata, metadata=metadata):
        options["exif"] = exif  # pillow_heif refuses empty EXIF
    if metadata:
        options["xmp"] = _XMP
    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, **options)
    return buffer.getvalue()


def tiff(width: int = 800, height: int = 600) -> bytes:
    """A valid TIFF, a format we do not accept."""
    return _save(scene(width, height), "TIFF")


def bmp(width: int = 800, height: int = 600) -> bytes:
    """A valid BMP, a format we do not accept."""
    return _save(scene(width, height), "BMP")


def truncated_jpeg(width: int = 800, height: int = 600) -> bytes:
    """A JPEG cut off half way through its image data, as an interrupted upload would be."""
    data = jpeg(width, height, noise=20)
    return data[: len(data) // 2]


def corrupt_jpeg(width: int = 800, height: int = 600) -> bytes:
    """A JPEG whose headers are valid but whose image data is random bytes."""
    data = jpeg(width, height, noise=20)
    start = data.index(b"\xff\xda") + 100
    return data[:start] + random.Random(0).randbytes(len(data) - start)


def corrupt_png(width: int = 800, height: int = 600) -> bytes:
    """A well-formed PNG whose compressed image data, after a valid zlib header, is random."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = b"\x78\x9c" + random.Random(0).randbytes(4096)
    return _png(header, idat)


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid black 1-bit PNG of width x height: kilobytes on disk, gigabytes once decoded."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = bytes(1 + math.ceil(width / 8))  # filter byte, then the packed pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return _png(header, idat)


def webp_bomb(width: int = 7071, height: int = 7071) -> bytes:
    """A flat lossless WebP of width x height: about 2 KB, decoded whole inside libwebp."""
    return _save(Image.new("RGB", (width, height), (200, 120, 40)), "WEBP", lossless=True)


def display_p3_profile() -> bytes:
    """An ICC v2 display profile with Display P3 primaries and the sRGB tone curve.

    Built by hand because ImageCms can only create sRGB, LAB and XYZ profiles. The colorants
    are Display P3's, adapted to the D50 connection space as ICC requires.
    """
    curve = [round(65535 * _srgb_decode(i / 1023)) for i in range(1024)]
    tags = [
        (b"desc", _icc_text_description("Display P3 (test)")),
        (b"cprt", b"text" + bytes(4) + b"No copyright, test profile\x00"),
        (b"wtpt", _icc_xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _icc_xyz(0.5151, 0.2412, -0.0011)),
        (b"gXYZ", _icc_xyz(0.2920, 0.6922, 0.0419)),
        (b"bXYZ", _icc_xyz(0.1571, 0.0666, 0.7841)),
        (b"rTRC", b"curv" + bytes(4) + struct.pack(f">I{len(curve)}H", len(curve), *curve)),
    ]
    tags += [(b"gTRC", tags[-1][1]), (b"bTRC", tags[-1][1])]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags:
        data += bytes(-len(data) % 4)  # tag data starts on a 4-byte boundary
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = 128 + len(table) + len(body)
    header = (
        struct.pack(">I4sI4s4s4s", size, b"lcms", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + bytes(24)  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # rendering intent
        + _icc_xyz(0.9642, 1.0, 0.8249)[8:]  # D50 illuminant
        + b"lcms"
        + bytes(44)  # profile ID and reserved
    )
    assert len(header) == 128
    return header + table + body


def _stored(
    width: int,
    height: int,
    orientation: int | None,
    *,
    color: tuple[int, int, int] = BACKGROUND,
    noise: int = 0,
) -> Image.Image:
    """width x height stored pixels that EXIF `orientation` turns into the upright scene."""
    sideways = orientation in (5, 6, 7, 8)
    upright = scene(*((height, width) if sideways else (width, height)), color=color, noise=noise)
    transpose = _STORE_FOR_ORIENTATION.get(orientation)
    return upright.transpose(transpose) if transpose is not None else upright


def _exif(orientation: int | None, *, gps: bool, metadata: bool) -> bytes:
    """EXIF with the orientation, GPS position and camera details asked for; b"" for none."""
    if orientation is None and not gps and not metadata:
        return b""
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if metadata:
        exif[ExifTags.Base.Make] = "Acme"
        exif[ExifTags.Base.ImageDescription] = SECRET_EXIF.decode()
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(
            {
                ExifTags.GPS.GPSLatitudeRef: "N",
                ExifTags.GPS.GPSLatitude: (51.0, 30.0, 26.0),
                ExifTags.GPS.GPSLongitudeRef: "W",
                ExifTags.GPS.GPSLongitude: (0.0, 7.0, 39.0),
                ExifTags.GPS.GPSMapDatum: SECRET_GPS.decode(),
            }
        )
    return exif.tobytes()


def _with_transparent_background(image: Image.Image) -> Image.Image:
    """RGBA `image` where everything but the marker is fully transparent, colours kept."""
    alpha = Image.new("L", image.size, 0)
    width, height = image.size
    alpha.paste(255, (0, 0, round(width * MARKER_FRACTION), round(height * MARKER_FRACTION)))
    image = image.copy()
    image.putalpha(alpha)
    return image


def _save(image: Image.Image, format: str, **options: object) -> bytes:
    """`image` encoded as `format`."""
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    """One JPEG marker segment."""
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _iptc_segment() -> bytes:
    """An APP13 Photoshop segment carrying an IPTC caption, as photo editors write."""
    caption = b"\x1c\x02\x78" + struct.pack(">H", len(SECRET_IPTC)) + SECRET_IPTC
    caption += bytes(len(caption) % 2)
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(caption))
    return _jpeg_segment(0xED, b"Photoshop 3.0\x00" + resource + caption)


def _padding_segments(size: int) -> bytes:
    """Exactly `size` bytes of APP1 "Exif" segments full of PADDING (0, or at least 10 bytes)."""
    prefix = b"Exif\x00\x00"
    overhead = 4 + len(prefix)
    if 0 < size < overhead or size < 0:
        raise ValueError(f"cannot pad with {size} bytes")
    segments = []
    while size > 0:
        payload = min(size - overhead, _JPEG_SEGMENT_MAX - len(prefix))
        if 0 < size - overhead - payload < overhead:
            payload -= overhead  # leave enough for the last segment's own header
        filler = (PADDING * (payload // len(PADDING) + 1))[:payload]
        segments.append(_jpeg_segment(0xE1, prefix + filler))
        size -= overhead + payload
    return b"".join(segments)


def _insert_after_jpeg_headers(data: bytes, segments: bytes) -> bytes:
    """`data` with `segments` inserted after its leading APP segments (JFIF, EXIF, ...)."""
    position = 2  # after SOI
    while data[position] == 0xFF and 0xE0 <= data[position + 1] <= 0xEF:
        position += 2 + struct.unpack(">H", data[position + 2 : position + 4])[0]
    return data[:position] + segments + data[position:]


def _gif_patch(left: int, top: int) -> bytes:
    """A GIF frame that paints one green pixel at (left, top)."""
    control = b"\x21\xf9\x04\x00\x0a\x00\x00\x00"  # 0.1 s, no disposal, no transparency
    descriptor = b"\x2c" + struct.pack("<HHHHB", left, top, 1, 1, 0)
    # LZW with 2-bit minimum code size: clear (4), colour index 2, end (5), in 3-bit codes.
    return control + descriptor + b"\x02\x02\x54\x01\x00"


def _png(header: bytes, idat: bytes) -> bytes:
    """A PNG file of one IHDR `header` and one IDAT chunk."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _srgb_decode(value: float) -> float:
    """The sRGB tone curve: encoded value to linear light."""
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def _icc_xyz(x: float, y: float, z: float) -> bytes:
    """An ICC XYZType tag of one s15Fixed16 colour."""
    return b"XYZ " + bytes(4) + struct.pack(">3i", *(round(v * 65536) for v in (x, y, z)))


def _icc_text_description(text: str) -> bytes:
    """An ICC v2 textDescriptionType tag with ASCII text only."""
    ascii_text = text.encode() + b"\x00"
    return (
        b"desc"
        + bytes(4)
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + struct.pack(">II", 0, 0)  # no Unicode description
        + struct.pack(">HB", 0, 0)  # no ScriptCode description
        + bytes(67)
    )


def padded_png(png_data: bytes, padding: int) -> bytes:
    """`png_data` with a private chunk of `padding` zero bytes after its pixels, before IEND:
    metadata decoders skip, and a way to bring a small PNG up to the upload limit."""
    return png_data[:-12] + _png_chunk(b"bnCh", bytes(padding)) + png_data[-12:]
