"""Writes to posts, likes and comments. Photos are stored before rows; config.media removes
them after the rows are gone."""

from collections.abc import Sequence
from uuid import UUID

from django.db import IntegrityError, transaction

from config.media import objects_rolled_back, rendition_store
from members.models import User
from posts import text
from posts.forms import Photo
from posts.models import Comment, Like, Post, PostImage, Tag


def post_create(
    *, author: User, photos: Sequence[Photo], caption: str, submission: UUID | None = None
) -> Post:
    """Store every photo's renditions, then the post and its rows in one transaction.

    If any write fails, the objects already stored are deleted again: no object without its row.
    A form submitted twice (same ``submission``) gives the first post, and stores nothing more.
    """
    earlier = _submitted(author, submission)
    if earlier:
        return earlier
    try:
        return _post_store(author=author, photos=photos, caption=caption, submission=submission)
    except IntegrityError:
        # The same form's other submission committed first, while this one was storing photos.
        earlier = _submitted(author, submission)
        if earlier is None:
            raise
        return earlier


def _submitted(author: User, submission: UUID | None) -> Post | None:
    if submission is None:
        return None
    return Post.objects.filter(author=author, submission=submission).first()


def _post_store(
    *, author: User, photos: Sequence[Photo], caption: str, submission: UUID | None
) -> Post:
    with objects_rolled_back() as written:
        images = []
        for order, photo in enumerate(photos):
            image = PostImage(
                order=order,
                width=photo.display.width,
                height=photo.display.height,
                thumbnail_size=photo.thumbnail.width,
                alt_text=photo.alt_text,
            )
            rendition_store(field_file=image.display, rendition=photo.display, written=written)
            rendition_store(field_file=image.thumbnail, rendition=photo.thumbnail, written=written)
            images.append(image)
        with transaction.atomic():
            post = Post.objects.create(author=author, caption=caption, submission=submission)
            for image in images:
                image.post = post
            PostImage.objects.bulk_create(images)
            _links_sync(post)
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
    post.delete()


def _links_sync(post: Post) -> None:
    """Point the post's tags and mentions at what its caption now says."""
    names = text.hashtags(post.caption)
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    post.tags.set(Tag.objects.filter(name__in=names))
    post.mentions.set(User.objects.filter(username__in=text.mentions(post.caption)))


def like_create(*, user: User, post: Post) -> None:
    """``user`` likes ``post``; liking again (a double click, a retry) changes nothing."""
    Like.objects.bulk_create([Like(user=user, post=post)], ignore_conflicts=True)


def like_delete(*, user: User, post: Post) -> None:
    Like.objects.filter(user=user, post=post).delete()


def comment_create(*, author: User, post: Post, text: str) -> Comment:
    return Comment.objects.create(author=author, post=post, text=text)


def comment_delete(*, comment: Comment) -> None:
    comment.delete()
