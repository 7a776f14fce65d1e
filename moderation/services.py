"""Writes of moderation: members' reports, and moderators' actions on what was reported.

Every action of a moderator closes the open reports it answers and writes one AuditEntry, in the
same transaction: no action without its entry."""

from collections import Counter

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from activity import services as activity
from members.models import User
from members.services import sessions_end_others
from moderation.models import Action, AuditEntry, Reason, Report, Resolution, kind_of
from posts import services as posts
from posts.models import Comment, Post

LABEL_TEXT = 80


def report_create(*, reporter: User, target: models.Model, reason: str, text: str = "") -> Report:
    """``reporter``'s report of ``target`` (a post, a comment or a member). While one of theirs
    about it is still open, that one is given back instead of a second (the database holds
    one open report per reporter and target, also when two arrive at once)."""
    kind = kind_of(target)
    own = target.pk if kind == "account" else target.author_id
    if own == reporter.pk:
        raise ValueError("You can't report yourself or what you shared.")
    earlier = Report.objects.open().about(target).filter(reporter=reporter).first()
    if earlier:
        return earlier
    try:
        with transaction.atomic():
            return Report.objects.create(
                reporter=reporter, reason=reason, text=text, **{kind: target}
            )
    except IntegrityError:
        # The same member's other report of it committed first.
        earlier = Report.objects.open().about(target).filter(reporter=reporter).first()
        if earlier is None:
            raise
        return earlier


def target_label(target: models.Model) -> str:
    """What the audit log calls ``target``: enough to know it after it is deleted."""
    if isinstance(target, Post):
        return f"post {target.code} by {target.author}: {target.caption[:LABEL_TEXT]}"
    if isinstance(target, Comment):
        return f"comment by {target.author} on post {target.post.code}: {target.text[:LABEL_TEXT]}"
    return f"account {target}"


def _close(targets: list[models.Model], resolution: str) -> str:
    """Close the open reports of ``targets``; say which reasons they gave ("Spam: 2")."""
    condition = models.Q(pk__in=[])
    for target in targets:
        condition |= models.Q(**{kind_of(target): target})
    closing = Report.objects.open().filter(condition)
    counts = Counter(closing.values_list("reason", flat=True))
    closing.update(resolved_at=timezone.now(), resolution=resolution)
    return ", ".join(f"{Reason(reason).label}: {count}" for reason, count in counts.most_common())


def _log(
    *, moderator: User, action: str, target: models.Model, reason: str, reports: str = ""
) -> AuditEntry:
    return AuditEntry.objects.create(
        moderator=moderator,
        moderator_name=moderator.get_username(),
        action=action,
        target_kind=kind_of(target),
        target_id=target.pk,
        target_label=target_label(target)[: AuditEntry._meta.get_field("target_label").max_length],
        reason=reason,
        reports=reports[: AuditEntry._meta.get_field("reports").max_length],
    )


@transaction.atomic
def reports_dismiss(*, moderator: User, target: models.Model, reason: str = "") -> AuditEntry:
    """Close the open reports of ``target`` and leave it as it is."""
    closed = _close([target], Resolution.DISMISSED)
    return _log(
        moderator=moderator, action=Action.DISMISS, target=target, reason=reason, reports=closed
    )


@transaction.atomic
def content_hide(*, moderator: User, target: Post | Comment, reason: str = "") -> AuditEntry:
    """Hide a post or a comment: from then on only its author and staff see it (the visibility
    rule in posts.models), and its activity entries leave the badges of those who no longer
    see them; its rows and photos stay, so it can be restored."""
    target.hidden_at = timezone.now()
    type(target).objects.filter(pk=target.pk).update(hidden_at=target.hidden_at)
    activity.hidden_withdraw(target=target)
    closed = _close([target], Resolution.HIDDEN)
    return _log(
        moderator=moderator, action=Action.HIDE, target=target, reason=reason, reports=closed
    )


@transaction.atomic
def content_delete(*, moderator: User, target: Post | Comment, reason: str = "") -> AuditEntry:
    """Delete a post or a comment as its author would (its activity entries leave the badges);
    its photos leave storage once this commits (config.media), its reports go with it, the
    audit entry stays."""
    closed = _close([target], Resolution.DELETED)
    entry = _log(
        moderator=moderator, action=Action.DELETE, target=target, reason=reason, reports=closed
    )
    if isinstance(target, Post):
        posts.post_delete(post=target)
    else:
        posts.comment_delete(comment=target)
    return entry


@transaction.atomic
def member_suspend(
    *, moderator: User, member: User, reason: str, reported: models.Model | None = None
) -> AuditEntry:
    """Suspend ``member``: they can no longer log in (and are told ``reason`` when they try),
    every session of theirs ends, and all they shared is seen by no one (an inactive member's
    content is hidden by the visibility rule), nor counted on anyone's activity badge. Closes
    the reports of the account and of ``reported``, the post or comment of theirs that led to
    it."""
    if not reason.strip():
        raise ValueError("Say why: the member reads it when they try to log in.")
    if member.is_staff or member.is_superuser:
        raise ValueError("Staff accounts are not suspended from the queue.")
    User.objects.filter(pk=member.pk).update(is_active=False, suspension_reason=reason)
    member.is_active, member.suspension_reason = False, reason
    sessions_end_others(user=member)
    activity.suspended_withdraw(member=member)
    closed = _close([member, *([reported] if reported else [])], Resolution.SUSPENDED)
    return _log(
        moderator=moderator, action=Action.SUSPEND, target=member, reason=reason, reports=closed
    )


@transaction.atomic
def content_restore(*, moderator: User, target: Post | Comment, reason: str = "") -> AuditEntry:
    """Show a hidden post or comment again (its activity entries come back, read)."""
    type(target).objects.filter(pk=target.pk).update(hidden_at=None)
    target.hidden_at = None
    return _log(moderator=moderator, action=Action.RESTORE, target=target, reason=reason)


@transaction.atomic
def member_reactivate(*, moderator: User, member: User, reason: str = "") -> AuditEntry:
    """Lift a suspension: the member can log in again, and their content is seen again."""
    User.objects.filter(pk=member.pk).update(is_active=True, suspension_reason="")
    member.is_active, member.suspension_reason = True, ""
    return _log(moderator=moderator, action=Action.RESTORE, target=member, reason=reason)
