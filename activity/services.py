"""Writes to members' activity, called by the services whose writes they report.

Each function runs inside its caller's transaction, so an entry exists exactly when what it
reports does. ``User.unread_activity`` counts the recipient's unread entries; every function
that adds or removes an unread entry changes it in the same transaction, with F() so that
concurrent writers add up, and ``activity_seen`` resets it under the member's row lock.

Nothing is written for one's own actions, nor to someone who blocked the actor (or whom the
actor blocked): member_visibility decides who may reach whom. Fan-out is per recipient named,
never per follower: a post tells nobody but those it mentions.
"""

from collections.abc import Iterable

from django.db import IntegrityError, models, transaction
from django.db.models import F, OuterRef, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from activity.models import Notification
from activity.selectors import activity_unseen
from members.models import User
from members.selectors import count_of
from posts.models import Comment, Like, Post

Kind = Notification.Kind
FOLLOW_KINDS = (Kind.FOLLOW, Kind.FOLLOW_REQUEST, Kind.FOLLOW_APPROVED)


def _unread_add(recipients: Iterable[int]) -> None:
    User.objects.filter(pk__in=list(recipients)).update(unread_activity=F("unread_activity") + 1)


def _reachable(actor: User, recipients: Iterable[int]) -> list[int]:
    """Those of ``recipients`` whom ``actor`` may reach: not themselves, and visible to them
    (active, no block either way)."""
    ids = {pk for pk in recipients if pk != actor.pk}
    if not ids:
        return []
    return list(User.objects.visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True))


def _uncount(unread: models.QuerySet[Notification]) -> None:
    """Take the ``unread`` entries off their recipients' counts."""
    User.objects.filter(pk__in=unread.values("recipient")).update(
        unread_activity=Greatest(
            F("unread_activity") - count_of(unread.filter(recipient=OuterRef("pk"))), 0
        )
    )


def _withdraw(rows: models.QuerySet[Notification]) -> None:
    """Delete ``rows``, taking their unread ones off their recipients' counts."""
    with transaction.atomic():
        _uncount(rows.filter(read=False))
        rows.delete()


def _unseen_read(rows: models.QuerySet[Notification]) -> None:
    """Mark read those of ``rows`` that their recipients may not see (activity_unseen: a
    moderator hid what they name or suspended who did it, a private account's post), taking
    them off their counts. They stay, so that they are on the page, read, once they may be
    seen (restored, or the account followed)."""
    unread = rows.filter(read=False)
    with transaction.atomic():
        for recipient in User.objects.filter(pk__in=unread.values("recipient")):
            unseen = activity_unseen(viewer=recipient, entries=unread)
            _uncount(unseen)
            unseen.update(read=True)


def _single_notify(**fields) -> None:
    """One entry; a second one for the same event (a retry) changes nothing."""
    try:
        with transaction.atomic():
            Notification.objects.create(**fields)
    except IntegrityError:
        return
    _unread_add([fields["recipient_id"]])


# Likes: one entry per liked post.


def like_notify(*, user: User, post: Post) -> None:
    """``user`` has just liked ``post``: its entry for the author comes back to the top, unread."""
    if not _reachable(user, [post.author_id]):
        return
    entries = Notification.objects.filter(recipient=post.author_id, kind=Kind.LIKE, post=post)
    with transaction.atomic():
        entry = entries.select_for_update().first()
        if entry is None:
            try:
                with transaction.atomic():
                    Notification.objects.create(
                        recipient_id=post.author_id, actor=user, kind=Kind.LIKE, post=post
                    )
            except IntegrityError:
                # Another like of the same post made the entry meanwhile: join it.
                return like_notify(user=user, post=post)
            _unread_add([post.author_id])
            return
        entries.filter(pk=entry.pk).update(actor=user, created=timezone.now(), read=False)
        if entry.read:
            _unread_add([post.author_id])


def like_withdraw(*, user: User, post: Post) -> None:
    """``user`` no longer likes ``post``: the entry goes with the post's last other like."""
    entries = Notification.objects.filter(recipient=post.author_id, kind=Kind.LIKE, post=post)
    latest = (
        Like.objects.filter(post=post)
        .exclude(user__in=[user.pk, post.author_id])
        .order_by("-created", "-id")
        .values_list("user", flat=True)
        .first()
    )
    if latest is None:
        _withdraw(entries)
    else:
        entries.filter(actor=user).update(actor=latest)


# Comments and mentions.


def comment_notify(*, comment: Comment, mentioned: Iterable[User] = ()) -> None:
    """A new comment: its post's author is told, and so are those it mentions (but the post's
    author once only, as a comment)."""
    post = comment.post
    if _reachable(comment.author, [post.author_id]):
        _single_notify(
            recipient_id=post.author_id,
            actor=comment.author,
            kind=Kind.COMMENT,
            post=post,
            comment=comment,
        )
    mentions_notify(
        actor=comment.author,
        post=post,
        comment=comment,
        users=[user for user in mentioned if user.pk != post.author_id],
    )


