"""Item 3 of issue 15: a feed that is fast for every reader, not only the easy one.

Two readers the main data (bench/data.py, where half of all posts are in the reader's feed)
does not have, each read at 1,000 and at 1,000,000 posts by others, in two databases side by
side, in alternating rounds:

- QUIET: follows 5 accounts that posted only last year (20 posts each), none of the others'
  posts; the newest-first index (post_recent) would read past every one of them (the
  complaint Pixelfed's users make of its home timeline).
- BUSY: follows 2,000 accounts, who write half of the others' posts.

Posts by others have one photo, one like and one comment each (their cards are the busy
reader's, at both sizes); the quiet accounts' posts have PHOTOS photos, LIKES likes and
COMMENTS comments each, as in the main data. Everything is made with generate_series.
EXPLAIN (ANALYZE, BUFFERS) of each reader's feed at 1,000,000 posts shows the indexes used.

Imports models: import this module only once Django is set up.
"""

import statistics
from collections import defaultdict

from django.core.management import call_command
from django.test import Client

from bench import data, pages
from bench.report import Row, median_ms
from members.models import User

USERS = 5_000
QUIET, BUSY = 1, 7  # the readers
QUIET_FOLLOWS = range(2, 7)  # 5 accounts, 20 posts each, all last year
QUIET_POSTS = 20
BUSY_FOLLOWS = range(1_001, 3_001)  # 2,000 accounts
OTHER_AUTHORS = range(1_001, 5_001)  # the others' posts: half by accounts BUSY follows
SIZES = (1_000, 1_000_000)
READERS = {"follows 5 quiet accounts": QUIET, "follows 2,000 accounts": BUSY}
ROUNDS = 5
REQUESTS_PER_ROUND = 6
MAX_RATIO = 1.3

# Whom the readers follow.
_FOLLOWS = """
INSERT INTO members_follow (created, follower_id, following_id)
SELECT %(start)s::timestamptz, %(quiet)s, n
FROM generate_series(%(quiet_first)s, %(quiet_last)s) AS n
UNION ALL
SELECT %(start)s::timestamptz, %(busy)s, n
FROM generate_series(%(busy_first)s, %(busy_last)s) AS n;
"""

# The quiet accounts' posts, a year before the others' (ids 1 to quiet_count).
_QUIET_POSTS = """
INSERT INTO posts_post (id, code, caption, created, updated, author_id)
SELECT i, 'q' || lpad(i::text, 10, '0'), 'Last year, photo ' || i || ' #quiet',
       %(start)s::timestamptz - INTERVAL '1 year' + i * INTERVAL '1 hour',
       %(start)s::timestamptz - INTERVAL '1 year' + i * INTERVAL '1 hour',
       %(quiet_first)s + (i - 1) %% %(quiet_authors)s
FROM generate_series(1, %(quiet_count)s) AS i;
INSERT INTO posts_postimage ("order", display, width, height, thumbnail, thumbnail_size,
                             alt_text, post_id)
SELECT k - 1, 'posts/' || md5(i || 'd' || k) || '.jpg', 1080, 1350,
       'posts/' || md5(i || 't' || k) || '.jpg', 640, '', i
FROM generate_series(1, %(quiet_count)s) AS i, generate_series(1, %(photos)s) AS k;
INSERT INTO posts_like (created, post_id, user_id)
SELECT %(start)s, i, 100 + (i * 13 + k * 97) %% 800
FROM generate_series(1, %(quiet_count)s) AS i, generate_series(1, %(likes)s) AS k;
INSERT INTO posts_comment (text, created, author_id, post_id)
SELECT 'Comment ' || k || ' on photo ' || i, %(start)s::timestamptz + k * INTERVAL '1 second',
       100 + (i * 7 + k * 31) %% 800, i
FROM generate_series(1, %(quiet_count)s) AS i, generate_series(1, %(comments)s) AS k;
"""

