"""Members' reports of posts, comments and accounts, and the log of what moderators did."""

from django.conf import settings
from django.db import models

from members.models import User
from posts.models import Comment, Post

REPORT_TEXT_MAX_LENGTH = 1000
# The three things a report can name, as the field that names them on Report.
KINDS = ("post", "comment", "account")


class Reason(models.TextChoices):
    SPAM = "spam", "Spam"
    NUDITY = "nudity", "Nudity or sexual activity"
    HARASSMENT = "harassment", "Bullying or harassment"
    VIOLENCE = "violence", "Violence or dangerous organisations"
    INTELLECTUAL_PROPERTY = "intellectual_property", "Intellectual property violation"
    OTHER = "other", "Something else"


class Resolution(models.TextChoices):
    DISMISSED = "dismissed", "Dismissed"
    HIDDEN = "hidden", "Hidden"
    DELETED = "deleted", "Deleted"
    SUSPENDED = "suspended", "Account suspended"


def kind_of(target: models.Model) -> str:
    """Which of KINDS ``target`` (a Post, a Comment or a member) is."""
    if isinstance(target, Post):
        return "post"
    if isinstance(target, Comment):
        return "comment"
    if isinstance(target, User):
        return "account"
    raise TypeError(f"Nothing of type {type(target).__name__} can be reported.")


class ReportQuerySet(models.QuerySet):
    def open(self) -> "ReportQuerySet":
        """Reports no moderator has acted on yet."""
        return self.filter(resolved_at__isnull=True)

    def about(self, target: models.Model) -> "ReportQuerySet":
        """Reports of ``target`` (a post, a comment or a member)."""
        return self.filter(**{kind_of(target): target})


class Report(models.Model):
    """A member's report of exactly one post, comment or account, open until a moderator acts.

    A report goes with what it names (a deleted post takes its reports along); the audit log
    keeps what was done about it."""

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reports_received",
    )
    reason = models.CharField(max_length=32, choices=Reason.choices)
    text = models.TextField(max_length=REPORT_TEXT_MAX_LENGTH, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(post__isnull=False, comment__isnull=True, account__isnull=True)
                    | models.Q(post__isnull=True, comment__isnull=False, account__isnull=True)
                    | models.Q(post__isnull=True, comment__isnull=True, account__isnull=False)
                ),
                name="report_names_one_target",
            ),
            *(
                models.UniqueConstraint(
                    fields=["reporter", kind],
                    condition=models.Q(resolved_at__isnull=True, **{f"{kind}__isnull": False}),
                    name=f"report_{kind}_open_once",
                )
                for kind in KINDS
            ),
        ]
        indexes = [
            models.Index(
                fields=["created"],
                condition=models.Q(resolved_at__isnull=True),
                name="report_open_recent",
            )
        ]
        permissions = [
            ("hide_content", "Can hide and restore reported posts and comments"),
            ("delete_content", "Can delete reported posts and comments"),
            ("suspend_member", "Can suspend and reactivate members"),
        ]
        verbose_name_plural = "moderation queue"

    def __str__(self) -> str:
        return f"{self.reporter} reports {self.target} ({self.get_reason_display()})"

    @property
    def target(self) -> models.Model:
        return self.post or self.comment or self.account


class Action(models.TextChoices):
    DISMISS = "dismiss", "Dismissed the reports"
    HIDE = "hide", "Hid"
    DELETE = "delete", "Deleted"
    SUSPEND = "suspend", "Suspended"
    RESTORE = "restore", "Restored"


class AuditEntry(models.Model):
    """One moderator action: who did what to which target, when and why. Written once, never
    changed: the admin offers no add, change or delete, to superusers neither, and saving an
    existing entry or deleting one raises."""

    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="moderation_actions",
    )
    # As they were at the time: a moderator may be renamed or deleted, a target deleted.
    moderator_name = models.CharField(max_length=150)
    action = models.CharField(max_length=16, choices=Action.choices)
    target_kind = models.CharField(max_length=16)
    target_id = models.BigIntegerField()
    target_label = models.CharField(max_length=300)
    reason = models.TextField(blank=True)
    reports = models.CharField("reports closed", max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        default_permissions = ("view",)
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.moderator_name}: {self.get_action_display()} {self.target_label}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise PermissionError("Audit log entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit log entries cannot be deleted.")
