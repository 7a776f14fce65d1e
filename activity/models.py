"""What happened to a member: likes of their posts, comments, mentions, follows and requests."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """One entry of a member's activity.

    Likes are grouped as they are shown: one entry per liked post ("alice, bob and 3 others
    liked your post"), whose likers are read from the likes themselves; ``actor`` is the latest
    of them and ``created`` the time of the latest like. Every other kind is one entry per event.
    """

    class Kind(models.TextChoices):
        LIKE = "like", "like"
        COMMENT = "comment", "comment"
        MENTION = "mention", "mention"
        FOLLOW = "follow", "follow"
        FOLLOW_REQUEST = "follow_request", "follow request"
        FOLLOW_APPROVED = "follow_approved", "follow approved"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    post = models.ForeignKey(
        "posts.Post", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    comment = models.ForeignKey(
        "posts.Comment", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    read = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(recipient=models.F("actor")), name="notification_not_self"
            ),
            models.UniqueConstraint(
                fields=["recipient", "post"],
                condition=models.Q(kind="like"),
                name="notification_likes_grouped",
            ),
            models.UniqueConstraint(
                fields=["comment"], condition=models.Q(kind="comment"), name="notification_comment"
            ),
            models.UniqueConstraint(
                fields=["recipient", "post"],
                condition=models.Q(kind="mention", comment__isnull=True),
                name="notification_caption_mention",
            ),
            models.UniqueConstraint(
                fields=["recipient", "comment"],
                condition=models.Q(kind="mention", comment__isnull=False),
                name="notification_comment_mention",
            ),
            models.UniqueConstraint(
                fields=["recipient", "actor", "kind"],
                condition=models.Q(kind__in=["follow", "follow_request", "follow_approved"]),
                name="notification_follow",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created", "-id"], name="notification_recent"),
            models.Index(
                fields=["recipient"], condition=models.Q(read=False), name="notification_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id} by {self.actor_id}"
