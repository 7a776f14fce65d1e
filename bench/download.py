"""Issue 12: "Download your data" streams its zip, so a worker's memory does not grow with the
member's posts.

Two members, one with 10 posts and one with 1,000, each post one photo (its display rendition
and thumbnail, made from the bench photo, stored in the bench bucket). Each downloads their zip
from a fresh one-worker gunicorn; the worker's peak RSS during the download (VmHWM, reset just
before it) is compared. Not part of ``bench/run --markdown``'s table: run ``bench/run download``.

Imports models: import this module only once Django is set up.
"""

import time

import requests
from django.core.management import call_command
from django.test import Client

from bench.report import Row
from bench.rss import reset_peak, status_mb
from bench.stack import gunicorn
from members.models import User
from posts.forms import Photo
from posts.images import post_renditions
from posts.services import post_create

SIZES = (10, 1000)
MAX_GROWTH_MB = 20  # 1,000 posts against 10: what "flat" allows


def member(posts: int, photo: bytes) -> User:
    """A member named for their ``posts`` posts of one stored photo each."""
    user, _ = User.objects.get_or_create(
        username=f"download_{posts}", defaults={"email": f"download_{posts}@example.com"}
    )
    # Its display rendition as each post's upload: a post then decodes 1 MP rather than 12, and
    # stores renditions of the same sizes.
    source = post_renditions(photo)[0].data
    for number in range(posts - user.posts.count()):
        alt = f"Photo {number}"
        post_create(author=user, photos=[Photo(source, alt)], caption=alt)
    return user


def download(env: dict[str, str], user: User) -> dict[str, float]:
    """Download ``user``'s zip from a fresh worker: its RSS before and peak, in MB, the zip's
    size in MB and the seconds it took."""
    client = Client()
    client.force_login(user)
    with gunicorn(env, workers=1) as server:
        browser = requests.Session()
        browser.cookies.set("sessionid", client.cookies["sessionid"].value)
        page = browser.get(server.url + "/accounts/settings/", timeout=30)
        assert page.status_code == 200, page.status_code
        (worker,) = server.worker_pids()
        before = status_mb(worker, "VmRSS")
        reset_peak(worker)
        started, size = time.perf_counter(), 0
        with browser.post(
            server.url + "/accounts/download/",
            data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            headers={"Referer": server.url + "/accounts/settings/"},
            stream=True,
            timeout=600,
        ) as response:
            assert response.status_code == 200, response.text[:300]
            for chunk in response.iter_content(1 << 20):
                size += len(chunk)
        seconds = time.perf_counter() - started
        peak = status_mb(worker, "VmHWM")
    return {
        "rss_before_mb": before,
        "peak_rss_mb": peak,
        "zip_mb": size / 1_048_576,
        "seconds": seconds,
    }


def run(env: dict[str, str], photo: bytes) -> tuple[list[Row], dict]:
    """Measure in the database ``env`` names (migrated here if it is not yet)."""
    call_command("migrate", verbosity=0)
    found = {posts: download(env, member(posts, photo)) for posts in SIZES}
    small, large = found[SIZES[0]], found[SIZES[1]]
    growth = large["peak_rss_mb"] - small["peak_rss_mb"]
    rows = [
        Row(
            name=f"Download zip, worker peak RSS, {SIZES[1]:,} posts ({large['zip_mb']:.0f} MB)",
            measured=f"{large['peak_rss_mb']:.0f} MB",
            reference=f"{small['peak_rss_mb']:.0f} MB with {SIZES[0]} posts",
            ratio=large["peak_rss_mb"] / small["peak_rss_mb"],
            target=f"< {MAX_GROWTH_MB} MB more",
            met=growth < MAX_GROWTH_MB,
        )
    ]
    return rows, {"downloads": {str(posts): figures for posts, figures in found.items()}}


def lines(details: dict) -> list[str]:
    """Each download's zip size, time, and the worker's RSS before and at its peak."""
    return [
        f"{posts} posts: {found['zip_mb']:.1f} MB zip in {found['seconds']:.1f} s, worker RSS "
        f"{found['rss_before_mb']:.0f} MB before, peak {found['peak_rss_mb']:.0f} MB"
        for posts, found in details["downloads"].items()
    ]
