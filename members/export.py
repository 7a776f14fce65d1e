"""A member's data as a zip, built while it is sent: every stored photo (display rendition and
thumbnail, and the profile photo) and ``data.json`` with the profile, posts (with each photo's
alt text and file names), comments, likes, followers and following.

Memory stays flat however many posts there are: the rows are read in batches, each object is
copied from storage in chunks into an uncompressed (JPEGs do not shrink) zip entry, and the zip
is written into a pipe that the response drains after every chunk.
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
    posts = []
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_STORED) as archive:
        profile = _profile(user)
        if user.avatar:
            profile["photo"] = _zip_name("profile", user.avatar.name)
            yield from _copy(archive, pipe, user.avatar.name, profile["photo"])
        for post in _posts(user):
            photos = []
            for image in post.images.all():
                entry = {"alt_text": image.alt_text, "width": image.width, "height": image.height}
                for key, field in (("file", image.display), ("thumbnail", image.thumbnail)):
                    entry[key] = _zip_name(f"posts/{post.code}", field.name)
                    yield from _copy(archive, pipe, field.name, entry[key])
                photos.append(entry)
            posts.append(
                {
                    "code": post.code,
                    "caption": post.caption,
                    "created": _when(post.created),
                    "photos": photos,
                }
            )
        data = {
            "profile": profile,
            "posts": posts,
            "comments": [
                {"post": code, "text": text, "created": _when(created)}
                for code, text, created in Comment.objects.filter(author=user)
                .order_by("created", "id")
                .values_list("post__code", "text", "created")
                .iterator(chunk_size=BATCH)
            ],
            "likes": [
                {"post": code, "created": _when(created)}
                for code, created in Like.objects.filter(user=user)
                .order_by("created", "id")
                .values_list("post__code", "created")
                .iterator(chunk_size=BATCH)
            ],
            "followers": list(user_followers(user=user).values_list("username", flat=True)),
            "following": list(user_following(user=user).values_list("username", flat=True)),
        }
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=1))
    yield from pipe.drain()


def _profile(user: User) -> dict:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "bio": user.bio,
        "website": user.website,
        "date_joined": _when(user.date_joined),
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
    info = zipfile.ZipInfo(arcname, date_time=timezone.now().timetuple()[:6])
    with default_storage.open(name, "rb") as source, archive.open(info, "w") as entry:
        while chunk := source.read(CHUNK):
            entry.write(chunk)
            yield from pipe.drain()
    yield from pipe.drain()


def _zip_name(folder: str, stored: str) -> str:
    return f"{folder}/{posixpath.basename(stored)}"


def _when(moment: datetime) -> str:
    return moment.isoformat()
