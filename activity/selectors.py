"""Reads of a member's activity: a page of entries with all they show, in a fixed number of
queries whatever the number of entries or likes."""

from dataclasses import dataclass

from django.db.models import (
    Case,
    Exists,
    Expression,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    When,
)

from activity.models import Notification
from members.models import Follow, User, member_visibility
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
    (how many more they may see liked it); a follow entry's actor gets ``followed_by_viewer``,
    for the follow-back button.
    """
    Kind = Notification.Kind
    visible = activity_visible(viewer=viewer)
    after = cursor_decode(cursor)
    if after:
        created, pk = after
        visible = visible.filter(Q(created__lt=created) | Q(created=created, pk__lt=pk))
    # The page's ids first, then what they show for those rows only: joined to the conditions
    # above, PostgreSQL would count likes and check visibility for every entry the member has.
    ids = list(visible.order_by("-created", "-id").values_list("pk", flat=True)[: PAGE_SIZE + 1])
    likes = _likes_seen(viewer).filter(post=OuterRef("post"))
    newest = likes.order_by("-created", "-id").values("user")
    rows = list(
        Notification.objects.filter(pk__in=ids[:PAGE_SIZE])
        .order_by("-created", "-id")
        .annotate(
            like_count=_if_like(count_of(likes)),
            first_liker=_if_like(Subquery(newest[:1])),
            second_liker=_if_like(Subquery(newest[1:2])),
            followed_back=Exists(
                Follow.objects.filter(follower=viewer, following=OuterRef("actor"))
            ),
        )
        .select_related("actor", "post__author", "comment")
        .prefetch_related(Prefetch("post__images", queryset=PostImage.objects.order_by("order")))
    )
    next_cursor = cursor_encode(rows[-1]) if len(ids) > PAGE_SIZE else None
    named = {pk for row in rows for pk in (row.first_liker, row.second_liker) if pk}
    people = User.objects.in_bulk(named)
    entries = []
    for entry in rows:
        entry.actor.followed_by_viewer = entry.followed_back
        entry.likers = [people[pk] for pk in (entry.first_liker, entry.second_liker) if pk]
        if entry.kind == Kind.LIKE and not entry.likers:
            continue  # everyone who liked it is hidden from the viewer: no entry
        entry.others = max((entry.like_count or 0) - len(entry.likers), 0)
        entries.append(entry)
    return Entries(entries, next_cursor)
