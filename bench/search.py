"""Search at scale (issue 14): 300,000 members and 100,000 tags, each typical query timed.

The members and tags are made by SQL (generate_series) in a database of their own: usernames in
four styles (olivia.kim, olivia_kim, oliviakim, kim.olivia, with numbers after the first 10,000),
full names, a tenth of the accounts private, one in 97 suspended; the reader blocks 100 members
and is blocked by 100 more, and one member in 30 blocks another (10,000 blocks in all). Search's
indexes are built after the rows are in, by its own migration (as a site that already has
members would build them), and the build is timed.

Each query is timed twice, as the reader: the search itself (search_results, as many results as
the suggestions show: the figure against the target), and the whole /search/ request as the
suggestions make it (JSON through Django's test client: session, user, signed avatar URLs),
next to a request with nothing to search, and the search's CPU time (this process's and its
PostgreSQL backend's), which the machine's load does not inflate as it does wall times.
EXPLAIN (ANALYZE, BUFFERS) of each SQL query shows which indexes serve it.

Imports models: import this module only once Django is set up.
"""

import os
import re
import statistics
import time
from pathlib import Path

from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench import data
from bench.pages import _SCAN, _scan, using
from bench.report import Row, elapsed_ms
from config import prepared
from members.models import User
from search.query import query_parse
from search.selectors import search_results
from search.views import SUGGESTIONS

MEMBERS = 300_000
TAGS = 100_000
READER = 1
BLOCKED = 100
TARGET_MS = 20.0
RUNS = 25
# Searches whose CPU time is summed: /proc counts a process's CPU in ticks of 10 ms, 0.1 ms a
# search over 100 of them.
CPU_RUNS = 100
# What people type, by kind; each finds something in the data below.
QUERIES = {
    "username prefix": "mar",
    "one letter": "j",
    "full name": "Olivia Kan",
    "typo in a username": "olivia.rodrigez",
    "typo in a surname": "rodrigez",
    "#tag": "#goldensun",
    "#tag with a typo": "#goldnsunset",
    "@user": "@liam.kim",
}
FIRST = (
    "Olivia Liam Emma Noah Amelia Oliver Ava Elijah Sophia Lucas Charlotte Mason Mia Ethan "
    "Harper James Evelyn Logan Abigail Jacob Emily Michael Ella Daniel Elizabeth Henry Camila "
    "Luna Sebastian Sofia Aiden Avery Matthew Mila Samuel Aria David Scarlett Joseph Penelope "
    "Layla Owen Chloe Wyatt Victoria John Madison Jack Eleanor Julian Grace Levi Nora Maria "
    "Riley Mark Zoey Marco Hazel Marcus Lily Jun Ellie Minho Violet Yuna Lillian Seojun Zoe "
    "Hana Stella Haruto Aurora Sakura Natalie Kenji Emilia Aiko Everly Ravi Leah Priya Aubrey "
    "Arjun Willow Ana Addison Diego Lucy Mateo Bella Jisoo Audrey Theo Ezra Nina Omar Leo Iris Kai"
)
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Kang Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen "
    "Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Roberts Kim Park Choi "
    "Jung Cho Yoon Jang Lim Han Oh Seo Shin Kwon Hwang Ahn Song Yoo Hong Jeon Tanaka Suzuki "
    "Sato Takahashi Watanabe Ito Yamamoto Nakamura Kobayashi Kato Patel Shah Singh Kumar Sharma "
    "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Moreau "
    "Dubois Fischer Weber Schmidt Novak"
)
ADJECTIVES = (
    "golden blue quiet wild happy sunny misty urban little lazy rainy snowy bright dark early "
    "late salty sweet silver green red summer winter autumn spring morning evening night "
    "coastal mountain city street ocean desert forest river island northern southern old new "
    "tiny giant cozy vintage modern simple daily weekend soft"
)
NOUNS = (
    "sunset sunrise beach coffee dog cat food travel art photo vibes life style garden flowers "
    "sky clouds moon stars lake road trip hike run bike market bakery pasta ramen sushi tacos "
    "books music concert friends family wedding baby puppy kitten portrait skyline bridge "
    "train harbor snow rain light shadow waves"
)
WORDS = {"first": FIRST, "last": LAST, "adjectives": ADJECTIVES, "nouns": NOUNS}

