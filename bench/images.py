"""Item 5: post_renditions on a 12-megapixel JPEG against a plain Pillow draft-mode reference.

All three contenders make the same two JPEGs (a 1080 px wide display image and a 640 px
square thumbnail) with the same encoder settings, in the same process, taking turns:
- post_renditions: the real thing, with every check, orientation and colour step;
- draft reference: Pillow's JPEG draft mode, then resize and encode, nothing else;
- naive: a full-size decode, then resize and encode.
The target is post_renditions at most 1.2x the draft reference.
"""

import io
import statistics
import time
from collections.abc import Callable

from PIL import Image, features

from bench.report import Row, median_ms
from posts import images
from tests import imagefactory

WIDTH, HEIGHT = 4000, 3000
SOURCE_QUALITY = 90
NOISE = 12  # grain strength: makes a 4-5 MB file, about what a phone writes at this size
TARGET_RATIO = 1.2
RUNS = 15


def draft_reference(data: bytes) -> tuple[bytes, bytes]:
    """Draft-mode decode at the display size, then resize and encode: the floor to compare to."""
    image = Image.open(io.BytesIO(data))
    display_height = round(images.DISPLAY_MAX_WIDTH * image.height / image.width)
    image.draft("RGB", (images.DISPLAY_MAX_WIDTH, display_height))
    return _resize_and_encode(image, display_height)


def naive(data: bytes) -> tuple[bytes, bytes]:
    """Full-size decode, then resize and encode."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return _resize_and_encode(image, round(images.DISPLAY_MAX_WIDTH * image.height / image.width))


def _resize_and_encode(image: Image.Image, display_height: int) -> tuple[bytes, bytes]:
    """The display image and the centred square thumbnail, encoded as post_renditions does."""
    display = image.resize((images.DISPLAY_MAX_WIDTH, display_height), Image.Resampling.LANCZOS)
    side = min(image.size)
    left, top = (image.width - side) / 2, (image.height - side) / 2
    thumbnail = image.resize(
        (images.THUMBNAIL_SIZE, images.THUMBNAIL_SIZE),
        Image.Resampling.LANCZOS,
        box=(left, top, left + side, top + side),
    )
    return _jpeg(display, images.DISPLAY_QUALITY), _jpeg(thumbnail, images.THUMBNAIL_QUALITY)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    """`image` as a JPEG with post_renditions' encoder settings."""
    buffer = io.BytesIO()
    image.save(
        buffer, "JPEG", quality=quality, optimize=True, progressive=True, subsampling="4:2:0"
    )
    return buffer.getvalue()


def measure(contenders: dict[str, Callable[[bytes], object]], data: bytes, runs: int) -> dict:
    """Median and minimum milliseconds per contender, over `runs` interleaved runs each."""
    for contender in contenders.values():
        contender(data)  # warm up: imports, plugin registration, caches
    timings: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(runs):
        for name, contender in contenders.items():
            start = time.perf_counter()
            contender(data)
            timings[name].append((time.perf_counter() - start) * 1000)
    return {
        name: {"median_ms": statistics.median(values), "min_ms": min(values)}
        for name, values in timings.items()
    }


def photo() -> bytes:
    """The 12-megapixel JPEG every image and upload benchmark starts from."""
    return imagefactory.jpeg(WIDTH, HEIGHT, noise=NOISE, quality=SOURCE_QUALITY)


def run(data: bytes, runs: int = RUNS) -> tuple[list[Row], dict]:
    """Time the contenders on ``data`` (a photo()); the table's row and the details."""
    results = measure(
        {
            "post_renditions": images.post_renditions,
            "draft reference": draft_reference,
            "naive full decode": naive,
        },
        data,
        runs,
    )
    reference = results["draft reference"]["median_ms"]
    for result in results.values():
        result["ratio_to_reference"] = result["median_ms"] / reference
    ratio = results["post_renditions"]["ratio_to_reference"]
    naive_ratio = results["naive full decode"]["ratio_to_reference"]
    row = Row(
        name="Image pipeline, 12 MP JPEG to both renditions",
        measured=f"{results['post_renditions']['median_ms']:.0f} ms",
        reference=f"{reference:.0f} ms draft mode (naive full decode: {naive_ratio:.2f}x)",
        ratio=ratio,
        target=f"≤ {TARGET_RATIO}",
        met=ratio <= TARGET_RATIO,
    )
    details = {
        "source": {"width": WIDTH, "height": HEIGHT, "quality": SOURCE_QUALITY, "bytes": len(data)},
        "runs": runs,
        "results": results,
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "pillow": Image.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
    }
    hostile_rows, hostile = hostile_inputs()
    return [row, *hostile_rows], {**details, "hostile": hostile}


HOSTILE_RUNS = 5
HOSTILE_TARGET_MS = 500  # a refusal or a first frame must not hold a worker for long


def first_frame(data: bytes) -> None:
    """Pillow's floor for an animation: open it and decode its first frame, nothing else."""
    Image.open(io.BytesIO(data)).load()


def _refused(action: Callable[[], object], error: type[Exception]) -> None:
    try:
        action()
    except error:
        return
    raise AssertionError("the decompression bomb was accepted")


def hostile_inputs() -> tuple[list[Row], dict]:
    """Hostile uploads: a 400-megapixel PNG bomb refused from its header, and the first frame of
    a 20,000-frame GIF; against Pillow's own refusal of the bomb, and its decoding of the GIF's
    first frame alone."""
    bomb = imagefactory.png_bomb(20_000, 20_000)
    animation = imagefactory.gif(800, 600, frames=20_000)
    cases = {
        "bomb": (
            lambda: _refused(lambda: images.post_renditions(bomb), images.ImageError),
            lambda: _refused(lambda: Image.open(io.BytesIO(bomb)), Image.DecompressionBombError),
        ),
        "gif": (lambda: images.post_renditions(animation), lambda: first_frame(animation)),
    }
    figures = {}
    for name, (action, reference) in cases.items():
        action()  # warm up
        figures[name] = {
            "median_ms": median_ms(action, HOSTILE_RUNS),
            "reference_ms": median_ms(reference, HOSTILE_RUNS),
        }
    bomb_ms, gif_ms = figures["bomb"], figures["gif"]
    rows = [
        Row(
            name="Refuse a 20,000 x 20,000 PNG bomb (400 MP)",
            measured=f"{bomb_ms['median_ms']:.2f} ms",
            reference=f"{bomb_ms['reference_ms']:.2f} ms Pillow refusing it on opening",
            ratio=None,
            target=f"≤ {HOSTILE_TARGET_MS} ms, nothing decoded (tested)",
            met=bomb_ms["median_ms"] <= HOSTILE_TARGET_MS,
        ),
        Row(
            name="A 20,000-frame GIF to both renditions",
            measured=f"{gif_ms['median_ms']:.0f} ms",
            reference=f"{gif_ms['reference_ms']:.0f} ms Pillow decoding its first frame",
            ratio=None,
            target=f"≤ {HOSTILE_TARGET_MS} ms, first frame only (tested)",
            met=gif_ms["median_ms"] <= HOSTILE_TARGET_MS,
        ),
    ]
    return rows, {"runs": HOSTILE_RUNS, "target_ms": HOSTILE_TARGET_MS, **figures}
