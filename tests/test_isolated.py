"""Large decodes in a process of their own (posts/isolated.py): the same renditions, the same
refusals, and a child that dies refuses the photo instead of taking the worker with it."""

import io
import subprocess

import pytest
from django.core.files.uploadedfile import TemporaryUploadedFile
from PIL import Image

from posts import images, isolated
from posts.images import ImageError, avatar_rendition, post_renditions
from tests import imagefactory


def _pixels(rendition: images.Rendition) -> bytes:
    return Image.open(io.BytesIO(rendition.data)).tobytes()


def _renditions(result) -> list[images.Rendition]:
    return list(result) if isinstance(result, tuple) else [result]


@pytest.mark.parametrize("process", [post_renditions, avatar_rendition])
def test_a_child_makes_the_same_renditions_as_the_worker(process):
    photo = imagefactory.png(1200, 900, mode="RGBA", transparent_background=True)
    here = _renditions(process(photo))
    there = _renditions(isolated.run_isolated(process, photo))
    assert [(r.width, r.height) for r in there] == [(r.width, r.height) for r in here]
    assert [_pixels(r) for r in there] == [_pixels(r) for r in here]


def test_an_upload_spooled_to_disk_is_decoded_by_the_child_from_its_file(monkeypatch):
    # The worker holds none of its bytes: the child reads the file Django wrote the upload to.
    photo = imagefactory.png(1200, 900, mode="RGBA", transparent_background=True)
    run = subprocess.run
    given = {}

    def spy(command, **kwargs):
        given.update(kwargs)
        return run(command, **kwargs)

    monkeypatch.setattr(isolated.subprocess, "run", spy)
    with TemporaryUploadedFile("photo.png", "image/png", len(photo), None) as upload:
        upload.write(photo)
        upload.flush()
        there = isolated.run_isolated(post_renditions, upload)

        assert given["stdin"].name == upload.temporary_file_path()
        assert given["input"] is None
    assert [_pixels(r) for r in there] == [_pixels(r) for r in post_renditions(photo)]


def test_a_child_refuses_what_the_pipeline_refuses_with_the_same_reason():
    with pytest.raises(ImageError) as here:
        post_renditions(imagefactory.truncated_jpeg())
    with pytest.raises(ImageError) as there:
        isolated.run_isolated(post_renditions, imagefactory.truncated_jpeg())
    assert str(there.value) == str(here.value)


def test_a_child_that_dies_refuses_the_photo_as_damaged(monkeypatch):
    def died(*args, **kwargs):
        return subprocess.CompletedProcess(args, -9, stdout=b"", stderr=b"Killed")

    monkeypatch.setattr(isolated.subprocess, "run", died)
    with pytest.raises(ImageError, match="damaged"):
        isolated.run_isolated(post_renditions, imagefactory.jpeg(100, 100))


def test_only_the_pipelines_entry_points_run_in_a_child():
    with pytest.raises(ValueError, match="not a pipeline entry point"):
        isolated.run_isolated(print, b"")
