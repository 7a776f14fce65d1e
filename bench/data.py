"""Fill a migrated bench database with SQL (generate_series): fast enough for 100,000 posts.

The people: USERS members; member 1 is the READER whose pages are measured. AUTHORS members
(2 to AUTHORS + 1) write every post, in turn, and the reader follows every other one, so half
of all posts are in the reader's feed and every author's profile has a full page at 1,000 posts.
Each post has PHOTOS photos, LIKES likes and COMMENTS comments from members spread over all of
them; each member has an avatar. Post i is created i minutes after START, so the newest posts
are the last ones added. Object names are made up: pages only sign URLs for them. activity()
then gives the reader posts of their own and a page of activity of every kind.
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
ACTIVITY = 40  # the reader's activity entries, two pages' worth: see activity()
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

# The reader's activity (see activity()): entry j (0 to ACTIVITY - 1) is of kind j % 5, one
# minute after entry j - 1, the newest a minute after the newest post; all of them read.
# OWN_POSTS posts by the reader, older than every other post so that no feed shows them
# first, each liked by OWN_LIKES members: grouped like entries and commented posts.
OWN_POSTS = 8
OWN_LIKES = 12
OWN_POST_ID = 10_000_000  # plus 1 to OWN_POSTS: beyond any post posts() adds
_ACTIVITY = """
UPDATE members_user SET is_private = true WHERE id = %(reader)s;
INSERT INTO posts_post (id, code, caption, created, updated, author_id)
SELECT %(own_id)s + m, 'a' || lpad(m::text, 10, '0'), 'My photo ' || m,
       %(start)s::timestamptz - m * INTERVAL '1 day',
       %(start)s::timestamptz - m * INTERVAL '1 day', %(reader)s
FROM generate_series(1, %(own_posts)s) AS m;
INSERT INTO posts_postimage ("order", display, width, height, thumbnail, thumbnail_size,
                             alt_text, post_id)
SELECT k - 1, 'posts/' || md5(m || 'own-d' || k) || '.jpg', 1080, 1350,
       'posts/' || md5(m || 'own-t' || k) || '.jpg', 640, '', %(own_id)s + m
FROM generate_series(1, %(own_posts)s) AS m, generate_series(1, %(photos)s) AS k;
CREATE TEMPORARY TABLE bench_events ON COMMIT DROP AS
SELECT j, j %% 5 AS kind, %(own_id)s + (j / 5) %% %(own_posts)s + 1 AS own_post,
       (SELECT max(created) FROM posts_post) + (j + 1) * INTERVAL '1 minute' AS at
FROM generate_series(0, %(entries)s - 1) AS j;
-- Likes: OWN_LIKES members like one of the reader's posts, the latest of them at the entry's time.
INSERT INTO posts_like (created, post_id, user_id)
SELECT at - (%(own_likes)s - k) * INTERVAL '1 second', own_post, 100 + j * %(own_likes)s + k
FROM bench_events, generate_series(1, %(own_likes)s) AS k WHERE kind = 0;
INSERT INTO activity_notification (recipient_id, actor_id, kind, post_id, created, read)
SELECT %(reader)s, 100 + j * %(own_likes)s + %(own_likes)s, 'like', own_post, at, true
FROM bench_events WHERE kind = 0;
-- Comments on the reader's posts, and comments elsewhere that mention the reader.
WITH made AS (
    INSERT INTO posts_comment (text, created, author_id, post_id)
    SELECT CASE kind WHEN 1 THEN 'Lovely light in this one, #bench ' || j
                     ELSE 'You have to see this @user' || %(reader)s || ' #bench' END,
           at, 600 + j, CASE kind WHEN 1 THEN own_post ELSE 1000 * (j + 1) END
    FROM bench_events WHERE kind = 1 OR (kind = 2 AND j %% 10 = 2)
    RETURNING id, author_id, post_id, created, post_id >= %(own_id)s AS on_own
)
INSERT INTO activity_notification (recipient_id, actor_id, kind, post_id, comment_id, created,
                                   read)
SELECT %(reader)s, author_id, CASE WHEN on_own THEN 'comment' ELSE 'mention' END, post_id, id,
       created, true
FROM made;
-- Mentions in captions: post 1000 n mentions @user1 (see _POSTS).
INSERT INTO activity_notification (recipient_id, actor_id, kind, post_id, created, read)
SELECT %(reader)s, author_id, 'mention', id, at, true
FROM bench_events JOIN posts_post ON posts_post.id = 1000 * (j + 1)
WHERE kind = 2 AND j %% 10 = 7;
-- Those who like and comment on the reader's (private) posts follow the reader.
INSERT INTO members_follow (created, follower_id, following_id)
SELECT DISTINCT ON (user_id) %(start)s::timestamptz - INTERVAL '30 days', user_id, %(reader)s
FROM (SELECT user_id FROM posts_like WHERE post_id > %(own_id)s
      UNION SELECT author_id FROM posts_comment WHERE post_id > %(own_id)s) AS seen;
-- New followers (not followed back) and follow requests, with their rows.
INSERT INTO members_follow (created, follower_id, following_id)
SELECT at, 600 + j, %(reader)s FROM bench_events WHERE kind = 3;
INSERT INTO members_followrequest (created, requester_id, target_id)
SELECT at, 600 + j, %(reader)s FROM bench_events WHERE kind = 4;
INSERT INTO activity_notification (recipient_id, actor_id, kind, created, read)
SELECT %(reader)s, 600 + j, CASE kind WHEN 3 THEN 'follow' ELSE 'follow_request' END, at, true
FROM bench_events WHERE kind IN (3, 4);
"""

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


def activity(url: str) -> None:
    """The reader's activity: ACTIVITY entries of every kind (grouped likes of their own posts,
    comments on them, mentions in captions and comments, follows, follow requests); the reader
    becomes private, as an account with follow requests is. Run once the posts are added: the
    mentions are of posts 3,000 to 38,000."""
    params = {
        **_SIZES,
        "entries": ACTIVITY,
        "own_posts": OWN_POSTS,
        "own_likes": OWN_LIKES,
        "own_id": OWN_POST_ID,
    }
    execute(url, _ACTIVITY + SEQUENCES, params)


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