def comment_withdraw(*, comment: Comment) -> None:
    """Before ``comment`` is deleted: its entries go with it."""
    _withdraw(Notification.objects.filter(comment=comment))


def mentions_notify(
    *, actor: User, post: Post, users: Iterable[User], comment: Comment | None = None
) -> None:
    """``actor`` mentioned ``users`` in ``post``'s caption (or in ``comment`` on it): one entry
    each, written in one statement. Those who may not see a private account's post, or a
    hidden one, get theirs read: uncounted, and on their page once they may see the post."""
    recipients = _reachable(actor, (user.pk for user in users))
    if not recipients:
        return
    made = Notification.objects.bulk_create(
        Notification(recipient_id=pk, actor=actor, kind=Kind.MENTION, post=post, comment=comment)
        for pk in recipients
    )
    _unread_add(recipients)
    if post.hidden_at or post.author.is_private:
        _unseen_read(Notification.objects.filter(pk__in=[entry.pk for entry in made]))


def mentions_withdraw(*, post: Post, users: Iterable[User]) -> None:
    """The caption of ``post`` no longer mentions ``users``."""
    _withdraw(
        Notification.objects.filter(
            kind=Kind.MENTION, post=post, comment=None, recipient__in=[user.pk for user in users]
        )
    )


def post_withdraw(*, post: Post) -> None:
    """Before ``post`` is deleted: every entry about it (likes, comments, mentions) goes."""
    _withdraw(Notification.objects.filter(post=post))


# Follows and follow requests.


def follow_notify(*, follower: User, following: User) -> None:
    """``follower`` has just started following ``following``."""
    if _reachable(follower, [following.pk]):
        _single_notify(recipient_id=following.pk, actor=follower, kind=Kind.FOLLOW)


def follow_withdraw(*, follower: User, following: User) -> None:
    """``follower`` stopped following ``following``: the entry goes."""
    _withdraw(Notification.objects.filter(recipient=following, actor=follower, kind=Kind.FOLLOW))


def follow_request_notify(*, requester: User, target: User) -> None:
    """``requester`` asked to follow the private account ``target``."""
    if _reachable(requester, [target.pk]):
        _single_notify(recipient_id=target.pk, actor=requester, kind=Kind.FOLLOW_REQUEST)


def follow_request_withdraw(*, requester: User, target: User) -> None:
    """The request was cancelled, declined or answered: its entry goes."""
    _withdraw(
        Notification.objects.filter(recipient=target, actor=requester, kind=Kind.FOLLOW_REQUEST)
    )


def follow_request_approved_notify(*, requester: User, target: User) -> None:
    """``target`` approved ``requester``'s request: the request's entry goes, and the requester
    is told. (The target approved it themselves, so they get no "started following you".)"""
    follow_request_withdraw(requester=requester, target=target)
    if _reachable(target, [requester.pk]):
        _single_notify(recipient_id=requester.pk, actor=target, kind=Kind.FOLLOW_APPROVED)


def follow_requests_all_withdrawn(*, target: User) -> None:
    """``target`` went public and every pending request became a follow: their entries go."""
    _withdraw(Notification.objects.filter(recipient=target, kind=Kind.FOLLOW_REQUEST))


# Blocks and leaving.


def between_withdraw(*, one: User, other: User) -> None:
    """A block between ``one`` and ``other``: what either did to the other leaves the other's
    activity (what is shown is filtered by member_visibility anyway; this keeps the counts
    right)."""
    _withdraw(
        Notification.objects.filter(Q(recipient=one, actor=other) | Q(recipient=other, actor=one))
    )


def member_withdraw(*, member: User) -> None:
    """Before ``member``'s account is deleted: the entries they caused leave everyone's counts."""
    _withdraw(Notification.objects.filter(actor=member))


# Moderation.


def hidden_withdraw(*, target: Post | Comment) -> None:
    """A moderator has just hidden ``target``, a post or a comment: its entries leave the
    counts of those who no longer see it (its author and staff still do)."""
    field = "post" if isinstance(target, Post) else "comment"
    _unseen_read(Notification.objects.filter(**{field: target}))


def suspended_withdraw(*, member: User) -> None:
    """A moderator has just suspended ``member``: what they did leaves everyone's counts."""
    _unseen_read(Notification.objects.filter(actor=member))


# Reading.


def activity_seen(*, user: User) -> None:
    """``user`` opened their activity: every entry is read and the badge clears.

    The member's row is locked first: an entry committed meanwhile is then either marked read
    here or counted after, never lost from the count.
    """
    if not user.unread_activity:
        return
    with transaction.atomic():
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        Notification.objects.filter(recipient=user, read=False).update(read=True)
        User.objects.filter(pk=user.pk).update(unread_activity=0)
    user.unread_activity = 0
