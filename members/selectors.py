"""Reads of members that need annotations, kept in one place so query counts stay fixed."""

from django.db.models import Exists, F, Func, IntegerField, OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from members.models import Follow, User
from posts.models import Post


def count_of(queryset: QuerySet) -> Subquery:
    """A correlated ``SELECT COUNT(*)`` over ``queryset``: one index scan, no join fan-out."""
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Subquery(counted, output_field=IntegerField())


def user_profile(*, username: str, viewer: User) -> User:
    """The profile's owner with post, follower and following counts; does ``viewer`` follow?"""
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
    return get_object_or_404(users.named(username))


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


def follow_requests_pending(*, user: User) -> list:
    """Stand-in until the privacy branch's selector is merged: the requests ``user`` has not
    answered yet, shown at the top of their activity."""
    return []
