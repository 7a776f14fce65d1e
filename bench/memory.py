"""Issue 15, target 4: memory on the seed's server (1 GiB), with production's gunicorn settings.

1. The worst single upload, for every accepted format at its limit (and an everyday 12 MP
   JPEG): one photo per post, each on a fresh one-worker server; the worker's peak RSS
   (VmHWM) and that of the decode process it starts for a large photo (posts/isolated.py),
   against the 300 MB target.
2. A burst: five members each posting ten 48-megapixel photos at once (fifty single-photo
   posts in flight; a post of ten would be refused by the per-request pixel budget) against
   five workers, while a reader asks for the feed every half second. The uploader sends a post
   again after Retry-After when it is answered 429 "busy", as the page's script does. Measured:
   the app's total memory (the gunicorn master, its workers and any process they start) as
   the sum of PSS, sampled every 0.1 s; answers that were 5xx or dropped connections; the
   slowest feed page; and each worker's RSS before and after (what it kept).

The measuring of a process's memory is shared with bench/server.py and bench/bombs.py.
Imports models: import this module only once Django is set up.
"""

import io
import re
import statistics
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pillow_heif
import requests
from django.test import Client
from PIL import Image

from bench.report import RESULTS, Row
from bench.rss import family, peak_during, rollup_mb, status_mb
from bench.stack import Server, gunicorn
from members.models import User
from posts.images import MAX_UPLOAD_BYTES

MAX_WORKER_MB = 300
MAX_TOTAL_MB = 750
MAX_PAGE_SECONDS = 3.0
# A worker "gives the memory back" when it ends the burst within this much of where it began.
MAX_KEPT_MB = 50
WORKERS = 5
MEMBERS = 5
PHOTOS_EACH = 10
LIMIT = (8192, 6100)  # 49,971,200 pixels: just under the 50-megapixel limit
IPHONE_48MP = (8064, 6048)  # what an iPhone 14 Pro or later writes in 48 MP mode
NEW_POST = "/posts/new/"
INPUTS = RESULTS / "inputs"  # the generated photos, kept between runs (HEIC takes a while)
COLOUR = (200, 120, 40)


# --- The photos -------------------------------------------------------------------------------


def _cached(name: str, make) -> bytes:
    path = INPUTS / name
    if not path.exists():
        INPUTS.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make())
    return path.read_bytes()


