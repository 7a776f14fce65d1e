"""Writes that touch members, their photos and their follows."""

from django.db import IntegrityError, transaction

from config.media import objects_rolled_back, rendition_store
from members.models import Follow, User
from posts.images import Rendition


def profile_update(*, user: User, photo: Rendition | None, remove_photo: bool) -> User:
    """Save ``user``'s edited fields, and their new (or removed) profile photo.

    The new photo is written first and removed again if the row cannot be saved. The photo the
    row held until now, whichever request stored it, is deleted after the commit (config.media).
    """
    with objects_rolled_back() as written:
        if photo is not None:
            rendition_store(field_file=user.avatar, rendition=photo, written=written)
        elif remove_photo:
            user.avatar = ""
        with transaction.atomic():
            user.save()
    return user


def follow_create(*, follower: User, following: User) -> None:
    """``follower`` follows ``following``; following again changes nothing."""
    if follower.pk == following.pk:
        raise ValueError("You can't follow yourself.")
    try:
        with transaction.atomic():
            Follow.objects.get_or_create(follower=follower, following=following)
    except IntegrityError:
        # A concurrent request created the same follow first: the outcome is the same.
        pass


def follow_delete(*, follower: User, following: User) -> None:
    """``follower`` stops following ``following``; unfollowing again changes nothing."""
    Follow.objects.filter(follower=follower, following=following).delete()
