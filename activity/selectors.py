"""Reads of a member's activity: a page of entries with all they show, in a fixed number of
queries whatever the number of entries or likes."""

from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Case, Exists, Expression, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.functions import JSONObject

from activity.models import Notification
from config import prepared
from members.models import Follow, User, member_visibility, viewer_shape
from members.selectors import count_of
from posts.models import Like, PostImage, comment_visibility, post_visibility
from posts.selectors import cursor_decode, cursor_encode

PAGE_SIZE = 20


@dataclass(frozen=True)
class Entries:
    entries: list[Notification]
    next_cursor: str | None


def _likes_seen(viewer: User) -> QuerySet[Like]:
    """Likes whose likers ``viewer`` may see, their own likes left out."""
    return Like.objects.filter(member_visibility(viewer, "user__")).exclude(user=viewer)


def _if_like(value: Expression) -> Case:
    """``value`` for a like entry, nothing for the others (whose post may have likes too)."""
    return Case(When(kind=Notification.Kind.LIKE, then=value), default=None)


def activity_visible(*, viewer: User) -> QuerySet[Notification]:
    """``viewer``'s entries that they may see what each names: its actor, its post and its
    comment. A like entry's likers are checked for the entries shown only (activity_page):
    in this one query PostgreSQL would hash every like there is."""
    return (
        Notification.objects.filter(recipient=viewer)
        .filter(Q(kind=Notification.Kind.LIKE) | member_visibility(viewer, "actor__"))
        .filter(Q(post__isnull=True) | post_visibility(viewer, "post__"))
        .filter(Q(comment__isnull=True) | comment_visibility(viewer, "comment__"))
    )


def activity_unseen(*, viewer: User, entries: QuerySet[Notification]) -> QuerySet[Notification]:
    """Those of ``entries`` (a few; ``viewer``'s) that activity_page does not show them: not
    activity_visible, or a like of which they see no liker."""
    mine = entries.filter(recipient=viewer)
    seen = activity_visible(viewer=viewer).filter(pk__in=mine.values("pk"))
    liked = Exists(_likes_seen(viewer).filter(post=OuterRef("post")))
    return mine.filter(~Q(pk__in=seen.values("pk")) | (Q(kind=Notification.Kind.LIKE) & ~Q(liked)))


def activity_page(*, viewer: User, cursor: str | None = None) -> Entries:
    """``viewer``'s entries, newest first, each only if they may see what it names
    (activity_visible) and, for likes, at least one liker.

    A like entry gets ``likers`` (the latest two they may see, newest first) and ``others``
    (how many more they may see liked it); an entry about a post gets ``photo``, its first
    photo (for the thumbnail); a follow entry's actor gets ``followed_by_viewer``, for the
    follow-back button. One query, compiled once per shape (config/prepared.py).
    """
    after = cursor_decode(cursor)
    shape = ("activity_page", viewer_shape(viewer), after is not None)
    rows = prepared.run(shape, _page_rows, viewer, *(after or ()))
    next_cursor = cursor_encode(rows[PAGE_SIZE - 1]) if len(rows) > PAGE_SIZE else None
    entries = []
    for entry in rows[:PAGE_SIZE]:
        entry.actor.followed_by_viewer = entry.followed_back
        entry.likers = [
            User(id=liker["id"], username=liker["username"], avatar=liker["avatar"])
            for liker in entry.liked_by or ()
        ]
        if entry.kind == Notification.Kind.LIKE and not entry.likers:
            continue  # everyone who liked it is hidden from the viewer: no entry
        entry.others = max((entry.like_count or 0) - len(entry.likers), 0)
        entry.photo = entry.photo_name and PostImage(
            thumbnail=entry.photo_name, alt_text=entry.photo_alt, post=entry.post
        )
        entries.append(entry)
    return Entries(entries, next_cursor)


def _page_rows(viewer: User, *after) -> QuerySet[Notification]:
    """A page of ``viewer``'s entries and one more (there is a next page if it comes), with
    what they show. The page's ids are taken first, in a subquery, and what they show is read
    for those rows only: joined to the conditions, PostgreSQL would count likes and check
    visibility for every entry the member has."""
    visible = activity_visible(viewer=viewer)
    if after:
        created, pk = after
        visible = visible.filter(Q(created__lt=created) | Q(created=created, pk__lt=pk))
    ids = visible.order_by("-created", "-id").values("pk")[: PAGE_SIZE + 1]
    likes = _likes_seen(viewer).filter(post=OuterRef("post"))
    likers = likes.order_by("-created", "-id").values(
        liker=JSONObject(id="user_id", username="user__username", avatar="user__avatar")
    )
    first_photo = PostImage.objects.filter(post=OuterRef("post")).order_by("order")
    return (
        Notification.objects.filter(pk__in=ids)
        .order_by("-created", "-id")
        .annotate(
            like_count=_if_like(count_of(likes)),
            liked_by=_if_like(ArraySubquery(likers[:2])),
            photo_name=Subquery(first_photo.values("thumbnail")[:1]),
            photo_alt=Subquery(first_photo.values("alt_text")[:1]),
            followed_back=Exists(
                Follow.objects.filter(follower=viewer, following=OuterRef("actor"))
            ),
        )
        .select_related("actor", "post__author", "comment")
    )
