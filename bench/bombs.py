"""Item 8: decompression bombs against gunicorn with two sync workers, as in production.

The cheap attack from issue 11: ten lossless WebPs of 2 KB each, 7071 x 7071 pixels (50
megapixels, just under the per-photo limit), in one post. Measured:
- one such post: its wall time, the serving worker's peak RSS (VmHWM) and its RSS once the
  response is back (what the worker keeps);
- two such posts at once, and a log-in page asked for while they run: how long it waits;
- the largest post the per-request budget allows, made of the same photos.

Imports models: import this module only once Django is set up.
"""

import io
import re
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from PIL import Image

from bench.report import Row
from bench.rss import peak_during, status_mb
from bench.stack import Server, gunicorn
from posts import images

SIDE = 7071  # 7071 x 7071 = 49,999,041 pixels
NEW_POST = "/posts/new/"
LOGIN = "/accounts/login/"
# What a log-in page may take while two bomb posts are being refused, and what one may keep.
MAX_LOGIN_SECONDS = 1.0
MAX_KEPT_MB = 200


def bomb() -> bytes:
    """A flat 50-megapixel lossless WebP: about 2 KB."""
    buffer = io.BytesIO()
    Image.new("RGB", (SIDE, SIDE), (200, 120, 40)).save(buffer, "WEBP", lossless=True)
    return buffer.getvalue()


class Poster(requests.Session):
    """The reader, logged in with a session cookie, sharing posts as the page's script does."""

    def __init__(self, server: Server, session_cookie: str):
        super().__init__()
        self.base = server.url
        self.cookies.set("sessionid", session_cookie)
        form = self.get(self.base + NEW_POST, timeout=30).text
        self.token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]

    def share(self, photos: list[bytes]) -> tuple[int, float]:
        """The answer's status and the seconds it took."""
        files = [("photos", (f"b{i}.webp", photo, "image/webp")) for i, photo in enumerate(photos)]
        started = time.perf_counter()
        response = self.post(
            self.base + NEW_POST,
            data={"csrfmiddlewaretoken": self.token, "caption": "bomb"},
            files=files,
            headers={"Accept": "application/json", "Referer": self.base + NEW_POST},
            timeout=300,
        )
        return response.status_code, time.perf_counter() - started


def one_post(env: dict[str, str], cookie: str, photos: list[bytes]) -> dict[str, float]:
    """One post on a fresh server: status, seconds, and the serving worker's RSS."""
    with gunicorn(env) as server:
        poster = Poster(server, cookie)
        workers = server.worker_pids()
        with peak_during(workers) as peaks:
            status, seconds = poster.share(photos)
            time.sleep(1)
        served = max(workers, key=lambda pid: peaks[pid]["peak_mb"] - peaks[pid]["before_mb"])
        return {
            "status": status,
            "seconds": seconds,
            "rss_before_mb": peaks[served]["before_mb"],
            "peak_rss_mb": peaks[served]["peak_mb"],
            "rss_after_mb": status_mb(served, "VmRSS"),
        }


def login_during_two(env: dict[str, str], cookie: str, photos: list[bytes]) -> dict[str, float]:
    """Two posts at once; a log-in page asked for 0.3 s later: the seconds each took."""
    with gunicorn(env) as server, ThreadPoolExecutor(2) as pool:
        posters = [Poster(server, cookie) for _ in range(2)]
        posts = [pool.submit(poster.share, photos) for poster in posters]
        time.sleep(0.3)
        started = time.perf_counter()
        assert requests.get(server.url + LOGIN, timeout=300).status_code == 200
        login = time.perf_counter() - started
        answers = [post.result() for post in posts]
    return {
        "login_seconds": login,
        "post_seconds": max(seconds for _, seconds in answers),
        "statuses": sorted(status for status, _ in answers),
    }


def run(env: dict[str, str], cookie: str) -> tuple[list[Row], dict]:
    photo = bomb()
    attack = [photo] * 10
    allowed = [photo] * (images.REQUEST_MAX_PIXELS // (SIDE * SIDE))
    found = {
        "photo_bytes": len(photo),
        "attack": one_post(env, cookie, attack),
        "two_at_once": login_during_two(env, cookie, attack),
        "largest_allowed": {"photos": len(allowed), **one_post(env, cookie, allowed)},
    }
    attack, two, largest = found["attack"], found["two_at_once"], found["largest_allowed"]
    rows = [
        Row(
            name=f"10 x {SIDE}x{SIDE} lossless WebP ({len(photo):,} B each), one post",
            measured=f"{attack['seconds']:.2f} s, answer {attack['status']:.0f}",
            reference=f"largest allowed ({largest['photos']} of them): {largest['seconds']:.2f} s",
            ratio=None,
            target="refused before decoding",
            met=attack["status"] == 400,
        ),
        Row(
            name="Log-in page while two such posts run",
            measured=f"{two['login_seconds']:.2f} s",
            reference=f"posts answered in {two['post_seconds']:.2f} s",
            ratio=None,
            target=f"≤ {MAX_LOGIN_SECONDS} s",
            met=two["login_seconds"] <= MAX_LOGIN_SECONDS,
        ),
        Row(
            name="Worker RSS kept after the largest allowed post",
            measured=f"{largest['rss_after_mb']:.0f} MB (peak {largest['peak_rss_mb']:.0f} MB)",
            reference=f"{largest['rss_before_mb']:.0f} MB before",
            ratio=None,
            target=f"< {MAX_KEPT_MB} MB",
            met=largest["rss_after_mb"] < MAX_KEPT_MB,
        ),
    ]
    return rows, found


def lines(found: dict) -> list[str]:
    """Each case's figures, for the notes under the table."""
    out = []
    for case in ("attack", "largest_allowed"):
        f = found[case]
        out.append(
            f"{case}: answer {f['status']:.0f} in {f['seconds']:.2f} s; worker RSS "
            f"{f['rss_before_mb']:.0f} MB before, peak {f['peak_rss_mb']:.0f} MB, "
            f"{f['rss_after_mb']:.0f} MB after"
        )
    two = found["two_at_once"]
    out.append(
        f"two at once: answers {two['statuses']} within {two['post_seconds']:.2f} s; "
        f"log-in page {two['login_seconds']:.2f} s"
    )
    return out