# Usernames in four styles, numbered past the first 10,000, from the names in WORDS.
_USERNAME = """CASE n %% 4
    WHEN 0 THEN lower(f.name) || '.' || lower(l.name)
    WHEN 1 THEN lower(f.name) || '_' || lower(l.name)
    WHEN 2 THEN lower(f.name) || lower(l.name)
    ELSE lower(l.name) || '.' || lower(f.name)
END || CASE WHEN n / 10000 > 0 THEN (n / 10000)::text ELSE '' END"""
_NAMES = """
JOIN unnest(%(first)s::text[]) WITH ORDINALITY AS f(name, i) ON f.i = 1 + n %% 100
JOIN unnest(%(last)s::text[]) WITH ORDINALITY AS l(name, i) ON l.i = 1 + (n / 100) %% 100"""
_PEOPLE = data.members_sql(
    MEMBERS,
    joined_every="1 minute",
    username=_USERNAME,
    full_name="f.name || ' ' || l.name",
    active="n %% 97 <> 0",
    private="n %% 10 = 3",
    joins=_NAMES,
)
# The reader's blocks and others' (one member in 30 blocks the next), then the tags.
_OTHERS = """
INSERT INTO members_block (created, blocker_id, blocked_id)
SELECT now(), %(reader)s, n FROM generate_series(2, %(blocked)s + 1) AS n;
INSERT INTO members_block (created, blocker_id, blocked_id)
SELECT now(), n, %(reader)s FROM generate_series(%(blocked)s + 2, 2 * %(blocked)s + 1) AS n;
INSERT INTO members_block (created, blocker_id, blocked_id)
SELECT now(), n, n + 1 FROM generate_series(1000, %(members)s - 1, 30) AS n;
INSERT INTO posts_tag (id, name)
SELECT n, a.word || b.word || CASE WHEN n / 2500 > 0 THEN (n / 2500)::text ELSE '' END
FROM generate_series(0, %(tags)s - 1) AS n
JOIN unnest(%(adjectives)s::text[]) WITH ORDINALITY AS a(word, i) ON a.i = 1 + n %% 50
JOIN unnest(%(nouns)s::text[]) WITH ORDINALITY AS b(word, i) ON b.i = 1 + (n / 50) %% 50;
SELECT setval(pg_get_serial_sequence('members_user', 'id'), (SELECT max(id) FROM members_user));
SELECT setval(pg_get_serial_sequence('posts_tag', 'id'), (SELECT max(id) FROM posts_tag));
"""


def prepare(url: str) -> float:
    """Migrate, fill, then build search's indexes; returns the seconds the build took."""
    with using(url):
        call_command("migrate", verbosity=0)
        call_command("migrate", "search", "zero", verbosity=0)
    words = {name: text.split() for name, text in WORDS.items()}
    if [len(listed) for listed in words.values()] != [100, 100, 50, 50]:
        raise ValueError("the word lists must hold 100, 100, 50 and 50 words")
    params = {
        "start": data.START,
        "members": MEMBERS,
        "tags": TAGS,
        "reader": READER,
        "blocked": BLOCKED,
        **words,
    }
    data.execute(url, _PEOPLE + _OTHERS, params)
    with using(url):
        started = time.perf_counter()
        call_command("migrate", "search", verbosity=0)
        seconds = time.perf_counter() - started
    data.vacuum(url)
    return seconds


def run(url: str) -> tuple[list[Row], dict]:
    build_seconds = prepare(url)
    with using(url):
        reader = User.objects.get(pk=READER)
        client = Client(HTTP_ACCEPT="application/json")
        client.force_login(reader)
        timed, requested, explained, found, cpu = {}, {}, {}, {}, {}
        for kind, typed in QUERIES.items():
            query = query_parse(typed)
            search = lambda query=query: search_results(  # noqa: E731
                query=query, viewer=reader, limit=SUGGESTIONS
            )
            ask = lambda typed=typed: client.get("/search/", {"q": typed})  # noqa: E731
            results = search()  # warms the caches and the connection
            found[kind] = [person.username for person in results.people]
            found[kind] += [f"#{tag.name}" for tag in results.tags]
            timed[kind] = statistics.median(elapsed_ms(search) for _ in range(RUNS))
            cpu[kind] = _cpu_ms(search)
            ask()
            requested[kind] = statistics.median(elapsed_ms(ask) for _ in range(RUNS))
            explained[kind] = _explain(search)
        nothing = lambda: client.get("/search/", {"q": ""})  # noqa: E731
        nothing()
        empty = statistics.median(elapsed_ms(nothing) for _ in range(RUNS))
        round_trip = statistics.median(elapsed_ms(_select_one) for _ in range(RUNS))
    rows = []
    for kind, typed in QUERIES.items():
        seq = [scan for query in explained[kind] for scan in query["scans"] if "Seq" in scan]
        rows.append(
            Row(
                name=f"Search “{typed}” ({kind}), 300,000 members, 100,000 tags",
                measured=(
                    f"{timed[kind]:.1f} ms (CPU {sum(cpu[kind].values()):.1f} ms); "
                    f"as a request {requested[kind]:.1f} ms"
                ),
                reference=f"{len(explained[kind])} queries; 1 round trip {round_trip:.2f} ms",
                ratio=None,
                target=f"search < {TARGET_MS:g} ms, index scans only",
                met=timed[kind] < TARGET_MS and not seq,
            )
        )
    details = {
        "members": MEMBERS,
        "tags": TAGS,
        "index_build_seconds": build_seconds,
        "search_ms": timed,
        "search_cpu_ms": cpu,
        "request_ms": requested,
        "empty_request_ms": empty,
        "round_trip_ms": round_trip,
        "load_average": os.getloadavg(),
        "found": found,
        "explain": explained,
    }
    return rows, details