def _saved(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    if format == "HEIF":
        pillow_heif.from_pillow(image).save(buffer, quality=90)
    else:
        image.save(buffer, format, **options)
    return buffer.getvalue()


def _gradient(size: tuple[int, int]) -> Image.Image:
    """Rows of a 256-step gradient: more colours than a palette holds, so a lossless WebP
    cannot be packed and libwebp holds every pixel, as for a real photo."""
    band = Image.linear_gradient("L").resize((size[0], 64)).convert("RGB")
    image = Image.new("RGB", size)
    for top in range(0, size[1], 64):
        image.paste(band, (0, top))
    return image


def padded_png(png: bytes) -> bytes:
    """``png`` grown to the upload limit with a private chunk that decoders skip, as metadata is:
    the worker holds the whole upload while it is processed."""
    payload = bytes(MAX_UPLOAD_BYTES - len(png) - 12 - 1024)
    kind = b"bnCh"  # ancillary, private, safe to copy
    chunk = struct.pack(">I", len(payload)) + kind + payload
    chunk += struct.pack(">I", zlib.crc32(kind + payload))
    return png[:-12] + chunk + png[-12:]  # before IEND, the last 12 bytes


def photos_at_the_limits(photo: bytes) -> dict[str, tuple[str, bytes, str]]:
    """An everyday 12 MP JPEG (``photo``), then for each accepted format the photo that costs
    the most memory to accept: the largest pixel count allowed, in the mode that decodes
    largest; (file name, bytes, content type)."""
    flat = lambda mode: Image.new(mode, LIMIT, (*COLOUR, 0)[: len(mode)])  # noqa: E731
    return {
        "12 MP JPEG (everyday)": ("photo.jpg", photo, "image/jpeg"),
        "JPEG, 50 MP": (
            "limit.jpg",
            _cached("limit.jpg", lambda: _saved(flat("RGB"), "JPEG", quality=90)),
            "image/jpeg",
        ),
        "PNG, 50 MP RGBA, 20 MB": (
            "limit.png",
            padded_png(_cached("limit-rgba.png", lambda: _saved(flat("RGBA"), "PNG"))),
            "image/png",
        ),
        "WebP, 50 MP lossless": (
            "limit.webp",
            _cached(
                "limit.webp", lambda: _saved(_gradient(LIMIT), "WEBP", lossless=True, method=2)
            ),
            "image/webp",
        ),
        "GIF, 50 MP": (
            "limit.gif",
            _cached("limit.gif", lambda: _saved(Image.new("P", LIMIT, 1), "GIF")),
            "image/gif",
        ),
        "HEIC, 48 MP (iPhone)": (
            "iphone.heic",
            _cached("iphone.heic", lambda: _saved(Image.new("RGB", IPHONE_48MP, COLOUR), "HEIF")),
            "image/heic",
        ),
    }


def burst_photo() -> bytes:
    """The burst's photo: a flat 48 MP RGBA PNG of about 200 KB, which decodes to 190 MB."""
    return _cached("burst.png", lambda: _saved(Image.new("RGBA", IPHONE_48MP, (*COLOUR, 0)), "PNG"))


# --- Sending posts ----------------------------------------------------------------------------


class Member(requests.Session):
    """A member logged in with a session cookie, sharing posts as the page's script does."""

    def __init__(self, server: Server, session_cookie: str):
        super().__init__()
        self.base = server.url
        self.cookies.set("sessionid", session_cookie)
        form = self.get(self.base + NEW_POST, timeout=60).text
        self.token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]

    def share(self, photo: tuple[str, bytes, str]) -> requests.Response:
        return self.post(
            self.base + NEW_POST,
            data={"csrfmiddlewaretoken": self.token, "caption": "burst"},
            files=[("photos", photo)],
            headers={"Accept": "application/json", "Referer": self.base + NEW_POST},
            timeout=600,
        )


@dataclass
class Outcome:
    """What one post met until it was shared or failed."""

    status: int | None = None  # the last answer's; None for a dropped connection
    busy_answers: int = 0
    seconds: float = 0.0


def share_until_done(member: Member, photo: tuple[str, bytes, str]) -> Outcome:
    """Share ``photo``, sending it again after Retry-After each time the answer is 429."""
    outcome = Outcome()
    started = time.perf_counter()
    while True:
        try:
            response = member.share(photo)
        except requests.RequestException:
            outcome.status = None
            break
        outcome.status = response.status_code
        if response.status_code != 429:
            break
        outcome.busy_answers += 1
        time.sleep(float(response.headers["Retry-After"]))
    outcome.seconds = time.perf_counter() - started
    return outcome


def sessions(count: int) -> list[str]:
    """Session cookies of ``count`` members (members 2 onwards), in the current database."""
    cookies = []
    for pk in range(2, 2 + count):
        client = Client()
        client.force_login(User.objects.get(pk=pk))
        cookies.append(client.cookies["sessionid"].value)
    return cookies


# --- 1. The worst single upload per format ----------------------------------------------------


def worst_upload(env: dict[str, str], cookie: str, photo: tuple[str, bytes, str]) -> dict:
    """One post of ``photo`` on a fresh production server with one worker: the worker's RSS
    before and at its peak, the peak of any process it started (a decode of its own,
    posts/isolated.py; its VmHWM sampled every 0.1 s until it ends), and the answer."""
    with gunicorn(env, workers=1, production=True) as server:
        member = Member(server, cookie)
        (worker,) = server.worker_pids()
        sampler = Sampler(server.pid)
        with peak_during([worker]) as peaks:
            sampler.start()
            status = member.share(photo).status_code
            sampler.stop.set()
            sampler.join()
        time.sleep(1)
        children = [mb for pid, mb in sampler.highest.items() if pid not in (server.pid, worker)]
        return {
            "status": status,
            "bytes": len(photo[1]),
            "rss_before_mb": peaks[worker]["before_mb"],
            "peak_rss_mb": peaks[worker]["peak_mb"],
            "child_peak_rss_mb": max(children, default=0.0),
            "rss_after_mb": status_mb(worker, "VmRSS"),
        }


