"""People and who follows whom."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.crypto import salted_hmac

USERNAME_MAX_LENGTH = 30
LOGIN_MAX_LENGTH = 254
USERNAME_TAKEN = "A user with that username already exists."
EMAIL_TAKEN = "An account with that email address already exists."

# Instagram's alphabet: ASCII letters, digits, '.' and '_'. Keeping usernames ASCII and
# lowercase rules out look-alikes that differ only in case or by confusable characters.
username_validator = RegexValidator(
    r"^(?!\.)(?!.*\.\.)[a-z0-9._]+(?<!\.)\Z",
    "Use only lowercase letters, numbers, periods and underscores; a period may not start "
    "or end a username or follow another.",
)

# First path segments the site uses itself, which a profile URL (/<username>/) would shadow.
RESERVED_USERNAMES = frozenset(
    {
        "about", "accounts", "admin", "api", "explore", "favicon.ico", "healthz", "help",
        "login", "logout", "media", "p", "posts", "robots.txt", "search", "settings", "signup",
        "static", "stories", "tags",
    }
)  # fmt: skip


def folded(text: str) -> str:
    """Usernames, emails and log-ins as they are compared and stored: trimmed and lowercase.

    Lowercasing can lengthen text ("İ" becomes "i" and a combining dot above), so length and
    format are checked on the folded text, never on what was typed.
    """
    return text.strip().lower()


class MemberQuerySet(models.QuerySet):
    """Case-insensitive look-ups written as LOWER(column) = 'value', which the case-insensitive
    unique indexes serve; Django's __iexact compiles to UPPER() and reads the whole table."""

    def named(self, username: str) -> "MemberQuerySet":
        return self.alias(username_lower=Lower("username")).filter(username_lower=folded(username))

    def with_email(self, email: str) -> "MemberQuerySet":
        return self.alias(email_lower=Lower("email")).filter(email_lower=folded(email))

    def by_login(self, login: str) -> "MemberQuerySet":
        """The member a log-in names, by username or by email."""
        login = folded(login)
        return self.alias(username_lower=Lower("username"), email_lower=Lower("email")).filter(
            models.Q(username_lower=login) | models.Q(email_lower=login)
        )

    def visible_to(self, viewer) -> "MemberQuerySet":
        """The members ``viewer`` may see at all: see ``member_visibility``."""
        return self.filter(member_visibility(viewer))


class MemberManager(UserManager.from_queryset(MemberQuerySet)):
    def get_by_natural_key(self, username: str) -> "User":
        return self.named(username).get()


class User(AbstractUser):
    """A member: logs in with username or email, has a public profile."""

    first_name = None
    last_name = None
    username = models.CharField(
        max_length=USERNAME_MAX_LENGTH,
        unique=True,
        validators=[username_validator],
        help_text="Up to 30 lowercase letters, numbers, periods and underscores.",
        error_messages={"unique": USERNAME_TAKEN},
    )
    email = models.EmailField("email address")
    email_verified = models.BooleanField(
        default=False, help_text="The member followed a confirmation link sent to the address."
    )
    # An address the member asked to change to; it replaces ``email`` once its link is followed.
    pending_email = models.EmailField(blank=True)
    # Bumped by "log out everywhere else": part of the session hash, so older sessions end.
    session_generation = models.PositiveIntegerField(default=0)
    # Two-factor log-in: on while the TOTP secret is set (members/totp.py).
    two_factor_secret = models.CharField(max_length=32, blank=True, editable=False)
    # The last time-step whose code was accepted: a code of that step or before it is refused.
    two_factor_last_step = models.BigIntegerField(default=0, editable=False)
    # The unused backup codes, each as {"hint": its first characters, "hash": make_password of
    # it} (members/totp.py); each is removed when it is used.
    two_factor_backup_codes = models.JSONField(default=list, blank=True, editable=False)
    full_name = models.CharField(max_length=150, blank=True)
    bio = models.CharField(max_length=150, blank=True)
    website = models.URLField(max_length=200, blank=True)
    avatar = models.ImageField(
        "profile photo",
        upload_to="avatars/",
        blank=True,
    )
    is_private = models.BooleanField(
        "private account",
        default=False,
        help_text="Only approved followers see the member's posts, followers and following.",
    )
    # Set by a moderator who suspends the account (is_active is then False): shown to the
    # member when they try to log in.
    suspension_reason = models.TextField(blank=True)
    # How many activity entries the member has not seen: kept by activity.services in the
    # transactions that write the entries, so that the badge costs no query on any page.
    unread_activity = models.PositiveIntegerField(default=0, editable=False)

    objects = MemberManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="members_user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="members_user_username_ci_unique"),
        ]
        indexes = [models.Index(fields=["-date_joined"], name="user_recent")]

    def __str__(self) -> str:
        return self.username

    def clean_fields(self, exclude=None) -> None:
        """Fold username and email first, so that their rules judge what will be stored."""
        self.username = folded(self.normalize_username(self.username or ""))
        self.email = folded(self.email or "")
        super().clean_fields(exclude)

    def get_absolute_url(self) -> str:
        return reverse("members:profile", kwargs={"username": self.username})

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name or self.username

    @property
    def two_factor_on(self) -> bool:
        return bool(self.two_factor_secret)

    def _get_session_auth_hash(self, secret=None) -> str:
        """Django's HMAC of the password hash, with the session generation mixed in once it
        is bumped: a new password or "log out everywhere else" ends every older session.
        Generation 0 keeps Django's own hash, so existing sessions survive the upgrade."""
        if not self.session_generation:
            return super()._get_session_auth_hash(secret)
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class Follow(models.Model):
    """``follower`` sees ``following``'s posts in their feed."""

    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_set")
    following = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_set")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "following"], name="follow_once"),
            models.CheckConstraint(
                condition=~models.Q(follower=models.F("following")), name="no_self_follow"
            ),
        ]
        indexes = [models.Index(fields=["following", "-created"])]

    def __str__(self) -> str:
        return f"{self.follower} follows {self.following}"


