"""A member's data as a zip, built while it is sent: every stored photo (display rendition and
thumbnail, and the profile photo) and ``data.json`` with the profile, posts (with each photo's
alt text and file names), comments, likes, followers and following.

Memory stays flat however many posts there are: the rows are read in batches, each object is
copied from storage in chunks into an uncompressed (JPEGs do not shrink) zip entry, data.json
is written an item at a time, and the zip is written into a pipe that the response drains
after every piece. What grows is only zipfile's list of entries for the central directory (a
few hundred bytes per photo).
"""

import io
import json
import posixpath
import zipfile
from collections.abc import Iterator
from datetime import datetime

from django.core.files.storage import default_storage
from django.db.models import Prefetch
from django.utils import timezone

from members.models import User
from members.selectors import user_followers, user_following
from posts.models import Comment, Like, Post, PostImage

CHUNK = 256 * 1024
BATCH = 200


class _Pipe(io.RawIOBase):
    """A write-only, unseekable file that keeps what is written until it is drained (zipfile
    then writes data descriptors instead of seeking back)."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def drain(self) -> Iterator[bytes]:
        chunks, self.chunks = self.chunks, []
        yield from chunks


def export_filename(user: User) -> str:
    return f"instagram-{user.username}-{timezone.now():%Y-%m-%d}.zip"


def export_stream(user: User) -> Iterator[bytes]:
    """The zip of ``user``'s data, in pieces of at most about CHUNK bytes."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_STORED) as archive:
        if user.avatar:
            yield from _copy(archive, pipe, user.avatar.name, _avatar_name(user))
        for post in _posts(user):
            for image in post.images.all():
                for field in (image.display, image.thumbnail):
                    yield from _copy(archive, pipe, field.name, _photo_name(post, field.name))
        # Written a post at a time too, so that it is not held whole either.
        with archive.open(_entry("data.json"), "w") as entry:
            for piece in _data_json(user):
                entry.write(piece.encode())
                yield from pipe.drain()
    yield from pipe.drain()


def _data_json(user: User) -> Iterator[str]:
    """data.json, in pieces: the profile, then a list at a time, an item at a time."""
    profile = {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "bio": user.bio,
        "website": user.website,
        "date_joined": _when(user.date_joined),
    }
    if user.avatar:
        profile["photo"] = _avatar_name(user)
    lists = {
        "posts": (_post_data(post) for post in _posts(user)),
        "comments": (
            {"post": code, "text": text, "created": _when(created)}
            for code, text, created in Comment.objects.filter(author=user)
            .order_by("created", "id")
            .values_list("post__code", "text", "created")
            .iterator(chunk_size=BATCH)
        ),
        "likes": (
            {"post": code, "created": _when(created)}
            for code, created in Like.objects.filter(user=user)
            .order_by("created", "id")
            .values_list("post__code", "created")
            .iterator(chunk_size=BATCH)
        ),
        "followers": user_followers(user=user, viewer=user)
        .values_list("username", flat=True)
        .iterator(),
        "following": user_following(user=user, viewer=user)
        .values_list("username", flat=True)
        .iterator(),
    }
    yield '{"profile": ' + _dumps(profile)
    for name, items in lists.items():
        yield f', "{name}": ['
        for number, item in enumerate(items):
            yield ("," if number else "") + "\n " + _dumps(item)
        yield "]"
    yield "}\n"


def _post_data(post: Post) -> dict:
    return {
        "code": post.code,
        "caption": post.caption,
        "created": _when(post.created),
        "photos": [
            {
                "alt_text": image.alt_text,
                "width": image.width,
                "height": image.height,
                "file": _photo_name(post, image.display.name),
                "thumbnail": _photo_name(post, image.thumbnail.name),
            }
            for image in post.images.all()
        ],
    }


def _posts(user: User) -> Iterator[Post]:
    """``user``'s posts, oldest first, BATCH at a time, each batch with its photos."""
    images = Prefetch("images", queryset=PostImage.objects.order_by("order"))
    return (
        Post.objects.filter(author=user)
        .order_by("created", "id")
        .prefetch_related(images)
        .iterator(chunk_size=BATCH)
    )


def _copy(archive: zipfile.ZipFile, pipe: _Pipe, name: str, arcname: str) -> Iterator[bytes]:
    """Copy the stored object ``name`` into the zip as ``arcname``, a chunk at a time."""
    with default_storage.open(name, "rb") as source, archive.open(_entry(arcname), "w") as entry:
        while chunk := source.read(CHUNK):
            entry.write(chunk)
            yield from pipe.drain()
    yield from pipe.drain()


def _entry(name: str) -> zipfile.ZipInfo:
    return zipfile.ZipInfo(name, date_time=timezone.now().timetuple()[:6])


def _avatar_name(user: User) -> str:
    return f"profile/{posixpath.basename(user.avatar.name)}"


def _photo_name(post: Post, stored: str) -> str:
    return f"posts/{post.code}/{posixpath.basename(stored)}"


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _when(moment: datetime) -> str:
    return moment.isoformat()
