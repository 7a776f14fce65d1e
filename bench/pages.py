"""Items 2 and 3: queries per page at 10, 1,000 and 100,000 posts, and latency at scale.

Pages are rendered in this process through Django's test client, with production's settings
and media on S3 (moto), so a page's time includes signing its photo URLs. Latency at 100,000
posts is compared with 1,000 posts in two databases that exist side by side, measured in
alternating rounds so that a busy moment on the machine hurts both alike. EXPLAIN (ANALYZE,
BUFFERS) of every query on the big database shows which indexes serve it.

Imports models: import this module only once Django is set up.
"""

import cProfile
import pstats
import re
import statistics
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench import data
from bench.report import Row, median_ms
from config import prepared
from members.models import User

FEED = "/"
PROFILE = f"/{data.PROFILE}/"
DETAIL = f"/p/{data.DETAIL_CODE}/"
PAGES = {"feed": FEED, "profile": PROFILE, "post": DETAIL}
SIZES = (10, 1_000, 100_000)
SCALE_SMALL, SCALE_LARGE = 1_000, 100_000
MAX_QUERIES = 6
MAX_SCALE_RATIO = 1.3
ROUNDS = 6
REQUESTS_PER_ROUND = 8
PROFILED_REQUESTS = 20
# Where a feed page's time goes: (file name ending, function) whose cumulative time counts.
PROFILED = {
    "rendering templates": ("django/shortcuts.py", "render"),
    "{% url %} and get_absolute_url (reverse)": ("django/urls/base.py", "reverse"),
    "signing photo URLs (MediaStorage.url)": ("config/storage.py", "url"),
    "queries: ORM and PostgreSQL": ("db/models/query.py", "_fetch_all"),
    "waiting for PostgreSQL": ("~", "<method 'execute' of 'psycopg2.extensions.cursor' objects>"),
}
# Tables that grow with the posts: a sequential scan of one of them is a page that slows down.
BIG_TABLES = ("posts_post", "posts_postimage", "posts_like", "posts_comment")
_SCAN = re.compile(
    r"(Seq Scan|Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)?(?: using)? (?:on )?"
    r"(\w+)(?: on (\w+))?"
)


@contextmanager
def using(url: str) -> Iterator[None]:
    """Point Django's default connection at the database in ``url`` for the block."""
    connection.close()
    connection.settings_dict["NAME"] = urlsplit(url).path.lstrip("/")
    try:
        yield
    finally:
        connection.close()


def prepare(url: str, *, posts: int) -> None:
    """Migrate an empty database and fill it with the members and ``posts`` posts."""
    with using(url):
        call_command("migrate", verbosity=0)
    data.people(url)
    data.posts(url, now=0, total=posts)


def reader_client() -> Client:
    """A test client logged in as the reader, in the current database."""
    client = Client()
    client.force_login(User.objects.get(pk=data.READER))
    return client


def query_counts(client: Client) -> dict[str, int]:
    """How many SQL queries each page runs."""
    counts = {}
    for name, path in PAGES.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts[name] = len(queries)
    return counts


def plans(client: Client) -> dict[str, list[dict]]:
    """Each page's queries with the scans EXPLAIN (ANALYZE, BUFFERS) finds and their time."""
    return {name: explain(client, path) for name, path in PAGES.items()}


def explain(client: Client, path: str) -> list[dict]:
    """The queries of the page at ``path``, each with its plan, scans and execution time."""
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    found = []
    for query in queries.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plan = [line for (line,) in cursor.fetchall()]
        found.append(
            {
                "query": _summary(prepared.sql_of(query["sql"])),
                "scans": [_scan(match) for line in plan if (match := _SCAN.search(line))],
                "execution_ms": float(re.search(r"Execution Time: ([\d.]+)", plan[-1])[1]),
                "plan": plan,
            }
        )
    return found


def big_table_scans(queries: list[dict]) -> list[str]:
    """The sequential scans of tables that grow with the posts, in explained queries."""
    return [
        scan
        for query in queries
        for scan in query["scans"]
        if scan.startswith("Seq Scan") and scan.split()[-1] in BIG_TABLES
    ]


def _scan(match: re.Match) -> str:
    """'Seq Scan of posts_post' or 'Index Scan of posts_post by post_recent'."""
    kind, first, second = match.groups()
    if kind == "Seq Scan":
        return f"{kind} of {first}"
    if kind == "Bitmap Index Scan":
        return f"{kind} by {first}"
    return f"{kind} of {second} by {first}"


def _summary(sql: str) -> str:
    """The table a query reads and its LIMIT, outside subqueries: enough to tell them apart."""
    depth, outer = 0, []
    for part in re.split(r"([()])", sql):
        depth += {"(": 1, ")": -1}.get(part, 0)
        if depth == 0:
            outer.append(part)
    top = "".join(outer)
    # A window-function prefetch wraps its query in another: then name the inner table.
    table = re.search(r'FROM "(\w+)"', top) or re.search(r'FROM "(\w+)"', sql)
    limit = re.search(r"LIMIT (\d+)", top)
    return table[1] + (f" LIMIT {limit[1]}" if limit else "")


