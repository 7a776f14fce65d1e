"""Reads of members that need annotations, kept in one place so query counts stay fixed."""

from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.http import Http404

from config import prepared
from members.models import (
    Block,
    Follow,
    FollowRequest,
    User,
    content_visibility,
    folded,
    viewer_shape,
)
from posts.models import Post


def count_of(queryset: QuerySet) -> Subquery:
    """A correlated ``SELECT COUNT(*)`` over ``queryset``: one index scan, no join fan-out."""
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Subquery(counted, output_field=IntegerField())


def user_profile(*, username: str, viewer: User) -> User:
    """The profile's owner, if ``viewer`` may see them (404 otherwise), with post, follower and
    following counts; may ``viewer`` see their posts and people (``content_visible``), does
    ``viewer`` follow them, or ask to?"""
    shape = ("user_profile", viewer_shape(viewer))
    found = prepared.run(shape, _profiles, viewer, folded(username))
    if not found:
        raise Http404("No member by that name.")
    return found[0]


def _profiles(viewer: User, username: str) -> QuerySet[User]:
    users = User.objects.visible_to(viewer).annotate(
        post_count=count_of(Post.objects.filter(author=OuterRef("pk"))),
        followers_count=count_of(Follow.objects.filter(following=OuterRef("pk"))),
        following_count=count_of(Follow.objects.filter(follower=OuterRef("pk"))),
        content_visible=ExpressionWrapper(content_visibility(viewer), output_field=BooleanField()),
    )
    if viewer.is_authenticated:
        users = users.annotate(
            followed_by_viewer=Exists(
                Follow.objects.filter(follower=viewer, following=OuterRef("pk"))
            ),
            requested_by_viewer=Exists(
                FollowRequest.objects.filter(requester=viewer, target=OuterRef("pk"))
            ),
        )
    return users.named(username)


def user_suggestions(*, viewer: User, count: int) -> list[User]:
    """The newest members ``viewer`` may see and does not follow yet, with what the
    "Suggested for you" box shows of them (posts/_suggestions.html): not their password hash,
    email or two-factor secrets."""
    shape = ("user_suggestions", viewer_shape(viewer), count)
    return prepared.run(shape, lambda stand_in: _suggested(stand_in, count), viewer)


def _suggested(viewer: User, count: int) -> QuerySet[User]:
    return (
        User.objects.visible_to(viewer)
        .exclude(pk=viewer.pk)
        .exclude(follower_set__follower=viewer)
        .only("username", "full_name", "avatar")
        .order_by("-date_joined")[:count]
    )


def user_people_visible(*, username: str, viewer: User) -> User:
    """``user_profile``, or 404 if ``viewer`` may not see whom the member follows or who
    follows them (a private account they do not follow)."""
    owner = user_profile(username=username, viewer=viewer)
    if not owner.content_visible:
        raise Http404("This account is private.")
    return owner


def user_followers(*, user: User, viewer: User) -> QuerySet[User]:
    """Who follows ``user`` that ``viewer`` may see, most recent first."""
    return (
        User.objects.visible_to(viewer)
        .filter(following_set__following=user)
        .order_by("-following_set__created")
    )


def user_following(*, user: User, viewer: User) -> QuerySet[User]:
    """Whom ``user`` follows that ``viewer`` may see, most recent first."""
    return (
        User.objects.visible_to(viewer)
        .filter(follower_set__follower=user)
        .order_by("-follower_set__created")
    )


def follow_requests_pending(*, user: User) -> QuerySet[FollowRequest]:
    """Who asks to follow ``user`` (visible to them), oldest request first."""
    return (
        FollowRequest.objects.filter(target=user, requester__in=User.objects.visible_to(user))
        .select_related("requester")
        .order_by("created", "id")
    )


def blocked_members(*, user: User) -> QuerySet[User]:
    """Whom ``user`` blocks, most recent first."""
    return User.objects.filter(blocked_by_set__blocker=user).order_by("-blocked_by_set__created")


def unreachable_usernames(*, user: User) -> frozenset[str]:
    """Usernames of the members ``user`` blocks or is blocked by: their @mentions are not
    links for ``user``."""
    names = User.objects.filter(Exists(Block.objects.between(user.pk, OuterRef("pk")))).values_list(
        "username", flat=True
    )
    return frozenset(names)
