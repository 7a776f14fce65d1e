"""Photo posts, their photos, comments, likes and tags."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from config.media import photo_url
from members.models import content_visibility, member_visibility
from posts.text import TAG_MAX_LENGTH

CAPTION_MAX_LENGTH = 2200
ALT_TEXT_MAX_LENGTH = 1000
COMMENT_MAX_LENGTH = 2200
PHOTOS_MAX = 10
CODE_LENGTH = 11


def new_code() -> str:
    """A short random code for /p/<code>/: it reveals neither the count nor the order of posts."""
    return secrets.token_urlsafe(8)[:CODE_LENGTH]


class Tag(models.Model):
    """A #hashtag, stored as ``posts.text.tag_name`` gives it: #Sunset and #sunset are one tag."""

    name = models.CharField(max_length=TAG_MAX_LENGTH, unique=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("name"), name="tag_name_ci_unique")]

    def __str__(self) -> str:
        return f"#{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("posts:tag", kwargs={"name": self.name})


def moderation_shown(viewer, prefix: str = "") -> models.Q:
    """Whether a post or comment at ``prefix`` is shown to ``viewer`` as far as moderation goes:
    one a moderator hid (``hidden_at`` set) is seen only by its own author and by staff. The
    one place that rule lives, for post_visibility and comment_visibility both."""
    if viewer.is_authenticated and viewer.is_staff:
        return models.Q()
    shown = models.Q(**{f"{prefix}hidden_at__isnull": True})
    if viewer.is_authenticated:
        shown |= models.Q(**{f"{prefix}author": viewer.pk})
    return shown


def post_visibility(viewer, prefix: str = "") -> models.Q:
    """Which posts ``viewer`` may see, as a condition on the post at ``prefix`` (for example
    "post__"). The one rule of who sees what; every page, list and answer goes through it:

    - the author is visible to the viewer (active, no block either way: member_visibility);
    - the author's account is public, or the viewer follows it (an approved follow);
    - the post is not hidden by a moderator (moderation_shown).

    Authors always see their own posts, hidden ones included; staff see hidden posts too.
    """
    author = f"{prefix}author__"
    seen = member_visibility(viewer, author) & content_visibility(viewer, author)
    if viewer.is_authenticated:
        seen = models.Q(**{f"{prefix}author": viewer.pk}) | seen
    return seen & moderation_shown(viewer, prefix)


class PostQuerySet(models.QuerySet):
    def visible_to(self, viewer) -> "PostQuerySet":
        """The posts ``viewer`` (a member or AnonymousUser) may see: see ``post_visibility``."""
        return self.filter(post_visibility(viewer))


class Post(models.Model):
    """One to ten photos with a caption, by one author."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts"
    )
    code = models.CharField(max_length=CODE_LENGTH, unique=True, default=new_code, editable=False)
    caption = models.TextField(max_length=CAPTION_MAX_LENGTH, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    tags = models.ManyToManyField(Tag, related_name="posts", blank=True)
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="mentioned_in", blank=True
    )
    # The form's one-time key: a second submission of the same form (a double click, a retry
    # after a time-out) finds the first post instead of making another (services._created_once).
    submission = models.UUIDField(null=True, blank=True, editable=False)
    # Set by a moderator: the post is then seen only by its author and staff; its photos stay.
    hidden_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["author", "submission"], name="post_submitted_once")
        ]
        indexes = [
            models.Index(fields=["-created", "-id"], name="post_recent"),
            models.Index(fields=["author", "-created", "-id"], name="post_author_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.code} by {self.author}"

    def get_absolute_url(self) -> str:
        return reverse("posts:detail", kwargs={"code": self.code})


class PostImage(models.Model):
    """One photo of a post: a display rendition and a square thumbnail, both in storage."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="images")
    order = models.PositiveSmallIntegerField()
    display = models.ImageField(upload_to="posts/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    thumbnail = models.ImageField(upload_to="posts/")
    thumbnail_size = models.PositiveIntegerField()
    alt_text = models.CharField(max_length=ALT_TEXT_MAX_LENGTH, blank=True)

    class Meta:
        ordering = ["post", "order"]
        constraints = [
            models.UniqueConstraint(fields=["post", "order"], name="postimage_order_unique")
        ]

    def __str__(self) -> str:
        return f"photo {self.order + 1} of {self.post.code}"

    # The photos' URLs: a private account's live shorter (config.storage.private_url). Pages
    # fetch images with their post and its author, so these cost no query.
    @property
    def display_url(self) -> str:
        return photo_url(self.display, private=self.post.author.is_private)

    @property
    def thumbnail_url(self) -> str:
        return photo_url(self.thumbnail, private=self.post.author.is_private)


def comment_visibility(viewer, prefix: str = "") -> models.Q:
    """Which comments ``viewer`` may see: on a post they may see (post_visibility), by a member
    they may see (member_visibility), and not hidden by a moderator, except from its own
    author and staff (moderation_shown)."""
    return (
        post_visibility(viewer, f"{prefix}post__")
        & member_visibility(viewer, f"{prefix}author__")
        & moderation_shown(viewer, prefix)
    )


class CommentQuerySet(models.QuerySet):
    def visible_to(self, viewer) -> "CommentQuerySet":
        """The comments ``viewer`` may see: see ``comment_visibility``."""
        return self.filter(comment_visibility(viewer))


class Comment(models.Model):
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    text = models.TextField(max_length=COMMENT_MAX_LENGTH)
    created = models.DateTimeField(auto_now_add=True)
    # The form's one-time key, as on Post: the same form sent twice makes one comment.
    submission = models.UUIDField(null=True, blank=True, editable=False)
    # Set by a moderator, as on Post.
    hidden_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(fields=["author", "submission"], name="comment_submitted_once")
        ]
        indexes = [models.Index(fields=["post", "-created", "-id"], name="comment_post_recent")]

    def __str__(self) -> str:
        return f"{self.author} on {self.post.code}"


class Like(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes"
    )
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="like_once")]
        # The latest likers of a post, as activity names them ("alice, bob and 3 others").
        indexes = [models.Index(fields=["post", "-created", "-id"], name="like_post_recent")]

    def __str__(self) -> str:
        return f"{self.user} likes {self.post.code}"


class SavedPost(models.Model):
    """``user`` bookmarked ``post``; only they see what they saved."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_posts"
    )
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="saves")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="save_once")]
        indexes = [models.Index(fields=["user", "-created", "-id"], name="save_recent")]

    def __str__(self) -> str:
        return f"{self.user} saved {self.post.code}"
