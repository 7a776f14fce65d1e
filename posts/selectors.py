"""Reads of posts with everything a page shows, in a fixed number of queries.

Lists use keyset pagination: a cursor names the last post shown by (created, id), so a page
costs the same at post 10 as at post 100,000, and new posts don't shift what comes next.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from members.models import Follow, User
from members.selectors import count_of
from posts.models import Comment, Like, Post, PostImage, SavedPost, Tag, post_visibility

PAGE_SIZE = 12
GRID_PAGE_SIZE = 24
LATEST_COMMENTS = 2


@dataclass(frozen=True)
class Page:
    posts: list[Post]
    next_cursor: str | None
    # The feed of a member who follows no one: everyone's recent posts (post_feed).
    everyone: bool = False


def cursor_encode(row: Post) -> str:
    """The cursor after ``row``: a post, or any row with ``created`` that a list pages by."""
    return f"{int(row.created.timestamp() * 1_000_000)}.{row.pk}"


def cursor_decode(cursor: str | None) -> tuple[datetime, int] | None:
    """(created, id) from a cursor; None for no cursor or a malformed one (the first page)."""
    try:
        micros, pk = (int(part) for part in (cursor or "").split("."))
        return datetime.fromtimestamp(micros / 1_000_000, tz=UTC), pk
    except (ValueError, OverflowError, OSError):
        return None


def _page(posts: QuerySet[Post], cursor: str | None, size: int) -> Page:
    after = cursor_decode(cursor)
    if after:
        created, pk = after
        posts = posts.filter(Q(created__lt=created) | Q(created=created, pk__lt=pk))
    # The page's ids first, then everything else for those rows only: otherwise PostgreSQL
    # evaluates the "liked by me" check as a hashed subplan over every like the viewer made.
    ids = posts.order_by("-created", "-id").values("pk")[: size + 1]
    rows = list(posts.filter(pk__in=ids).order_by("-created", "-id"))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, cursor_encode(rows[-1]) if more else None)


def _with_counts(posts: QuerySet[Post], viewer: User) -> QuerySet[Post]:
    """Only what ``viewer`` may see (Post.objects.visible_to), with like and comment counts
    and whether ``viewer`` likes and has saved each."""
    posts = posts.visible_to(viewer).annotate(
        like_count=count_of(Like.objects.filter(post=OuterRef("pk"))),
        comment_count=count_of(Comment.objects.filter(post=OuterRef("pk"))),
    )
    if viewer.is_authenticated:
        posts = posts.annotate(
            liked=Exists(Like.objects.filter(post=OuterRef("pk"), user=viewer)),
            saved=Exists(SavedPost.objects.filter(post=OuterRef("pk"), user=viewer)),
        )
    return posts


def _cards(viewer: User) -> QuerySet[Post]:
    """Posts with all a feed card shows: author, photos, counts and the latest comments."""
    latest = (
        Comment.objects.visible_to(viewer)
        .select_related("author")
        .order_by("post_id", "-created", "-id")
    )
    return _with_counts(
        Post.objects.select_related("author").prefetch_related(
            Prefetch("images", queryset=PostImage.objects.order_by("order")),
            Prefetch("comments", queryset=latest[:LATEST_COMMENTS], to_attr="latest_comments"),
        ),
        viewer,
    )


def _grid(viewer: User) -> QuerySet[Post]:
    """Posts with what a grid tile shows: the first photo's thumbnail and the counts."""
    return _with_counts(
        Post.objects.select_related("author").prefetch_related(
            Prefetch("images", queryset=PostImage.objects.order_by("order"))
        ),
        viewer,
    )


def post_feed(*, viewer: User, cursor: str | None = None) -> Page:
    """Posts by ``viewer`` and whom they follow, newest first (everyone's if they follow no one,
    and then the page says so)."""
    follows = Follow.objects.filter(follower=viewer)
    posts = _cards(viewer).filter(
        Q(author=viewer) | Q(author__in=follows.values("following")) | ~Exists(follows),
    )
    # Read with the posts, not by a query of its own: PostgreSQL evaluates it once per page.
    page = _page(posts.annotate(follows_no_one=~Exists(follows)), cursor, PAGE_SIZE)
    return replace(page, everyone=bool(page.posts) and page.posts[0].follows_no_one)


def post_explore(*, viewer: User, cursor: str | None = None) -> Page:
    """Recent posts from everyone."""
    return _page(_grid(viewer), cursor, GRID_PAGE_SIZE)


def post_by_tag(*, tag: Tag, viewer: User, cursor: str | None = None) -> Page:
    posts = _grid(viewer).filter(tags=tag)
    return _page(posts, cursor, GRID_PAGE_SIZE)


def post_by_author(*, author: User, viewer: User, cursor: str | None = None) -> Page:
    return _page(_grid(viewer).filter(author=author), cursor, GRID_PAGE_SIZE)


def post_saved(*, user: User, cursor: str | None = None) -> Page:
    """The posts ``user`` saved and may still see, the latest saved first; the cursor names
    the last save shown, by (when saved, id)."""
    saves = SavedPost.objects.filter(user=user).filter(post_visibility(user, "post__"))
    after = cursor_decode(cursor)
    if after:
        created, pk = after
        saves = saves.filter(Q(created__lt=created) | Q(created=created, pk__lt=pk))
    page = list(saves.order_by("-created", "-id")[: GRID_PAGE_SIZE + 1])
    shown = page[:GRID_PAGE_SIZE]
    posts = _grid(user).in_bulk([save.post_id for save in shown])
    return Page(
        [posts[save.post_id] for save in shown if save.post_id in posts],
        cursor_encode(shown[-1]) if len(page) > GRID_PAGE_SIZE else None,
    )


def post_likers(*, post: Post, viewer: User) -> QuerySet[User]:
    """Who liked ``post``, latest first, among the members ``viewer`` may see, each with
    whether ``viewer`` follows them."""
    likers = User.objects.visible_to(viewer).filter(likes__post=post).order_by("-likes__created")
    if viewer.is_authenticated:
        likers = likers.annotate(
            followed_by_viewer=Exists(
                Follow.objects.filter(follower=viewer, following=OuterRef("pk"))
            )
        )
    return likers


def post_detail(*, code: str, viewer: User) -> Post:
    """One post with all its photos and comments (oldest first)."""
    return get_object_or_404(
        _with_counts(
            Post.objects.select_related("author").prefetch_related(
                Prefetch("images", queryset=PostImage.objects.order_by("order")),
                Prefetch(
                    "comments",
                    queryset=Comment.objects.visible_to(viewer)
                    .select_related("author")
                    .order_by("created", "id"),
                    to_attr="all_comments",
                ),
            ),
            viewer,
        ),
        code=code,
    )