def _cpu_ms(search) -> dict[str, float]:
    """CPU time per search, of this process and of its PostgreSQL backend (in /proc: the
    server runs on this machine): what a search costs whatever the machine's load, which only
    adds waits for a CPU to the wall time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    stat = Path(f"/proc/{backend}/stat")

    def backend_ms() -> float:
        # utime and stime, the 14th and 15th fields, counted after the parenthesised name.
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    python, postgresql = time.process_time(), backend_ms()
    for _ in range(CPU_RUNS):
        search()
    return {
        "python": (time.process_time() - python) * 1000 / CPU_RUNS,
        "postgresql": (backend_ms() - postgresql) / CPU_RUNS,
    }


def _select_one() -> None:
    """One round trip to PostgreSQL: the floor under every query's time on this machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _explain(search) -> list[dict]:
    """The search's SQL queries with their plans' scans, planning and execution times.

    Search's queries are prepared statements (config/prepared.py): EXPLAIN EXECUTE shows the
    plan PostgreSQL uses for them by now, a generic one (planned once, with parameters in
    place of the values) or one planned for these values.
    """
    with CaptureQueriesContext(connection) as queries:
        search()
    explained = []
    for query in queries.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plan = [line for (line,) in cursor.fetchall()]
        explained.append(
            {
                "sql": prepared.sql_of(query["sql"]),
                "scans": [_scan(match) for line in plan if (match := _SCAN.search(line))],
                # The prefix's range, against a parameter or against the text.
                "generic": any(re.search(r">= \$\d", line) for line in plan),
                "planning_ms": _time(plan, "Planning"),
                "execution_ms": _time(plan, "Execution"),
                "plan": plan,
            }
        )
    return explained


def _time(plan: list[str], kind: str) -> float:
    """The planning or execution time EXPLAIN ANALYZE reports at the end of ``plan``."""
    return float(re.search(rf"{kind} Time: ([\d.]+)", "\n".join(plan))[1])


def lines(details: dict) -> list[str]:
    """Per query: the median, what it found first, and each SQL query's scans and time."""
    load = ", ".join(f"{figure:.1f}" for figure in details["load_average"])
    out = [
        f"Search's six indexes built in {details['index_build_seconds']:.1f} s; a request with "
        f"nothing to search: {details['empty_request_ms']:.1f} ms; one round trip to PostgreSQL "
        f"(SELECT 1): {details['round_trip_ms']:.2f} ms; load average after: {load}"
    ]
    for kind, queries in details["explain"].items():
        first = ", ".join(details["found"][kind][:4]) or "nothing"
        cpu = details["search_cpu_ms"][kind]
        out.append(
            f"{kind}: {details['search_ms'][kind]:.1f} ms (request "
            f"{details['request_ms'][kind]:.1f} ms; CPU {cpu['python']:.1f} ms in Python, "
            f"{cpu['postgresql']:.1f} ms in PostgreSQL), first found: {first}"
        )
        for number, query in enumerate(queries, 1):
            scans = "; ".join(query["scans"]) or "no table scan"
            plan = "generic plan" if query["generic"] else "planned for the text"
            out.append(
                f"  {number}. {scans} ({plan}: planning {query['planning_ms']:.2f} ms, "
                f"execution {query['execution_ms']:.2f} ms)"
            )
    return out
