"""Reads of members that need annotations, kept in one place so query counts stay fixed."""

from django.db.models import Exists, F, Func, IntegerField, OuterRef, QuerySet, Subquery
from django.http import Http404

from config import prepared
from members.models import Follow, User, folded, viewer_shape
from posts.models import Post


def count_of(queryset: QuerySet) -> Subquery:
    """A correlated ``SELECT COUNT(*)`` over ``queryset``: one index scan, no join fan-out."""
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Subquery(counted, output_field=IntegerField())


def user_profile(*, username: str, viewer: User) -> User:
    """The profile's owner with post, follower and following counts; does ``viewer`` follow?"""
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
    )
    if viewer.is_authenticated:
        users = users.annotate(
            followed_by_viewer=Exists(
                Follow.objects.filter(follower=viewer, following=OuterRef("pk"))
            )
        )
    return users.named(username)


def user_suggestions(*, viewer: User, count: int) -> list[User]:
    """The newest members ``viewer`` may see and does not follow yet."""
    shape = ("user_suggestions", viewer_shape(viewer), count)
    return prepared.run(shape, lambda stand_in: _suggested(stand_in, count), viewer)


def _suggested(viewer: User, count: int) -> QuerySet[User]:
    return (
        User.objects.visible_to(viewer)
        .exclude(pk=viewer.pk)
        .exclude(follower_set__follower=viewer)
        .order_by("-date_joined")[:count]
    )


def user_followers(*, user: User) -> QuerySet[User]:
    """Who follows ``user``, most recent first."""
    return User.objects.filter(following_set__following=user, is_active=True).order_by(
        "-following_set__created"
    )


def user_following(*, user: User) -> QuerySet[User]:
    """Whom ``user`` follows, most recent first."""
    return User.objects.filter(follower_set__follower=user, is_active=True).order_by(
        "-follower_set__created"
    )