# --- 2. The burst -----------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Sums RSS, PSS and USS over a process and its descendants every 0.1 s; keeps the peaks."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peaks = {"rss": 0.0, "pss": 0.0, "uss": 0.0, "processes": 0}
        self.highest: dict[int, float] = {}  # each process's VmHWM, last seen
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            totals = {"rss": 0.0, "pss": 0.0, "uss": 0.0}
            pids = family(self.pid)
            for pid in pids:
                try:
                    for name, value in rollup_mb(pid).items():
                        totals[name] += value
                    self.highest[pid] = status_mb(pid, "VmHWM")
                except (FileNotFoundError, ProcessLookupError, TypeError, KeyError):
                    continue  # it ended meanwhile
            for name, value in totals.items():
                self.peaks[name] = max(self.peaks[name], value)
            self.peaks["processes"] = max(self.peaks["processes"], len(pids))


class PageProbe(threading.Thread):
    """Asks for the reader's feed every half second; keeps each answer's status and time."""

    def __init__(self, server: Server, cookie: str):
        super().__init__(daemon=True)
        self.url = server.url + "/"
        self.cookie = cookie
        self.samples: list[tuple[int | None, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            started = time.perf_counter()
            try:
                status = requests.get(
                    self.url, cookies={"sessionid": self.cookie}, timeout=60
                ).status_code
            except requests.RequestException:
                status = None
            self.samples.append((status, time.perf_counter() - started))


def burst(env: dict[str, str], reader_cookie: str) -> dict:
    """Five members each sharing ten 48 MP photos at once against five workers."""
    photo = ("burst.png", burst_photo(), "image/png")
    cookies = sessions(MEMBERS)
    with gunicorn(env, workers=WORKERS, production=True) as server:
        members = [Member(server, cookie) for cookie in cookies for _ in range(PHOTOS_EACH)]
        for _ in range(3 * WORKERS):  # every worker has served a page before it is measured
            requests.get(server.url + "/", cookies={"sessionid": reader_cookie}, timeout=60)
        time.sleep(1)
        workers = server.worker_pids()
        idle = {pid: status_mb(pid, "VmRSS") for pid in workers}
        idle_total = sum(rollup_mb(pid)["pss"] for pid in family(server.pid))
        sampler, probe = Sampler(server.pid), PageProbe(server, reader_cookie)
        sampler.start()
        probe.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(len(members)) as pool:
            outcomes = list(pool.map(lambda member: share_until_done(member, photo), members))
        seconds = time.perf_counter() - started
        probe.stop.set()
        probe.join()
        time.sleep(2)
        sampler.stop.set()
        sampler.join()
        kept = {pid: status_mb(pid, "VmRSS") - idle[pid] for pid in workers}
    statuses = [outcome.status for outcome in outcomes]
    pages = [seconds for _, seconds in probe.samples]
    return {
        "posts": len(outcomes),
        "photo_bytes": len(photo[1]),
        "seconds": seconds,
        "shared": statuses.count(201),
        "failed": sum(1 for status in statuses if status is None or status >= 500),
        "other_answers": sorted({s for s in statuses if s is not None and s not in (201,)}),
        "busy_answers": sum(outcome.busy_answers for outcome in outcomes),
        "idle_total_pss_mb": idle_total,
        "peak_total_mb": sampler.peaks,
        "worker_idle_rss_mb": list(idle.values()),
        "worker_kept_mb": list(kept.values()),
        "pages": len(pages),
        "pages_not_200": sum(1 for status, _ in probe.samples if status != 200),
        "slowest_page_seconds": max(pages, default=0.0),
        "median_page_seconds": statistics.median(pages) if pages else 0.0,
    }


# --- The table --------------------------------------------------------------------------------


def run(env: dict[str, str], cookie: str, photo: bytes) -> tuple[list[Row], dict]:
    """``cookie`` is the reader's session in the database ``env`` names; ``photo`` the bench's
    12 MP JPEG."""
    formats = {
        name: worst_upload(env, cookie, upload)
        for name, upload in photos_at_the_limits(photo).items()
    }
    found = burst(env, cookie)
    rows = [_format_row(name, result) for name, result in formats.items()]
    peak = found["peak_total_mb"]
    kept = max(found["worker_kept_mb"])
    rows += [
        Row(
            name=f"Burst: {MEMBERS} x {PHOTOS_EACH} 48 MP PNGs at once, app's total memory (PSS)",
            measured=f"{peak['pss']:.0f} MB (RSS sum {peak['rss']:.0f} MB)",
            reference=f"{found['idle_total_pss_mb']:.0f} MB idle, {WORKERS} workers",
            ratio=None,
            target=f"< {MAX_TOTAL_MB} MB",
            met=peak["pss"] < MAX_TOTAL_MB,
        ),
        Row(
            name="Burst: posts failed (5xx or dropped)",
            measured=f"{found['failed']} of {found['posts']}",
            reference=f"{found['busy_answers']} busy answers (429) sent again; "
            f"all shared in {found['seconds']:.0f} s",
            ratio=None,
            target="0, every post shared",
            met=found["failed"] == 0 and found["shared"] == found["posts"],
        ),
        Row(
            name="Burst: slowest feed page meanwhile",
            measured=f"{found['slowest_page_seconds']:.2f} s",
            reference=f"median {found['median_page_seconds']:.2f} s of {found['pages']} pages",
            ratio=None,
            target=f"≤ {MAX_PAGE_SECONDS:g} s",
            met=found["slowest_page_seconds"] <= MAX_PAGE_SECONDS and found["pages_not_200"] == 0,
        ),
        Row(
            name="Burst: most a worker kept afterwards",
            measured=f"{kept:+.0f} MB",
            reference=f"{min(found['worker_idle_rss_mb']):.0f}-"
            f"{max(found['worker_idle_rss_mb']):.0f} MB idle",
            ratio=None,
            target=f"< {MAX_KEPT_MB} MB",
            met=kept < MAX_KEPT_MB,
        ),
    ]
    return rows, {"formats": formats, "burst": found}


def _format_row(name: str, result: dict) -> Row:
    """The worst single upload of one format: the largest process it took, worker or child."""
    worker, child = result["peak_rss_mb"], result["child_peak_rss_mb"]
    largest = max(worker, child)
    where = f"its own decode process {child:.0f} MB, worker" if child else "worker"
    return Row(
        name=f"Peak RSS per process, one {name} upload",
        measured=f"{largest:.0f} MB ({where} {worker:.0f} MB)",
        reference=f"worker {result['rss_before_mb']:.0f} MB before",
        ratio=None,
        target=f"< {MAX_WORKER_MB} MB, shared (201)",
        met=largest < MAX_WORKER_MB and result["status"] == 201,
    )


def lines(found: dict) -> list[str]:
    """Each case's figures, for the notes under the table."""
    out = [
        f"{name} ({result['bytes']:,} B): answer {result['status']}, worker "
        f"{result['rss_before_mb']:.0f} MB before, peak {result['peak_rss_mb']:.0f} MB, "
        f"{result['rss_after_mb']:.0f} MB after; decode process peak "
        f"{result['child_peak_rss_mb']:.0f} MB"
        for name, result in found["formats"].items()
    ]
    b = found["burst"]
    peak = b["peak_total_mb"]
    out.append(
        f"burst: {b['posts']} posts of {b['photo_bytes']:,} B in {b['seconds']:.0f} s, "
        f"{b['shared']} shared, {b['failed']} failed, {b['busy_answers']} busy answers; "
        f"total PSS {b['idle_total_pss_mb']:.0f} MB idle, peak {peak['pss']:.0f} MB "
        f"(USS {peak['uss']:.0f}, RSS sum {peak['rss']:.0f}, {peak['processes']} processes); "
        f"feed pages {b['pages']}, median {b['median_page_seconds']:.2f} s, slowest "
        f"{b['slowest_page_seconds']:.2f} s; workers kept "
        + ", ".join(f"{mb:+.0f}" for mb in b["worker_kept_mb"])
        + " MB"
    )
    return out
