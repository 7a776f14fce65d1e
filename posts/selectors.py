"""Reads of posts with everything a page shows, in a fixed number of queries.

Lists use keyset pagination: a cursor names the last post shown by (created, id), so a page
costs the same at post 10 as at post 100,000, and new posts don't shift what comes next.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    DEFERRED,
    BigIntegerField,
    Exists,
    Func,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.functions import JSONObject
from django.http import Http404

from config import prepared
from members.models import Follow, User, viewer_shape
from members.selectors import count_of
from posts.models import Comment, Like, Post, PostImage, SavedPost, Tag, post_visibility

PAGE_SIZE = 12
# Up to this many followed accounts, the feed asks each for its newest posts (_feed_rows).
FEW_FOLLOWED = 100
GRID_PAGE_SIZE = 24
LATEST_COMMENTS = 2
# The post page shows this many comments at a time, the latest first (post_detail).
COMMENTS_SHOWN = 50
# What a feed card (posts/_card.html, posts.cards.card_key) reads of a post and its author:
# not the author's password hash, email or two-factor secrets, which a page of posts then
# neither sends nor builds thirteen times over.
CARD_FIELDS = (
    "author", "code", "caption", "created", "updated", "hidden_at",
    "author__username", "author__avatar", "author__is_private",
)  # fmt: skip


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


def _page(shown: QuerySet[Post], rows: QuerySet[Post], cursor: str | None, size: int) -> Page:
    """A page of ``shown`` (what the viewer may see: visible_to and the page's own filter),
    read as ``rows`` (what the page shows of each post)."""
    return _paged(list(_page_rows(shown, rows, cursor_decode(cursor), size)), size)


def _page_rows(
    shown: QuerySet[Post], rows: QuerySet[Post], after: tuple[datetime, int] | None, size: int
) -> QuerySet[Post]:
    """The posts of the page after ``after``, and one more if there is a next page."""
    if after:
        created, pk = after
        shown = shown.filter(Q(created__lt=created) | Q(created=created, pk__lt=pk))
    # The page's ids first, then everything else for those rows only: otherwise PostgreSQL
    # evaluates the "liked by me" check as a hashed subplan over every like the viewer made.
    # The second query does not repeat the filters: it would make PostgreSQL read every post.
    ids = shown.order_by("-created", "-id").values("pk")[: size + 1]
    return rows.filter(pk__in=ids).order_by("-created", "-id")


def _paged(found: list[Post], size: int) -> Page:
    more = len(found) > size
    found = found[:size]
    return Page(found, cursor_encode(found[-1]) if more else None)


def _with_counts(posts: QuerySet[Post], viewer: User) -> QuerySet[Post]:
    """``posts`` with like and comment counts and whether ``viewer`` likes and has saved each
    (what ``viewer`` may see is the caller's filter: Post.objects.visible_to)."""
    posts = posts.annotate(
        like_count=count_of(Like.objects.filter(post=OuterRef("pk"))),
        comment_count=count_of(Comment.objects.filter(post=OuterRef("pk"))),
    )
    if viewer.is_authenticated:
        posts = posts.annotate(
            liked=Exists(Like.objects.filter(post=OuterRef("pk"), user=viewer)),
            saved=Exists(SavedPost.objects.filter(post=OuterRef("pk"), user=viewer)),
        )
    return posts


def _latest_comments(viewer: User) -> ArraySubquery:
    """The latest LATEST_COMMENTS comments ``viewer`` may see on the post, newest first, as
    JSON objects: read with the post, not in a query of their own (_comments_from)."""
    latest = (
        Comment.objects.visible_to(viewer)
        .filter(post=OuterRef("pk"))
        .order_by("-created", "-id")
        .values(
            comment=JSONObject(
                id="id",
                text="text",
                created="created",
                hidden_at="hidden_at",
                author_id="author_id",
                username="author__username",
            )
        )[:LATEST_COMMENTS]
    )
    return ArraySubquery(latest)


def _comments_from(post: Post) -> list[Comment]:
    """``post``'s latest comments (its ``latest`` JSON) as Comments with their authors, as a
    query of those columns would give them (the others deferred)."""
    db = post._state.db
    found = []
    for row in post.latest:
        hidden_at = row["hidden_at"] and datetime.fromisoformat(row["hidden_at"])
        comment = _loaded(
            Comment,
            db,
            id=row["id"],
            author_id=row["author_id"],
            post_id=post.pk,
            text=row["text"],
            created=datetime.fromisoformat(row["created"]),
            hidden_at=hidden_at,
        )
        comment.author = _loaded(User, db, id=row["author_id"], username=row["username"])
        comment.post = post
        found.append(comment)
    return found


def _loaded(model: type[Model], db: str | None, **values: object) -> Model:
    """An instance of ``model`` read from ``db`` with only ``values`` (by attribute name), the
    other fields deferred: the constructor's keywords would look up each other field's default,
    which cost a feed page more than its query's rows."""
    columns = [values.get(field.attname, DEFERRED) for field in model._meta.concrete_fields]
    return model.from_db(db, list(values), columns)


def post_images_load(posts: list[Post]) -> None:
    """Read the photos of ``posts``, in order, in one query (as ``post.images.all()``): a
    prepared statement per number of posts, whose photos are put where prefetch_related
    would put them (Django's prefetching cost the post page more than the query)."""
    if not posts:
        return
    found = prepared.run(("post_images", len(posts)), _images, *(post.pk for post in posts))
    by_post: dict[int, list[PostImage]] = {post.pk: [] for post in posts}
    for image in found:
        by_post[image.post_id].append(image)
    for post in posts:
        images = post.images.all()
        images._result_cache = by_post[post.pk]
        images._prefetch_done = True
        for image in images._result_cache:
            image.post = post
        post._prefetched_objects_cache = {
            **getattr(post, "_prefetched_objects_cache", {}),
            "images": images,
        }


def _images(*post_ids: int) -> QuerySet[PostImage]:
    return PostImage.objects.filter(post__in=post_ids).order_by("order")


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
    and then the page says so), with what a card needs every time, in one query: author,
    counts and the latest comments ``viewer`` may see. Photos are read only for the cards not
    cached (post_images_load)."""
    after = cursor_decode(cursor)
    shape = ("post_feed", viewer_shape(viewer), after is not None)
    found = prepared.run(shape, _feed_rows, viewer, *(after or ()))
    for post in found:
        post.latest_comments = _comments_from(post)
    page = _paged(found, PAGE_SIZE)
    return replace(page, everyone=bool(found) and found[0].follows_no_one)


def _feed_rows(viewer: User, *after) -> QuerySet[Post]:
    """The feed's page as one query that costs about the same for every reader, at any size.

    Newest first over posts by the viewer and whom they follow is read one of two ways, and
    PostgreSQL runs only the branch that fits (the others stop at a one-time filter):

    - following a few accounts: each one's newest posts from its own index
      (post_author_recent), a page's worth each, then the newest of those. Walking all posts
      newest first would read past every post by others when those accounts are quiet (the
      Pixelfed complaint: a timeline of accounts that posted last year, among millions).
    - following many: all posts newest first (post_recent), kept if the author is followed;
      with so many followed, a page is found after a few rows, where asking each account
      would cost thousands of index probes.
    - following no one: everyone's newest posts.

    Every branch reads ``Post.objects.visible_to(viewer)`` before it takes its page's worth.
    """
    size = PAGE_SIZE + 1
    follows = Follow.objects.filter(follower=viewer)
    newest = Post.objects.visible_to(viewer).order_by("-created", "-id")
    if after:
        created, pk = after
        newest = newest.filter(Q(created__lt=created) | Q(created=created, pk__lt=pk))
    followed = count_of(Follow.objects.filter(follower=viewer))
    each = newest.filter(author=OuterRef("following")).values("pk")[:size]
    few = (
        follows.alias(followed=followed)
        .filter(followed__lte=FEW_FOLLOWED)
        .annotate(post=Func(ArraySubquery(each), function="unnest", output_field=BigIntegerField()))
        .values("post")
    )
    many = newest.alias(followed=followed).filter(
        followed__gt=FEW_FOLLOWED, author__in=follows.values("following")
    )
    ids = (
        newest.filter(author=viewer)
        .values("pk")[:size]
        .union(
            few,
            many.values("pk")[:size],
            newest.filter(~Exists(follows)).values("pk")[:size],
            all=True,
        )
    )
    # The page's posts among the candidates (up to a page per followed account) before anything
    # else is read: the author, counts and comments of the page only, not of every candidate.
    page = Post.objects.filter(pk__in=ids).order_by("-created", "-id").values("pk")[:size]
    rows = _with_counts(Post.objects.select_related("author").only(*CARD_FIELDS), viewer)
    # Read with the posts, not by a query of its own: PostgreSQL evaluates it once per page.
    rows = rows.annotate(latest=_latest_comments(viewer), follows_no_one=~Exists(follows))
    return rows.filter(pk__in=page).order_by("-created", "-id")


def post_explore(*, viewer: User, cursor: str | None = None) -> Page:
    """Recent posts from everyone."""
    return _page(Post.objects.visible_to(viewer), _grid(viewer), cursor, GRID_PAGE_SIZE)


def post_by_tag(*, tag: Tag, viewer: User, cursor: str | None = None) -> Page:
    shown = Post.objects.visible_to(viewer).filter(tags=tag)
    return _page(shown, _grid(viewer), cursor, GRID_PAGE_SIZE)


def post_by_author(*, author: User, viewer: User, cursor: str | None = None) -> Page:
    """A page of the author's grid, with counts; photos are read only for a grid not cached
    (post_images_load)."""
    after = cursor_decode(cursor)
    shape = ("post_by_author", viewer_shape(viewer), after is not None)
    found = prepared.run(shape, _by_author_rows, viewer, author, *(after or ()))
    return _paged(found, GRID_PAGE_SIZE)


def _by_author_rows(viewer: User, author: User, *after) -> QuerySet[Post]:
    shown = Post.objects.visible_to(viewer).filter(author=author)
    rows = _with_counts(Post.objects.select_related("author"), viewer)
    return _page_rows(shown, rows, after or None, GRID_PAGE_SIZE)


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


def post_detail(*, code: str, viewer: User, before: str | None = None) -> Post:
    """One post with all its photos and the latest COMMENTS_SHOWN comments ``viewer`` may see
    (before the cursor ``before``, when given and well formed), oldest first among them, as
    ``shown_comments``. ``earlier_cursor`` names the oldest shown when earlier ones remain, for
    the "View earlier comments" link, and ``earlier_page`` says these are not the latest: a post
    with 100,000 comments is not a page of them all."""
    found = prepared.run(("post_detail", viewer_shape(viewer)), _detail, viewer, code)
    if not found:
        raise Http404("No post by that code.")
    post = found[0]
    post_images_load([post])
    after = cursor_decode(before)
    shape = ("post_comments", viewer_shape(viewer), after is not None)
    latest = prepared.run(shape, _comments, viewer, post.pk, *(after or ()))
    shown = latest[:COMMENTS_SHOWN]
    post.earlier_cursor = cursor_encode(shown[-1]) if len(latest) > COMMENTS_SHOWN else None
    post.earlier_page = after is not None
    post.shown_comments = shown[::-1]
    for comment in shown:
        comment.post = post  # what their report forms link to, without a query each
    return post


def _detail(viewer: User, code: str) -> QuerySet[Post]:
    return _with_counts(
        Post.objects.visible_to(viewer).select_related("author").filter(code=code), viewer
    )


def _comments(viewer: User, post_id: int, *before) -> QuerySet[Comment]:
    """The post's comments ``viewer`` may see, newest first, from before (created, id)
    ``before`` if given: a page's worth and one more, to tell whether earlier ones remain."""
    comments = Comment.objects.visible_to(viewer).filter(post_id=post_id)
    if before:
        created, pk = before
        comments = comments.filter(Q(created__lt=created) | Q(created=created, pk__lt=pk))
    return comments.select_related("author").order_by("-created", "-id")[: COMMENTS_SHOWN + 1]