class FollowRequest(models.Model):
    """``requester`` asked to follow the private account ``target``, who has not answered yet."""

    requester = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="follow_requests_sent"
    )
    target = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follow_requests")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["requester", "target"], name="follow_request_once"),
            models.CheckConstraint(
                condition=~models.Q(requester=models.F("target")), name="no_self_follow_request"
            ),
        ]
        indexes = [models.Index(fields=["target", "-created"])]

    def __str__(self) -> str:
        return f"{self.requester} asks to follow {self.target}"


class BlockQuerySet(models.QuerySet):
    def involving(self, member) -> "BlockQuerySet":
        """Blocks ``member`` (a member, an id or an OuterRef) made or is subject to."""
        return self.filter(models.Q(blocker=member) | models.Q(blocked=member))

    def between(self, one, other) -> "BlockQuerySet":
        """Blocks either way between ``one`` and ``other`` (members, ids or OuterRefs)."""
        return self.filter(
            models.Q(blocker=one, blocked=other) | models.Q(blocker=other, blocked=one)
        )


class Block(models.Model):
    """``blocker`` and ``blocked`` no longer see or reach each other, either way."""

    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocking_set")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocked_by_set")
    created = models.DateTimeField(auto_now_add=True)

    objects = BlockQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once"),
            models.CheckConstraint(
                condition=~models.Q(blocker=models.F("blocked")), name="no_self_block"
            ),
        ]
        indexes = [models.Index(fields=["blocked", "blocker"], name="block_reverse")]

    def __str__(self) -> str:
        return f"{self.blocker} blocks {self.blocked}"


def member_visibility(viewer, prefix: str = "") -> models.Q:
    """Who ``viewer`` may see at all, as a condition on the member at ``prefix`` (for example
    "author__"): active, and no block between them either way. The one rule every page that
    shows a member goes through; a private account is seen, its content is not
    (posts.models.post_visibility)."""
    shown = models.Q(**{f"{prefix}is_active": True})
    if not viewer.is_authenticated:
        return shown
    member = models.OuterRef(prefix.removesuffix("__") or "pk")
    # One NOT EXISTS per direction rather than one over Block.objects.between: PostgreSQL
    # probes block_once or block_reverse for each, whereas with the OR it compared every
    # member with each block the viewer made or is subject to (450,000 comparisons when search
    # checked 2,250 near misses against the 200 blocks of bench/search.py's reader).
    blocked = Block.objects.filter(blocker=viewer.pk, blocked=member)
    blocking = Block.objects.filter(blocker=member, blocked=viewer.pk)
    return shown & ~models.Exists(blocked) & ~models.Exists(blocking)


def content_visibility(viewer, prefix: str = "") -> models.Q:
    """Whose content (posts, followers and following) ``viewer`` may see, as a condition on the
    member at ``prefix``: their own, a public account's, or one they follow (an approved
    follow). Says nothing of blocks or suspension: combine it with ``member_visibility``, as
    posts.models.post_visibility and members.selectors.user_profile do."""
    public = models.Q(**{f"{prefix}is_private": False})
    if not viewer.is_authenticated:
        return public
    member = models.OuterRef(prefix.removesuffix("__") or "pk")
    followed = models.Exists(Follow.objects.filter(follower=viewer.pk, following=member))
    return models.Q(**{prefix.removesuffix("__") or "pk": viewer.pk}) | public | followed


def viewer_shape(viewer) -> tuple:
    """What the visibility rules (member_visibility, content_visibility,
    posts.models.post_visibility and comment_visibility) read of ``viewer`` besides its id:
    the SQL they make is the same for two viewers of one shape (config/prepared.py compiles it
    once per shape). A rule that starts reading another attribute of the viewer adds it here."""
    return (viewer.is_authenticated, viewer.is_staff)
