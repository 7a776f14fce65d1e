"""The host-wide bound on large decodes (config/decode_slots.py): a large photo waits for a slot,
and is answered "busy, sending again" (429 with Retry-After) when none frees in time."""

import subprocess
import sys
import threading
import time

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from config.decode_slots import BUSY_MESSAGE, decode_slot
from posts import forms as post_forms
from posts import isolated
from posts.models import Post, PostImage
from tests import imagefactory

pytestmark = pytest.mark.django_db

LARGE = 5_000_000  # pixels; a 2500 x 2000 PNG is decoded whole


@pytest.fixture
def slots(settings, tmp_path):
    settings.DECODE_SLOT_DIR = str(tmp_path)
    settings.DECODE_SLOTS = 1
    settings.DECODE_SLOT_MIN_PIXELS = LARGE
    settings.DECODE_WAIT_SECONDS = 0
    settings.DECODE_RETRY_AFTER_SECONDS = 3
    return tmp_path


@pytest.fixture
def member(client, owner):
    client.force_login(owner)
    return owner


def large_png() -> SimpleUploadedFile:
    return SimpleUploadedFile("large.png", imagefactory.png(2500, 2000))


def share(client, photo, **headers):
    return client.post("/posts/new/", {"photos": [photo], "caption": "hi"}, headers=headers)


def test_a_large_photo_is_answered_busy_with_retry_after_while_the_slot_is_taken(
    client, member, slots
):
    with decode_slot(pixels=LARGE):
        response = share(client, large_png(), Accept="application/json")
    assert response.status_code == 429
    assert response["Retry-After"] == "3"
    assert response.json() == {"error": BUSY_MESSAGE}
    assert not Post.objects.exists()


def test_a_browser_without_script_gets_the_sites_busy_page(client, member, slots):
    with decode_slot(pixels=LARGE):
        response = share(client, large_png())
    assert response.status_code == 429
    assert response["Retry-After"] == "3"
    page = response.content.decode()
    assert "Please slow down" in page and "sent again in a few seconds" in page
    assert "<nav" in page  # the site's own page, not a bare error


def test_the_same_post_sent_again_once_the_slot_is_free_is_shared(client, member, slots):
    with decode_slot(pixels=LARGE):
        assert share(client, large_png()).status_code == 429
    response = share(client, large_png())
    assert response.status_code == 302
    assert Post.objects.count() == 1


def test_a_large_photo_waits_for_a_slot_that_frees_in_time(client, member, slots, settings):
    settings.DECODE_WAIT_SECONDS = 5
    taken = threading.Event()

    def hold_briefly():
        with decode_slot(pixels=LARGE):
            taken.set()
            time.sleep(0.5)

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    taken.wait()
    started = time.monotonic()
    response = share(client, large_png())
    holder.join()
    assert response.status_code == 302
    assert time.monotonic() - started >= 0.4


def test_a_small_photo_needs_no_slot(client, member, slots):
    with decode_slot(pixels=LARGE):
        response = share(client, SimpleUploadedFile("small.jpg", imagefactory.jpeg(800, 600)))
    assert response.status_code == 302


def test_a_profile_photo_waits_for_the_same_slots(client, member, slots):
    with decode_slot(pixels=LARGE):
        response = client.post(
            "/accounts/edit/",
            {"username": member.username, "full_name": "", "bio": "", "photo": large_png()},
            headers={"Accept": "application/json"},
        )
    assert response.status_code == 429
    assert response["Retry-After"] == "3"


HOLD = """
import fcntl, os, sys, time
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
"""


def test_a_slot_held_by_another_process_of_the_host_counts_and_frees_when_it_dies(
    client, member, slots
):
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(slots / "slot-0")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout.readline().strip() == "held"
        assert share(client, large_png()).status_code == 429
    finally:
        other.kill()  # a worker killed mid-decode: the kernel releases its lock
        other.wait()
    assert share(client, large_png()).status_code == 302


def test_two_slots_let_two_large_decodes_run_at_once(client, member, slots, settings):
    settings.DECODE_SLOTS = 2
    with decode_slot(pixels=LARGE):
        assert share(client, large_png()).status_code == 302
        with decode_slot(pixels=LARGE):
            assert share(client, large_png()).status_code == 429


def test_a_large_photo_is_processed_in_a_process_of_its_own(client, member, slots, settings):
    settings.DECODE_ISOLATE_MIN_PIXELS = LARGE
    children = []
    run = isolated.subprocess.run

    def spy(command, **kwargs):
        children.append(command)
        return run(command, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(isolated.subprocess, "run", spy)
        large = share(client, large_png())
        small = share(client, SimpleUploadedFile("s.jpg", imagefactory.jpeg(800, 600)))
    assert large.status_code == small.status_code == 302
    assert [command[-1] for command in children] == ["post_renditions"]
    assert Post.objects.count() == 2
    # The renditions a child gives back are stored as those made in the worker are.
    for image in PostImage.objects.all():
        assert default_storage.exists(image.display.name)
        assert default_storage.exists(image.thumbnail.name)


def test_a_photo_decoded_in_its_own_process_does_not_wait_for_the_workers_turn(
    client, member, slots, settings
):
    settings.DECODE_ISOLATE_MIN_PIXELS = LARGE
    with post_forms._pipeline:  # another thread of this worker is decoding a photo
        response = share(client, large_png())
    assert response.status_code == 302