# Posts by others: one a second from START, with one photo, one like and one comment each.
_OTHER_POSTS = """
INSERT INTO posts_post (id, code, caption, created, updated, author_id)
SELECT i, 'o' || lpad(i::text, 10, '0'), 'Photo ' || i || ' #bench',
       %(start)s::timestamptz + i * INTERVAL '1 second',
       %(start)s::timestamptz + i * INTERVAL '1 second',
       %(others_first)s + i %% %(others_count)s
FROM generate_series(%(first)s, %(last)s) AS i;
INSERT INTO posts_postimage ("order", display, width, height, thumbnail, thumbnail_size,
                             alt_text, post_id)
SELECT 0, 'posts/' || md5(i || 'd') || '.jpg', 1080, 1350,
       'posts/' || md5(i || 't') || '.jpg', 640, '', i
FROM generate_series(%(first)s, %(last)s) AS i;
INSERT INTO posts_like (created, post_id, user_id)
SELECT %(start)s::timestamptz + i * INTERVAL '1 second', i, 100 + i %% 800
FROM generate_series(%(first)s, %(last)s) AS i;
INSERT INTO posts_comment (text, created, author_id, post_id)
SELECT 'Comment on photo ' || i, %(start)s::timestamptz + i * INTERVAL '1 second',
       100 + (i * 7) %% 800, i
FROM generate_series(%(first)s, %(last)s) AS i;
"""


def prepare(url: str, *, others: int) -> None:
    """Migrate an empty database and fill it with the readers, whom they follow, the quiet
    accounts' posts and ``others`` posts by others."""
    with pages.using(url):
        call_command("migrate", verbosity=0)
    quiet_count = len(QUIET_FOLLOWS) * QUIET_POSTS
    params = {
        "start": data.START,
        "quiet": QUIET,
        "quiet_first": QUIET_FOLLOWS[0],
        "quiet_last": QUIET_FOLLOWS[-1],
        "quiet_authors": len(QUIET_FOLLOWS),
        "quiet_count": quiet_count,
        "busy": BUSY,
        "busy_first": BUSY_FOLLOWS[0],
        "busy_last": BUSY_FOLLOWS[-1],
        "others_first": OTHER_AUTHORS[0],
        "others_count": len(OTHER_AUTHORS),
        "first": quiet_count + 1,
        "last": quiet_count + others,
        "photos": data.PHOTOS,
        "likes": data.LIKES,
        "comments": data.COMMENTS,
    }
    people = data.members_sql(USERS, joined_every="1 minute")
    data.execute(url, people + _FOLLOWS + _QUIET_POSTS + _OTHER_POSTS + data.SEQUENCES, params)


def _client(reader: int) -> Client:
    client = Client()
    client.force_login(User.objects.get(pk=reader))
    return client


def run(small: str, large: str) -> tuple[list[Row], dict]:
    """``small`` and ``large``: the URLs of two empty databases, for each of SIZES."""
    urls = dict(zip(SIZES, (small, large), strict=True))
    for size, url in urls.items():
        prepare(url, others=size)
    clients: dict[tuple[int, str], Client] = {}
    for size, url in urls.items():
        with pages.using(url):
            for name, reader in READERS.items():
                clients[size, name] = _client(reader)
                response = clients[size, name].get(pages.FEED)
                assert response.content.decode().count('class="card post"') == 12, name
    with pages.using(urls[SIZES[-1]]):
        explained = {name: pages.explain(clients[SIZES[-1], name], pages.FEED) for name in READERS}
    samples: dict[tuple[int, str], list[float]] = defaultdict(list)
    for _ in range(ROUNDS):
        for size, url in urls.items():
            with pages.using(url):
                for name in READERS:
                    client = clients[size, name]
                    client.get(pages.FEED)  # a fresh connection and warm caches
                    samples[size, name].append(
                        median_ms(lambda client=client: client.get(pages.FEED), REQUESTS_PER_ROUND)
                    )
    timed = {key: statistics.median(values) for key, values in samples.items()}
    small, large = SIZES
    rows = []
    for name in READERS:
        slow_scans = pages.big_table_scans(explained[name])
        ratio = timed[large, name] / timed[small, name]
        rows.append(
            Row(
                name=f"Feed of a member who {name}, at 1,000,000 posts by others",
                measured=f"{timed[large, name]:.1f} ms",
                reference=f"{timed[small, name]:.1f} ms at 1,000 posts",
                ratio=ratio,
                target=f"≤ {MAX_RATIO}, no sequential scan of a big table",
                met=ratio <= MAX_RATIO and not slow_scans,
            )
        )
    details = {
        "latency_ms": {f"{name} at {size:,}": ms for (size, name), ms in timed.items()},
        "explain": explained,
    }
    return rows, details