def feed_profile(client: Client) -> dict[str, float]:
    """The share of a feed page's time spent in each of PROFILED, under cProfile."""
    profile = cProfile.Profile()
    profile.runcall(lambda: [client.get(FEED) for _ in range(PROFILED_REQUESTS)])
    stats = pstats.Stats(profile)
    return {
        name: sum(
            cumulative
            for (path, _, function), (_, _, _, cumulative, _) in stats.stats.items()
            if path.endswith(ending) and function == wanted
        )
        / stats.total_tt
        for name, (ending, wanted) in PROFILED.items()
    }


def latencies(urls: dict[int, str], clients: dict[int, Client]) -> dict[int, dict[str, float]]:
    """Median milliseconds per page for each database, from alternating rounds."""
    samples: dict[tuple[int, str], list[float]] = defaultdict(list)
    for _ in range(ROUNDS):
        for size, url in urls.items():
            with using(url):
                for name, path in PAGES.items():
                    clients[size].get(path)  # a fresh connection and warm caches
                    samples[size, name].append(
                        median_ms(lambda path=path, size=size: clients[size].get(path),
                                  REQUESTS_PER_ROUND)
                    )  # fmt: skip
    return {size: {name: statistics.median(samples[size, name]) for name in PAGES} for size in urls}


def run(small_url: str, large_url: str) -> tuple[list[Row], dict]:
    """Fill both databases, count queries on the way, then time pages and explain them."""
    counts: dict[int, dict[str, int]] = {}
    clients: dict[int, Client] = {}
    prepare(small_url, posts=SIZES[0])
    with using(small_url):
        counts[SIZES[0]] = query_counts(reader_client())
    data.posts(small_url, now=SIZES[0], total=SIZES[1])
    with using(small_url):
        clients[SCALE_SMALL] = reader_client()
        counts[SIZES[1]] = query_counts(clients[SCALE_SMALL])
    prepare(large_url, posts=SIZES[2])
    with using(large_url):
        clients[SCALE_LARGE] = reader_client()
        counts[SIZES[2]] = query_counts(clients[SCALE_LARGE])
        explained = plans(clients[SCALE_LARGE])
        profiled = feed_profile(clients[SCALE_LARGE])

    timed = latencies({SCALE_SMALL: small_url, SCALE_LARGE: large_url}, clients)
    rows = []
    for name in PAGES:
        per_size = [counts[size][name] for size in SIZES]
        limit = MAX_QUERIES if name == "feed" else None
        rows.append(
            Row(
                name=f"Queries per {name} page",
                measured=" / ".join(str(n) for n in per_size) + " at "
                + " / ".join(f"{size:,}" for size in SIZES) + " posts",
                reference="the same count at every size",
                ratio=None,
                target=f"same, at most {limit}" if limit else "same",
                met=len(set(per_size)) == 1 and (limit is None or per_size[0] <= limit),
            )
        )  # fmt: skip
    slow_scans = [
        f"{name}: {scan}"
        for name, queries in explained.items()
        for scan in big_table_scans(queries)
    ]
    for name in PAGES:
        small, large = timed[SCALE_SMALL][name], timed[SCALE_LARGE][name]
        rows.append(
            Row(
                name=f"{name.capitalize()} latency at 100,000 posts, 1,000,000 likes",
                measured=f"{large:.1f} ms",
                reference=f"{small:.1f} ms at 1,000 posts",
                ratio=large / small,
                target=f"≤ {MAX_SCALE_RATIO}, no sequential scan of a big table",
                met=large / small <= MAX_SCALE_RATIO and not slow_scans,
            )
        )
    details = {
        "query_counts": counts,
        "latency_ms": timed,
        "explain": explained,
        "feed_time_shares": profiled,
        "sequential_scans_of_big_tables": slow_scans,
        "data": {
            "users": data.USERS,
            "authors": data.AUTHORS,
            "photos_per_post": data.PHOTOS,
            "likes_per_post": data.LIKES,
            "comments_per_post": data.COMMENTS,
        },
    }
    return rows, details


def profile_lines(shares: dict[str, float]) -> list[str]:
    """Where the feed page's time goes, as shares of it."""
    return [f"{name}: {share:.0%}" for name, share in shares.items()]


def plan_lines(explained: dict[str, list[dict]]) -> list[str]:
    """The plans' key lines: per query, the scans and indexes used and the execution time."""
    lines = []
    for name, queries in explained.items():
        for number, query in enumerate(queries, 1):
            scans = "; ".join(query["scans"]) or "no table scan"
            lines.append(
                f"{name} {number}. {query['query']}: {scans} ({query['execution_ms']:.2f} ms)"
            )
    return lines
