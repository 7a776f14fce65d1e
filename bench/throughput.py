"""Item 1 and 2 of issue 15: pages served per second against a trivial view of the same server.

gunicorn with 2 sync workers on the 100,000-post database, writing production's access log
(deploy/gunicorn.conf.py: one line per request to its output) for every page, the reference
included; wrk with 2 threads and 16 connections, as a burst of readers. Each page is measured
in rounds that alternate with the trivial view's, so a busy moment on the shared machine hurts
both alike.

Imports models: import this module only once Django is set up.
"""

import re
import statistics
import subprocess

import requests

from activity.selectors import PAGE_SIZE as ACTIVITY_PAGE_SIZE
from bench import data
from bench.report import Row
from bench.stack import Server, gunicorn
from bench.urlconf import TRIVIAL_PATH

ROUNDS = 3
ROUND_SECONDS = 4
WARM_UP_SECONDS = 2
MIN_RATIO = 0.2
PAGES = {
    "feed": ("/", 'class="card post"', 12),
    "profile": (f"/{data.PROFILE}/", 'class="grid__item"', 24),
    "post": (f"/p/{data.DETAIL_CODE}/", 'class="comment"', data.COMMENTS),
    "activity": ("/accounts/activity/", 'class="activity__entry', ACTIVITY_PAGE_SIZE),
}


def wrk(url: str, cookie: str, seconds: int) -> float:
    """Requests per second wrk gets from ``url``; every answer must be a 200."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "10s"]
    command += ["-H", f"Cookie: sessionid={cookie}", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert "Non-2xx" not in output and "Socket errors" not in output, output
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])


def rates(server: Server, cookie: str) -> dict[str, float]:
    """Requests per second of each page and of the trivial view, from alternating rounds."""
    for name, (path, marker, count) in PAGES.items():
        page = requests.get(server.url + path, cookies={"sessionid": cookie}, timeout=30)
        assert page.status_code == 200 and page.text.count(marker) == count, (name, path)
    urls = {name: server.url + path for name, (path, _, _) in PAGES.items()}
    urls["trivial view"] = server.url + TRIVIAL_PATH
    for url in urls.values():
        wrk(url, cookie, WARM_UP_SECONDS)
    found: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(ROUNDS):
        for name, url in urls.items():
            found[name].append(wrk(url, cookie, ROUND_SECONDS))
    return {name: statistics.median(values) for name, values in found.items()}


def run(env: dict[str, str], cookie: str) -> tuple[list[Row], dict]:
    """``cookie`` is the reader's session in the database ``env`` names; the reader's activity
    is added to it first (data.activity)."""
    data.activity(env["DATABASE_URL"])
    with gunicorn(env) as server:
        found = rates(server, cookie)
    trivial = found["trivial view"]
    rows = [
        Row(
            name=f"{name.capitalize()} page throughput, gunicorn 2 workers, access log",
            measured=f"{found[name]:.0f} req/s",
            reference=f"{trivial:.0f} req/s trivial view",
            ratio=found[name] / trivial,
            target=f"≥ {MIN_RATIO}",
            met=found[name] / trivial >= MIN_RATIO,
        )
        for name in PAGES
    ]
    return rows, {"requests_per_second": found}
