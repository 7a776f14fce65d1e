"""Item 4: the cost of one photo URL, MediaStorage against botocore's presigning.

Both sign GET URLs for the same object names with the same storage (the bench's, on moto):
MediaStorage.url() as pages call it, and django-storages' own S3Storage.url(), which asks
botocore. Then the reader's feed is rendered with each backend in turn, to show what the
difference is worth to a page. Contenders take turns in several rounds; the medians count.
"""

import statistics
import time
from collections.abc import Callable

from django.conf import settings
from django.core.files.storage import default_storage
from django.test import Client, override_settings
from storages.backends.s3 import S3Storage

from bench.pages import FEED
from bench.report import Row, median_ms

BOTOCORE_BACKEND = "storages.backends.s3.S3Storage"
NAMES = 64
ROUNDS = 7
FAST_CALLS = 20_000
BOTOCORE_CALLS = 1_000
TARGET_US = 20.0
PAGE_REQUESTS = 8


def _per_call_us(sign: Callable[[str], str], names: list[str], calls: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        sign(names[i % len(names)])
    return (time.perf_counter() - start) / calls * 1e6


def feed_ms(client: Client) -> dict[str, float]:
    """Median feed page milliseconds with MediaStorage and with django-storages' S3Storage."""
    media = settings.STORAGES["default"]
    botocore = {**settings.STORAGES, "default": {**media, "BACKEND": BOTOCORE_BACKEND}}
    backends = {"MediaStorage": settings.STORAGES, "botocore presign": botocore}
    samples: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(ROUNDS):
        for name, storages in backends.items():
            with override_settings(STORAGES=storages):
                client.get(FEED)  # a fresh storage: its client and signing key
                samples[name].append(median_ms(lambda: client.get(FEED), PAGE_REQUESTS))
    return {name: statistics.median(values) for name, values in samples.items()}


def run(client: Client) -> tuple[list[Row], dict]:
    """``client`` is logged in as the reader of a filled database."""
    storage = default_storage
    names = [f"posts/{i:032x}.jpg" for i in range(NAMES)]
    contenders = {
        "MediaStorage.url": (storage.url, FAST_CALLS),
        "botocore presign": (lambda name: S3Storage.url(storage, name), BOTOCORE_CALLS),
    }
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for sign, _ in contenders.values():
        sign(names[0])  # warm up: the client, the signing key
    for _ in range(ROUNDS):
        for name, (sign, calls) in contenders.items():
            samples[name].append(_per_call_us(sign, names, calls))
    fast, botocore = (statistics.median(samples[name]) for name in contenders)
    pages = feed_ms(client)
    per_page = client.get(FEED).content.count(b"X-Amz-Signature=")
    rows = [
        Row(
            name="Presign one photo URL",
            measured=f"{fast:.1f} µs",
            reference=f"{botocore:.0f} µs botocore",
            ratio=fast / botocore,
            target=f"≤ {TARGET_US:.0f} µs, byte-identical (tested)",
            met=fast <= TARGET_US,
        ),
        Row(
            name=f"Feed page latency, {per_page} signed URLs",
            measured=f"{pages['MediaStorage']:.1f} ms",
            reference=f"{pages['botocore presign']:.1f} ms presigning with botocore",
            ratio=pages["MediaStorage"] / pages["botocore presign"],
            target="report",
            met=None,
        ),
    ]
    details = {
        "median_us_per_url": {"MediaStorage.url": fast, "botocore presign": botocore},
        "samples_us": samples,
        "urls_per_feed_page": per_page,
        "feed_page_ms": pages,
    }
    return rows, details
