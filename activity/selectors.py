"""Reads of a member's activity: a page of entries with all they show, in a fixed number of
queries whatever the number of entries or likes."""

from dataclasses import dataclass

from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber

from activity.models import Notification
from members.models import Follow, User, member_visibility
from members.selectors import count_of
from posts.models import Like, PostImage, comment_visibility, post_visibility
from posts.selectors import _page

PAGE_SIZE = 20
LIKERS_NAMED = 2


@dataclass(frozen=True)
class Entries:
    entries: list[Notification]
    next_cursor: str | None


def _likes_seen(viewer: User):
    """Likes whose likers ``viewer`` may see, their own likes left out."""
    return Like.objects.filter(member_visibility(viewer, "user__")).exclude(user=viewer)


def activity_page(*, viewer: User, cursor: str | None = None) -> Entries:
    """``viewer``'s entries, newest first, each only if they may see what it names: its actor
    (or, for likes, at least one liker), its post and its comment.

    A like entry gets ``likers`` (the latest two, newest first) and ``others`` (how many more);
    a follow entry's actor gets ``followed_by_viewer``, for the follow-back button.
    """
    Kind = Notification.Kind
    entries = (
        Notification.objects.filter(recipient=viewer)
        .filter(Q(kind=Kind.LIKE) | member_visibility(viewer, "actor__"))
        .filter(Q(post__isnull=True) | post_visibility(viewer, "post__"))
        .filter(Q(comment__isnull=True) | comment_visibility(viewer, "comment__"))
        .annotate(
            liker_count=Case(
                When(
                    kind=Kind.LIKE, then=count_of(_likes_seen(viewer).filter(post=OuterRef("post")))
                ),
                default=Value(0),
                output_field=IntegerField(),
            ),
            followed_back=Exists(
                Follow.objects.filter(follower=viewer, following=OuterRef("actor"))
            ),
        )
        .exclude(kind=Kind.LIKE, liker_count=0)
        .select_related("actor", "post", "comment")
        .prefetch_related(Prefetch("post__images", queryset=PostImage.objects.order_by("order")))
    )
    page = _page(entries, cursor, PAGE_SIZE)
    page = Entries(page.posts, page.next_cursor)
    liked = [entry.post_id for entry in page.entries if entry.kind == Kind.LIKE]
    likers: dict[int, list[User]] = {}
    if liked:
        latest = (
            _likes_seen(viewer)
            .filter(post__in=liked)
            .select_related("user")
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=F("post"),
                    order_by=[F("created").desc(), F("id").desc()],
                )
            )
            .filter(rank__lte=LIKERS_NAMED)
            .order_by("post", "rank")
        )
        for like in latest:
            likers.setdefault(like.post_id, []).append(like.user)
    for entry in page.entries:
        entry.actor.followed_by_viewer = entry.followed_back
        entry.likers = likers.get(entry.post_id, []) if entry.kind == Kind.LIKE else []
        entry.others = max(entry.liker_count - len(entry.likers), 0)
    return page
