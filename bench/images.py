"""Benchmark post_renditions on a 12-megapixel JPEG against a plain Pillow draft-mode reference.

Run from the project root: .venv/bin/python bench/images.py [--runs N]

All three contenders make the same two JPEGs (a 1080 px wide display image and a 640 px
square thumbnail) with the same encoder settings, in the same process, taking turns:
- post_renditions: the real thing, with every check, orientation and colour step;
- draft reference: Pillow's JPEG draft mode, then resize and encode, nothing else;
- naive: a full-size decode, then resize and encode.
The target is post_renditions at most 1.2x the draft reference. Results also go to
bench/results/images.json.
"""

import argparse
import io
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, features

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script, this file's folder is first on the path

from posts import images  # noqa: E402
from tests import imagefactory  # noqa: E402

WIDTH, HEIGHT = 4000, 3000
SOURCE_QUALITY = 90
NOISE = 12  # grain strength: makes a 4-5 MB file, about what a phone writes at this size
TARGET_RATIO = 1.2
RESULTS = ROOT / "bench" / "results" / "images.json"


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


def main() -> None:
    """Build the photo, time the contenders, print a table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per contender")
    runs = parser.parse_args().runs

    data = imagefactory.jpeg(WIDTH, HEIGHT, noise=NOISE, quality=SOURCE_QUALITY)
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

    print(f"{WIDTH}x{HEIGHT} JPEG, quality {SOURCE_QUALITY}, {len(data) / 1e6:.1f} MB; {runs} runs")
    print(f"{'':20} {'median ms':>10} {'min ms':>8} {'x reference':>12}")
    for name, result in results.items():
        print(
            f"{name:20} {result['median_ms']:10.1f} {result['min_ms']:8.1f}"
            f" {result['ratio_to_reference']:12.2f}"
        )
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"post_renditions / draft reference = {ratio:.2f} ({verdict} target {TARGET_RATIO})")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "source": {
                    "width": WIDTH,
                    "height": HEIGHT,
                    "quality": SOURCE_QUALITY,
                    "bytes": len(data),
                },
                "runs": runs,
                "results": results,
                "ratio": ratio,
                "target_ratio": TARGET_RATIO,
                "within_target": ratio <= TARGET_RATIO,
                "python": platform.python_version(),
                "pillow": Image.__version__,
                "libjpeg_turbo": features.version("libjpeg_turbo"),
                "machine": platform.machine(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"results written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
