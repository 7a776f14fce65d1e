"""media_gc: orphaned media is found and removed; media a row names is never touched."""

import io
import logging
import os
import time

import pytest
from django.core.management import CommandError, call_command

from config import media
from members.services import profile_update
from posts.forms import Photo
from posts.images import avatar_rendition
from posts.models import Post, PostImage
from posts.services import post_create
from tests import imagefactory
from tests.conftest import media_through

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


def gc(*args: str) -> str:
    """Run media_gc with ``args``; what it printed."""
    out = io.StringIO()
    call_command("media_gc", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def new_post(author) -> Post:
    source = imagefactory.jpeg(800, 600)
    photo = Photo(source=source, alt_text="")
    return post_create(author=author, photos=[photo], caption="kept")


@pytest.fixture
def referenced(owner, bucket) -> set[str]:
    """A post's two photos and a profile photo, stored as the app stores them: their keys."""
    post = new_post(owner)
    profile_update(
        user=owner, photo=avatar_rendition(imagefactory.jpeg(400, 400)), remove_photo=False
    )
    names = [*object_names(post.images.get()), owner.avatar.name]
    assert len(names) == 3 and all(names)
    return {"media/" + name for name in names}


def object_names(image: PostImage) -> list[str]:
    return [image.display.name, image.thumbnail.name]


def put(bucket, key: str, body: bytes = b"left behind") -> None:
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=body)


def test_it_lists_an_old_orphan_but_keeps_it_without_delete(bucket, referenced):
    put(bucket, "media/posts/orphan.jpg")
    out = gc("--grace-hours", "0")
    assert "Orphan media/posts/orphan.jpg (11 bytes" in out
    assert "3 referenced" in out and "1 orphans (11 bytes)" in out
    assert "run again with --delete" in out
    assert set(bucket.keys()) == referenced | {"media/posts/orphan.jpg"}


def test_delete_removes_old_orphans_and_only_them(bucket, referenced):
    orphans = {"media/posts/orphan.jpg", "media/avatars/old.jpg", "media/elsewhere/x.bin"}
    for key in orphans:
        put(bucket, key)
    out = gc("--grace-hours", "0", "--delete")
    for key in orphans:
        assert f"Deleting {key} (11 bytes" in out
    assert "Deleted 3 orphans (33 bytes)." in out
    assert set(bucket.keys()) == referenced
    # A second run finds nothing more to do.
    assert "Deleted 0 orphans" in gc("--grace-hours", "0", "--delete")
    assert set(bucket.keys()) == referenced


def test_an_orphan_younger_than_the_grace_period_is_kept(bucket, referenced):
    put(bucket, "media/posts/uploading.jpg")
    out = gc("--delete")
    assert "uploading.jpg" not in out
    assert "1 unreferenced but younger than 24 hours (kept)" in out
    assert "Deleted 0 orphans" in out
    assert set(bucket.keys()) == referenced | {"media/posts/uploading.jpg"}


def test_objects_outside_media_are_never_touched(bucket, referenced):
    outside = ["static/app.css", "backups/db.dump", "mediaeval.jpg", "posts/orphan.jpg"]
    for key in outside:
        put(bucket, key)
    out = gc("--grace-hours", "0", "--delete")
    assert "Deleted 0 orphans" in out
    assert set(bucket.keys()) == referenced | set(outside)


def test_it_pages_through_more_objects_than_one_listing_holds(bucket, referenced):
    orphans = {f"media/posts/orphan-{number:04}.jpg" for number in range(1005)}
    for key in orphans:
        put(bucket, key, b"x")
    out = gc("--grace-hours", "0", "--delete")
    assert "1,008 objects" in out
    assert "Deleted 1,005 orphans (1,005 bytes)." in out
    assert set(bucket.keys()) == referenced


@pytest.mark.parametrize("action", ["error", "drop"])
def test_objects_it_cannot_delete_are_named_and_fail_the_run(
    bucket, referenced, s3_secrets, s3_proxy, action
):
    put(bucket, "media/posts/orphan.jpg")
    s3_proxy.fail("POST", action=action)  # DeleteObjects: S3 fails every batch deletion
    errors = io.StringIO()
    with (
        media_through(s3_secrets, s3_proxy.url, retries={"total_max_attempts": 1}),
        pytest.raises(CommandError, match="1 of 1 orphans not deleted"),
    ):
        call_command(
            "media_gc", "--grace-hours", "0", "--delete", stdout=io.StringIO(), stderr=errors
        )
    assert "Could not delete media/posts/orphan.jpg: " in errors.getvalue()
    assert s3_proxy.count("POST") == 1
    assert set(bucket.keys()) == referenced | {"media/posts/orphan.jpg"}


def test_a_negative_grace_period_is_refused(bucket):
    with pytest.raises(CommandError, match="0 or more"):
        gc("--grace-hours", "-1")


@pytest.mark.django_db(transaction=True)
def test_a_post_deleted_while_s3_refuses_deletions_is_gone_and_gc_removes_its_photos(
    client, owner, bucket, s3_secrets, s3_proxy, caplog
):
    """End to end through the site: the member deletes a post while S3 fails every deletion."""
    client.force_login(owner)
    post = new_post(owner)
    keys = {"media/" + name for name in object_names(post.images.get())}
    assert set(bucket.keys()) == keys

    s3_proxy.fail("DELETE")
    with (
        media_through(s3_secrets, s3_proxy.url, retries={"total_max_attempts": 1}),
        caplog.at_level(logging.ERROR, logger=media.__name__),
    ):
        response = client.post(f"/p/{post.code}/delete/", follow=True)
    assert response.status_code == 200
    assert "Your post has been deleted." in response.content.decode()
    assert not Post.objects.exists()
    assert s3_proxy.count("DELETE") == 2  # both photos were asked for, and refused
    logged = [record.getMessage() for record in caplog.records if record.name == media.__name__]
    assert sorted(logged) == sorted(
        f"Could not delete media object {key.removeprefix('media/')}; media_gc will remove it."
        for key in keys
    )
    assert set(bucket.keys()) == keys  # left behind in the real bucket

    s3_proxy.heal()  # S3 is back
    with media_through(s3_secrets, s3_proxy.url):
        out = gc("--grace-hours", "0", "--delete")
    assert "Deleted 2 orphans" in out
    assert bucket.keys() == []


@pytest.fixture
def local_media(tmp_path, settings):
    """Media on the local file system, as the embedded default keeps it."""
    settings.MEDIA_ROOT = tmp_path / "media"
    local = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    settings.STORAGES = {**settings.STORAGES, "default": local}
    return settings.MEDIA_ROOT


def age(path, seconds: float) -> None:
    """Set ``path``'s modification time ``seconds`` in the past."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_on_local_media_it_deletes_old_orphans_only(local_media, owner):
    post = new_post(owner)
    kept = [local_media / name for name in object_names(post.images.get())]
    old_orphan = local_media / "posts" / "orphan.jpg"
    new_orphan = local_media / "avatars" / "uploading.jpg"
    for path in (old_orphan, new_orphan):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left behind")
    for path in (*kept, old_orphan):
        age(path, 2 * DAY)

    listed = gc()
    assert "Orphan posts/orphan.jpg (11 bytes" in listed
    assert "uploading.jpg" not in listed
    assert old_orphan.exists()

    out = gc("--delete")
    assert "Deleting posts/orphan.jpg" in out
    assert "Deleted 1 orphans (11 bytes)." in out
    assert not old_orphan.exists()
    assert new_orphan.exists() and all(path.exists() for path in kept)
