"""Rows for tests, with sensible defaults."""

import itertools

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission

from members.models import Follow, User
from moderation.roles import moderators_group
from posts.models import Comment, Like, Post, PostImage

PASSWORD = "correct-horse-battery-staple"
_numbers = itertools.count(1)


def user(**fields) -> User:
    number = next(_numbers)
    fields.setdefault("username", f"user{number}")
    fields.setdefault("email", f"{fields['username']}@example.com")
    return User.objects.create_user(password=PASSWORD, **fields)


def server_user(**fields) -> User:
    """A user who can log in to a server process, which checks production's password hashes."""
    made = user(**fields)
    made.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    made.save(update_fields=["password"])
    return made


def moderator(**fields) -> User:
    """Staff in the Moderators group (made by moderation's migration), not a superuser."""
    made = user(is_staff=True, **fields)
    # The migration made the group; a flush (transactional tests) may have removed it since.
    made.groups.add(moderators_group(Group, Permission))
    return made


def follow(follower: User, following: User) -> Follow:
    return Follow.objects.create(follower=follower, following=following)


def post(author: User, caption: str = "", *, photos: int = 1, created=None) -> Post:
    """A post whose photo rows name objects that were never stored: for tests of pages."""
    made = Post.objects.create(author=author, caption=caption)
    if created is not None:
        Post.objects.filter(pk=made.pk).update(created=created)
        made.refresh_from_db()
    PostImage.objects.bulk_create(
        PostImage(
            post=made,
            order=order,
            display=f"posts/{made.code}-{order}.jpg",
            width=1080,
            height=1350,
            thumbnail=f"posts/{made.code}-{order}-t.jpg",
            thumbnail_size=640,
            alt_text=f"photo {order + 1}",
        )
        for order in range(photos)
    )
    return made


def comment(author: User, on: Post, text: str = "Nice!") -> Comment:
    return Comment.objects.create(author=author, post=on, text=text)


def like(user: User, on: Post) -> Like:
    return Like.objects.create(user=user, post=on)
