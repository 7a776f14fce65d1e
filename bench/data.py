"""Fill a migrated bench database with SQL (generate_series): fast enough for 100,000 posts.

The people: USERS members; member 1 is the READER whose pages are measured. AUTHORS members
(2 to AUTHORS + 1) write every post, in turn, and the reader follows every other one, so half
of all posts are in the reader's feed and every author's profile has a full page at 1,000 posts.
Each post has PHOTOS photos, LIKES likes and COMMENTS comments from members spread over all of
them; each member has an avatar. Post i is created i minutes after START, so the newest posts
are the last ones added. Object names are made up: pages only sign URLs for them.
"""

import psycopg2

USERS = 1_000
AUTHORS = 40
READER = 1
PROFILE = "user4"  # an author the reader follows, with a post even among the first 10
DETAIL_CODE = "b0000000002"  # post 2, by PROFILE: the post page measured
PHOTOS = 3
LIKES = 10
COMMENTS = 3
START = "2025-01-01 00:00:00+00"


def members_sql(
    count: int,
    *,
    joined_every: str = "1 hour",
    username: str = "'user' || n",
    full_name: str = "'Member ' || n",
    active: str = "true",
    private: str = "false",
    joins: str = "",
) -> str:
    """The INSERT of members 1 to ``count`` (``n``), every NOT NULL column filled, so that a
    column added to members_user is added here for every benchmark. Member ``n`` joined
    ``n`` times ``joined_every`` before %(start)s; the other arguments are SQL expressions of
    ``n`` and of the tables in ``joins``; the email is the username's at example.com."""
    # Every argument is the benchmarks' own SQL, never outside input.
    return f"""
INSERT INTO members_user (id, password, is_superuser, is_staff, is_active, date_joined,
                          username, email, full_name, bio, website, avatar, email_verified,
                          pending_email, session_generation, two_factor_secret,
                          two_factor_last_step, two_factor_backup_codes, is_private,
                          suspension_reason, unread_activity)
SELECT n, '!', false, false, {active}, %(start)s::timestamptz - n * INTERVAL '{joined_every}',
       {username}, ({username}) || '@example.com', {full_name}, '', '',
       'avatars/' || md5('avatar' || n) || '.jpg', true, '', 0, '', 0, '[]', {private}, '', 0
FROM generate_series(1, {count:d}) AS n {joins};
"""  # noqa: S608


# Whom the reader follows.
_FOLLOWS = """
INSERT INTO members_follow (created, follower_id, following_id)
SELECT %(start)s, %(reader)s, author
FROM generate_series(2, %(authors)s + 1, 2) AS author;
"""

# Also takes the first and last number of the posts to add.
_POSTS = """
INSERT INTO posts_post (id, code, caption, created, updated, author_id)
SELECT i, 'b' || lpad(i::text, 10, '0'),
       'Photo ' || i || ' of the day #bench #day' || i %% 365 || ' @user' || i %% %(users)s + 1,
       %(start)s::timestamptz + i * INTERVAL '1 minute',
       %(start)s::timestamptz + i * INTERVAL '1 minute',
       2 + i %% %(authors)s
FROM generate_series(%(first)s, %(last)s) AS i;
INSERT INTO posts_postimage ("order", display, width, height, thumbnail, thumbnail_size,
                             alt_text, post_id)
SELECT k - 1, 'posts/' || md5(i || 'd' || k) || '.jpg', 1080, 1350,
       'posts/' || md5(i || 't' || k) || '.jpg', 640, '', i
FROM generate_series(%(first)s, %(last)s) AS i, generate_series(1, %(photos)s) AS k;
INSERT INTO posts_like (created, post_id, user_id)
SELECT %(start)s::timestamptz + i * INTERVAL '1 minute' + k * INTERVAL '1 second', i,
       1 + (i * 13 + k * 97) %% %(users)s
FROM generate_series(%(first)s, %(last)s) AS i, generate_series(1, %(likes)s) AS k;
INSERT INTO posts_comment (text, created, author_id, post_id)
SELECT 'Comment ' || k || ' on photo ' || i || ', lovely #bench',
       %(start)s::timestamptz + i * INTERVAL '1 minute' + k * INTERVAL '1 second',
       1 + (i * 7 + k * 31) %% %(users)s, i
FROM generate_series(%(first)s, %(last)s) AS i, generate_series(1, %(comments)s) AS k;
"""
_SIZES = {
    "start": START,
    "users": USERS,
    "authors": AUTHORS,
    "reader": READER,
    "photos": PHOTOS,
    "likes": LIKES,
    "comments": COMMENTS,
}

# Rows added with explicit ids leave the identity sequences behind; new rows must not collide.
SEQUENCES = """
SELECT setval(pg_get_serial_sequence('members_user', 'id'), (SELECT max(id) FROM members_user));
SELECT setval(pg_get_serial_sequence('posts_post', 'id'), (SELECT max(id) FROM posts_post));
"""


def people(url: str) -> None:
    """The members, their avatars and whom the reader follows."""
    execute(url, members_sql(USERS) + _FOLLOWS + SEQUENCES, _SIZES)


def posts(url: str, *, now: int, total: int) -> None:
    """Add posts ``now + 1`` to ``total`` with their photos, likes and comments; then ANALYZE."""
    execute(url, _POSTS + SEQUENCES, {**_SIZES, "first": now + 1, "last": total})


def execute(url: str, sql: str, params: dict) -> None:
    """Run ``sql`` with ``params`` in the database at ``url``, in one transaction; then
    ``vacuum`` it."""
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        connection.close()
    vacuum(url)


def vacuum(url: str) -> None:
    """VACUUM ANALYZE the database at ``url``: statistics for the planner (expression indexes
    included, once they exist), and the visibility map, so counts can be index-only scans as
    in a live system."""
    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    finally:
        connection.close()
