"""Writes that touch members, their photos and their follows."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from config.media import objects_rolled_back, rendition_store
from members.models import EMAIL_TAKEN, USERNAME_TAKEN, Follow, User
from posts.images import Rendition


def user_create(*, user: User, password: str) -> User:
    """Save the new member ``user`` with ``password``. A username or email taken meanwhile by a
    simultaneous sign-up (which the form's own check could not see) is a ValidationError on
    that field, as the form would have said, not a 500."""
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # The unique constraints' names (members_user_email_ci_unique, members_user_username_…)
        # say which field clashed; PostgreSQL reports the name, SQLite puts it in the message.
        diag = getattr(exc.__cause__, "diag", None)
        constraint = getattr(diag, "constraint_name", None) or str(exc)
        for field, message in (("email", EMAIL_TAKEN), ("username", USERNAME_TAKEN)):
            if field in constraint:
                raise ValidationError({field: message}) from exc
        raise
    return user


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
