"""media_to_s3: a local media/ folder into the moto bucket, so existing rows keep their photos."""

import io

import pytest
import requests
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from ops.media_copy import media_copy
from tests import factories


@pytest.fixture
def media(tmp_path):
    """A media/ folder as the embedded default leaves it: avatars and post photos."""
    root = tmp_path / "media"
    files = {
        "avatars/3f2a.jpg": b"\xff\xd8 avatar " * 100,
        "posts/ab12.jpg": b"\xff\xd8 display " * 1000,
        "posts/ab12-t.jpg": b"\xff\xd8 thumbnail " * 300,
        "posts/cd34.webp": b"RIFF webp " * 500,
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root, files


def run(root, *args: str) -> str:
    out = io.StringIO()
    call_command("media_to_s3", str(root), *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.mark.django_db
def test_existing_rows_show_their_photos_after_the_copy(media, bucket):
    root, files = media
    author = factories.user(username="early", avatar="avatars/3f2a.jpg")
    post = factories.post(author)
    post.images.update(display="posts/ab12.jpg", thumbnail="posts/ab12-t.jpg")

    output = run(root)

    assert bucket.keys() == sorted(f"media/{name}" for name in files)
    image = post.images.get()
    for field in (image.display, image.thumbnail, author.avatar):
        photo = requests.get(field.url, timeout=10)
        assert photo.status_code == 200
        assert photo.content == files[field.name]
    stored = bucket.get("media/posts/ab12.jpg")
    assert stored["ContentType"] == "image/jpeg"
    assert stored["CacheControl"] == "max-age=31536000, immutable"
    assert "[1/4] copied avatars/3f2a.jpg" in output
    assert "copied 4 files" in output and "0 failed" in output


def test_a_second_run_skips_what_is_there_and_copies_what_changed(media, bucket):
    root, _ = media
    run(root)
    # Same size, other bytes: only the checksum tells them apart.
    (root / "posts/cd34.webp").write_bytes(b"RIFF WEBP " * 500)

    output = run(root)

    assert "skipped posts/ab12.jpg (already there)" in output
    assert "copied posts/cd34.webp" in output
    assert "copied 1 files" in output and "skipped 3 already there" in output
    assert bucket.get("media/posts/cd34.webp")["Body"].read() == b"RIFF WEBP " * 500


def test_a_dry_run_says_what_it_would_copy_and_copies_nothing(media, bucket):
    root, _ = media

    output = run(root, "--dry-run")

    assert "would copy posts/ab12.jpg" in output
    assert "would copy 4 files" in output
    assert bucket.keys() == []


def test_a_file_that_cannot_be_read_is_reported_and_the_run_fails(media, bucket):
    root, files = media
    (root / "posts/gone.jpg").symlink_to(root / "posts/deleted-long-ago.jpg")
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 files could not be copied"):
        call_command("media_to_s3", str(root), stdout=out, stderr=out)

    assert "posts/gone.jpg: No such file or directory" in out.getvalue()
    assert bucket.keys() == sorted(f"media/{name}" for name in files)


def test_an_interrupted_run_goes_on_where_it_stopped(media, bucket):
    root, files = media
    lines = []

    def interrupt_after_two(line: str) -> None:
        lines.append(line)
        if len(lines) == 2:
            raise KeyboardInterrupt

    first = media_copy(root=root, storage=default_storage, report=interrupt_after_two)
    stored_before = bucket.keys()
    second = media_copy(root=root, storage=default_storage, report=lambda line: None)

    assert first.interrupted and first.copied == 2
    assert len(stored_before) == 2
    assert (second.copied, second.skipped, second.interrupted) == (2, 2, False)
    assert bucket.keys() == sorted(f"media/{name}" for name in files)


def test_without_an_s3_storage_it_refuses(media, settings):
    root, _ = media
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }

    with pytest.raises(CommandError, match="The media storage is not S3"):
        run(root)
