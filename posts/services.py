"""Writes to posts, likes and comments. A new post's photos are decoded and stored before its rows
are committed; config.media removes them after the rows are gone."""

from collections.abc import Callable, Sequence
from typing import TypeVar
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from activity import services as activity
from config.media import objects_rolled_back, renditions_writing
from members.models import User
from posts import text
from posts.forms import Photo, PhotoRefused, photo_process
from posts.images import post_renditions
from posts.models import Comment, Like, Post, PostImage, SavedPost, Tag

M = TypeVar("M", bound=models.Model)


def _created_once(
    *, rows: models.QuerySet[M], submission: UUID | None, create: Callable[[], M]
) -> M:
    """``create()``, unless ``rows`` already hold the row this form submission made.

    ``submission`` is the form's one-time key, unique per author in the database. A form sent
    twice (a double click, a retry after a time-out) gives the first row back, also when both
    arrive at once: the loser's insert breaks the unique constraint, and the winner's row is
    returned. ``create`` must write in a transaction of its own, so that its failure leaves the
    connection usable.
    """
    earlier = _submitted(rows, submission)
    if earlier:
        return earlier
    try:
        return create()
    except IntegrityError:
        # The same form's other submission committed first, while this one was working.
        earlier = _submitted(rows, submission)
        if earlier is None:
            raise
        return earlier


def _submitted(rows: models.QuerySet[M], submission: UUID | None) -> M | None:
    if submission is None:
        return None
    return rows.filter(submission=submission).first()


def post_create(
    *, author: User, photos: Sequence[Photo], caption: str, submission: UUID | None = None
) -> Post:
    """Make every photo's renditions and store them, then the post's rows, committed only once
    every photo is stored.

    Each rendition is written as soon as it is made, while the pipeline goes on to the next, and
    the rows are inserted while the last ones are written. Raises PhotoRefused for the first
    photo the pipeline refuses (the form has checked their sizes and headers; damaged pixels show
    only as they are decoded). If that or any write fails, the objects already stored are
    deleted again: no object without its row. A form submitted twice (same ``submission``)
    gives the first post, and makes and stores nothing more.
    """
    return _created_once(
        rows=Post.objects.filter(author=author),
        submission=submission,
        create=lambda: _post_store(
            author=author, photos=photos, caption=caption, submission=submission
        ),
    )


def _post_store(
    *, author: User, photos: Sequence[Photo], caption: str, submission: UUID | None
) -> Post:
    images = []
    with objects_rolled_back() as written, renditions_writing(written) as writes:
        for order, photo in enumerate(photos):
            writes.check()
            image = PostImage(order=order, alt_text=photo.alt_text)
            made = writes.into(image.display, image.thumbnail)
            try:
                display, thumbnail = photo_process(photo.source, post_renditions, made=made)
            except ValidationError as exc:
                raise PhotoRefused(order, exc.messages[0]) from None
            image.width, image.height = display.width, display.height
            image.thumbnail_size = thumbnail.width
            images.append(image)
        # The rows are inserted while the last renditions are written, committed once all are.
        with transaction.atomic():
            post = Post.objects.create(author=author, caption=caption, submission=submission)
            for image in images:
                image.post = post
            PostImage.objects.bulk_create(images)
            _links_sync(post, new=True)
            writes.finish()
    return post


def post_update(*, post: Post, caption: str, alt_texts: dict[int, str]) -> Post:
    """Change the caption (and so its tags and mentions) and the photos' alt texts."""
    with transaction.atomic():
        post.caption = caption
        post.save(update_fields=["caption", "updated"])
        images = list(post.images.all())
        for image in images:
            image.alt_text = alt_texts.get(image.pk, image.alt_text)
        PostImage.objects.bulk_update(images, ["alt_text"])
        _links_sync(post)
    return post


def post_delete(*, post: Post) -> None:
    """Delete the post and its rows; its objects go once the deletion has committed."""
    with transaction.atomic():
        activity.post_withdraw(post=post)
        post.delete()


def _links_sync(post: Post, *, new: bool = False) -> None:
    """Point the post's tags and mentions at what its caption now says; those it now mentions
    and did not before are told, those it no longer mentions lose the entry."""
    names = text.hashtags(post.caption)
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    tags = Tag.objects.filter(name__in=names)
    # A member who blocks the author, or whom the author blocks, is not mentioned (and so
    # never told of it).
    names = text.mentions(post.caption)
    # Most captions mention no one: building the visibility rule's query (which then finds it
    # has nothing to ask) cost 1.5 ms of CPU per upload.
    mentioned = (
        list(User.objects.visible_to(post.author).filter(username__in=names)) if names else []
    )
    if new:
        # A new post has no links to compare with: one insert each, where set() would first
        # read the links (none) and check them again before inserting.
        Post.tags.through.objects.bulk_create(Post.tags.through(post=post, tag=t) for t in tags)
        Post.mentions.through.objects.bulk_create(
            Post.mentions.through(post=post, user=user) for user in mentioned
        )
        before = set()
    else:
        before = set(post.mentions.all())
        post.tags.set(tags)
        post.mentions.set(mentioned)
    activity.mentions_notify(
        actor=post.author, post=post, users=[user for user in mentioned if user not in before]
    )
    if before:
        activity.mentions_withdraw(post=post, users=before.difference(mentioned))


def like_create(*, user: User, post: Post) -> None:
    """``user`` likes ``post``; liking again (a double click, a retry) changes nothing."""
    with transaction.atomic():
        _, created = Like.objects.get_or_create(user=user, post=post)
        if created:
            activity.like_notify(user=user, post=post)


def like_delete(*, user: User, post: Post) -> None:
    with transaction.atomic():
        if Like.objects.filter(user=user, post=post).delete()[0]:
            activity.like_withdraw(user=user, post=post)


def comment_create(
    *, author: User, post: Post, text: str, submission: UUID | None = None
) -> Comment:
    """A comment; the same form sent twice (same ``submission``) gives the first one back."""
    return _created_once(
        rows=Comment.objects.filter(author=author),
        submission=submission,
        create=lambda: _comment_store(author=author, post=post, body=text, submission=submission),
    )


def _comment_store(*, author: User, post: Post, body: str, submission: UUID | None) -> Comment:
    with transaction.atomic():
        comment = Comment.objects.create(author=author, post=post, text=body, submission=submission)
        activity.comment_notify(
            comment=comment,
            mentioned=User.objects.filter(username__in=text.mentions(body)),
        )
    return comment


def comment_delete(*, comment: Comment) -> None:
    with transaction.atomic():
        activity.comment_withdraw(comment=comment)
        comment.delete()


def saved_post_create(*, user: User, post: Post) -> None:
    """``user`` saves ``post``; saving again changes nothing."""
    SavedPost.objects.bulk_create([SavedPost(user=user, post=post)], ignore_conflicts=True)


def saved_post_delete(*, user: User, post: Post) -> None:
    SavedPost.objects.filter(user=user, post=post).delete()
