"""Posting photos: the upload pipeline into the bucket, and what it refuses."""

import io
import re
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from PIL import Image

from config import media
from posts import forms, images, services
from posts.models import ALT_TEXT_MAX_LENGTH, Post, PostImage, Tag
from tests import imagefactory

pytestmark = pytest.mark.django_db


def _near(pixel, colour) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(pixel, colour, strict=True))


def share(client, *photos, caption="", alt=(), accept_json=False):
    files = [
        photo if isinstance(photo, SimpleUploadedFile) else SimpleUploadedFile("p.jpg", photo)
        for photo in photos
    ]
    headers = {"Accept": "application/json"} if accept_json else {}
    return client.post(
        "/posts/new/",
        {"photos": files, "caption": caption, "alt_text": list(alt)},
        headers=headers,
    )


@pytest.fixture
def member(client, owner):
    client.force_login(owner)
    return owner


def test_a_12_megapixel_phone_photo_is_stored_upright_small_and_without_exif(
    client, member, bucket
):
    photo = imagefactory.jpeg(4000, 3000, orientation=6, gps=True)
    response = share(client, photo, caption="Sunset #beach")
    post = Post.objects.get()
    assert response.status_code == 302
    assert response.url == f"/p/{post.code}/"
    image = post.images.get()
    keys = bucket.keys()
    assert sorted(keys) == sorted(["media/" + image.display.name, "media/" + image.thumbnail.name])
    assert all(re.fullmatch(r"media/posts/[0-9a-f]{32}\.jpg", key) for key in keys)

    stored = bucket.get("media/" + image.display.name)
    assert stored["ContentType"] == "image/jpeg"
    assert stored["CacheControl"] == "max-age=31536000, immutable"
    data = stored["Body"].read()
    display = Image.open(io.BytesIO(data))
    assert display.size == (1080, 1350) == (image.width, image.height)
    assert not display.getexif() and b"Exif" not in data
    # The marker the factory paints in the scene's top-left corner is there once upright.
    assert _near(display.getpixel((50, 50)), imagefactory.MARKER)
    assert _near(display.getpixel((1030, 1300)), imagefactory.BACKGROUND)

    # The URLs the feed shows return those very bytes over HTTP.
    page = client.get("/").content.decode()
    urls = [u.replace("&amp;", "&") for u in re.findall(r'<img src="([^"]+)"', page)]
    served = {requests.get(url, timeout=10).content for url in urls}
    assert data in served


def test_photos_keep_their_order_and_alt_texts(client, member, bucket):
    response = share(
        client,
        imagefactory.jpeg(800, 600),
        imagefactory.png(600, 800),
        imagefactory.webp(700, 700),
        alt=["first", "second", "third"],
    )
    assert response.status_code == 302
    images = list(Post.objects.get().images.order_by("order"))
    assert [i.alt_text for i in images] == ["first", "second", "third"]
    assert [(i.width, i.height) for i in images] == [(800, 600), (600, 750), (700, 700)]
    assert len(bucket.keys()) == 6


BAD = [
    pytest.param(b"just some text, not a photo", "not an image", id="text named .jpg"),
    pytest.param(b"<html><script>alert(1)</script></html>", "not an image", id="HTML"),
    pytest.param(b"", "empty", id="empty"),
    pytest.param(imagefactory.truncated_jpeg(), "damaged", id="truncated JPEG"),
    pytest.param(imagefactory.png_bomb(), "megapixels", id="20000x20000 PNG"),
    pytest.param(b"\xff\xd8\xff" + b"\0" * (21 * 1024 * 1024), "limit is 20 MB", id="over 20 MB"),
]


@pytest.mark.parametrize(("content", "reason"), BAD)
def test_a_bad_photo_among_good_ones_stores_nothing_and_says_which(
    client, member, bucket, content, reason
):
    response = share(
        client,
        imagefactory.jpeg(800, 600),
        SimpleUploadedFile("holiday.jpg", content),
        caption="kept caption",
    )
    assert response.status_code == 400
    [error] = response.context["form"].errors["photos"]
    assert error.startswith("Photo 2 (holiday.jpg): ")
    assert reason in error
    assert "kept caption" in response.content.decode()
    assert not Post.objects.exists() and not PostImage.objects.exists()
    assert bucket.keys() == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"nope", "not an image", id="refused by the form"),
        pytest.param(imagefactory.truncated_jpeg(), "damaged", id="found damaged as it decodes"),
    ],
)
def test_errors_come_back_as_json_for_the_photo_they_concern(
    client, member, bucket, content, reason
):
    response = share(client, imagefactory.jpeg(800, 600), content, accept_json=True)
    assert response.status_code == 400
    answer = response.json()
    assert reason in answer["photo_errors"]["1"]
    assert answer["errors"]["photos"] == [f"Photo 2 (p.jpg): {answer['photo_errors']['1']}"]
    assert bucket.keys() == []


def test_sharing_without_a_photo_says_to_choose_one_and_keeps_the_caption(client, member, bucket):
    response = share(client, caption="Words only")
    assert response.status_code == 400
    page = response.content.decode()
    assert forms.PHOTOS_REQUIRED in page and "Words only" in page
    assert share(client, accept_json=True).json()["errors"]["photos"] == [forms.PHOTOS_REQUIRED]


def test_a_too_long_alt_text_is_an_alt_text_error_not_a_refused_photo(client, member, bucket):
    response = share(
        client,
        imagefactory.jpeg(800, 600),
        b"nope",
        alt=["x" * (ALT_TEXT_MAX_LENGTH + 1), "fine"],
        accept_json=True,
    )
    assert response.status_code == 400
    answer = response.json()
    assert answer["alt_errors"]["0"] == f"Alt text is limited to {ALT_TEXT_MAX_LENGTH} characters."
    assert answer["photo_errors"].keys() == {"1"}
    assert bucket.keys() == []


@pytest.mark.parametrize("count", [0, 11])
def test_a_post_has_one_to_ten_photos(client, member, bucket, count):
    response = share(client, *[imagefactory.jpeg(200, 200)] * count)
    assert response.status_code == 400
    assert not Post.objects.exists()
    assert bucket.keys() == []


def test_a_failed_database_write_removes_the_stored_photos(client, member, bucket, monkeypatch):
    def fail(*args, **kwargs):
        raise DatabaseError("the database went away")

    monkeypatch.setattr(PostImage.objects, "bulk_create", fail)
    with pytest.raises(DatabaseError):
        share(client, imagefactory.jpeg(800, 600), imagefactory.jpeg(600, 600))
    assert not Post.objects.exists()
    assert bucket.keys() == []


def test_a_posts_photos_are_stored_at_once_not_one_after_another(
    client, member, bucket, monkeypatch
):
    # Each write mostly waits for S3: the two renditions of a photo are written together.
    together = threading.Barrier(2, timeout=10)
    store = media.rendition_write

    def store_together(**kwargs):
        together.wait()
        return store(**kwargs)

    monkeypatch.setattr(media, "rendition_write", store_together)
    response = share(client, imagefactory.jpeg(800, 600))
    assert response.status_code == 302
    assert len(bucket.keys()) == 2


def test_a_photo_s_display_rendition_is_written_while_its_thumbnail_is_still_being_made(
    client, member, bucket, monkeypatch
):
    writing = threading.Event()
    store, encode = media.rendition_write, images._encode
    encoded = []

    def store_noting(**kwargs):
        writing.set()
        return store(**kwargs)

    def encode_second_once_writing(image, quality):
        encoded.append(quality)
        if len(encoded) == 2:  # the thumbnail: waits until the display rendition is written
            assert writing.wait(timeout=10), "no write started before the pipeline ended"
        return encode(image, quality)

    monkeypatch.setattr(media, "rendition_write", store_noting)
    monkeypatch.setattr(images, "_encode", encode_second_once_writing)
    assert share(client, imagefactory.jpeg(800, 600)).status_code == 302
    assert encoded == [images.DISPLAY_QUALITY, images.THUMBNAIL_QUALITY]
    assert len(bucket.keys()) == 2


def test_a_photo_found_damaged_as_it_decodes_removes_the_photos_already_stored(
    owner, bucket, monkeypatch
):
    # The form passes it (its header is a JPEG's); its pixels stop short.
    store, decode = media.rendition_write, images._decode
    stored, decoded = [], []
    written = threading.Event()

    def store_noting(**kwargs):
        stored.append(store(**kwargs))
        written.set()
        return stored[-1]

    def decode_once_written(data, plan):
        decoded.append(1)
        if len(decoded) == 2:  # the second photo, once one of the first's is stored
            assert written.wait(timeout=10)
        return decode(data, plan)

    monkeypatch.setattr(media, "rendition_write", store_noting)
    monkeypatch.setattr(images, "_decode", decode_once_written)
    photos = [
        forms.Photo(imagefactory.jpeg(800, 600), ""),
        forms.Photo(imagefactory.truncated_jpeg(), ""),
    ]
    with pytest.raises(forms.PhotoRefused) as refused:
        services.post_create(author=owner, photos=photos, caption="")
    assert refused.value.index == 1 and "damaged" in refused.value.message
    assert stored  # the first photo's, written before the second was decoded
    assert bucket.keys() == [] and not Post.objects.exists()


def test_the_same_form_sent_again_gives_the_first_post_without_decoding_its_photos_again(
    owner, bucket, monkeypatch
):
    submission = uuid.uuid4()
    photos = [forms.Photo(imagefactory.jpeg(800, 600), "")]
    first = services.post_create(author=owner, photos=photos, caption="", submission=submission)

    def no_decode(data, **kwargs):
        raise AssertionError("a photo was decoded")

    monkeypatch.setattr(services, "post_renditions", no_decode)
    again = services.post_create(author=owner, photos=photos, caption="", submission=submission)
    assert again == first
    assert len(bucket.keys()) == 2


def test_a_storage_failure_midway_removes_the_photos_already_stored(
    client, member, bucket, monkeypatch
):
    store = media.rendition_write
    calls = []
    lock = threading.Lock()

    def third_fails(**kwargs):
        with lock:
            calls.append(1)
            failing = len(calls) == 3
        if failing:
            raise media.StorageUnavailable
        return store(**kwargs)

    monkeypatch.setattr(media, "rendition_write", third_fails)
    response = share(client, imagefactory.jpeg(800, 600), imagefactory.jpeg(600, 600))
    assert response.status_code == 503
    assert "nothing was saved" in response.content.decode()
    assert not Post.objects.exists()
    assert bucket.keys() == []


def test_once_a_write_fails_the_post_stops_making_and_writing_its_photos(
    client, member, bucket, monkeypatch
):
    # S3 timing out takes 15 s a write: a post's twenty writes, four at a time, would keep the
    # member waiting over a minute for the error.
    store, encode = media.rendition_write, images._encode
    calls, encoded = [], []
    failed = threading.Event()

    def first_fails(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            failed.set()
            raise media.StorageUnavailable
        return store(**kwargs)

    def encode_once_failed(image, quality):
        encoded.append(quality)
        if len(encoded) == 2:  # the first photo's thumbnail, once its display write failed
            assert failed.wait(timeout=10)
            time.sleep(0.2)
        return encode(image, quality)

    monkeypatch.setattr(media, "rendition_write", first_fails)
    monkeypatch.setattr(images, "_encode", encode_once_failed)
    response = share(client, *[imagefactory.jpeg(400, 300)] * 3)
    assert response.status_code == 503
    assert len(calls) == 1  # the first photo's thumbnail was not written
    assert len(encoded) == 2  # and the next photos were not even made
    assert not Post.objects.exists()
    assert bucket.keys() == []


def test_a_photo_name_already_taken_keeps_its_object_and_the_post_names_the_one_stored(
    client, member, bucket, monkeypatch
):
    # The rows are inserted while the photos are written, under the names chosen first; S3
    # refuses to overwrite, so the storage picks other names, which the rows must then hold.
    taken = uuid.UUID(int=7)
    monkeypatch.setattr(media, "uuid", SimpleNamespace(uuid4=lambda: taken))
    key = f"media/posts/{taken.hex}.jpg"
    bucket.client.put_object(Bucket=bucket.name, Key=key, Body=b"someone else's photo")

    response = share(client, imagefactory.jpeg(800, 600))

    assert response.status_code == 302
    image = Post.objects.get().images.get()
    names = [image.display.name, image.thumbnail.name]
    assert len(set(names)) == 2 and all(n.startswith(f"posts/{taken.hex}_") for n in names)
    assert sorted(bucket.keys()) == sorted([key, *(f"media/{name}" for name in names)])
    assert bucket.get(key)["Body"].read() == b"someone else's photo"
    display = bucket.get(f"media/{image.display.name}")["Body"].read()
    assert Image.open(io.BytesIO(display)).size == (image.width, image.height)


def test_the_caption_links_tags_and_mentions_and_escapes_html(client, member, follower, bucket):
    share(
        client,
        imagefactory.jpeg(400, 400),
        caption="<script>alert('x')</script> with @felix and @ghost at #Beach #beach",
    )
    post = Post.objects.get()
    assert list(post.tags.values_list("name", flat=True)) == ["beach"]
    assert list(post.mentions.all()) == [follower]
    page = client.get(post.get_absolute_url()).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert '<a href="/felix/">@felix</a>' in page
    assert '<a href="/explore/tags/beach/">#Beach</a>' in page
    assert '<a href="/ghost/">@ghost</a>' in page  # linked, as on Instagram; it leads to a 404
    assert Tag.objects.count() == 1


def test_new_post_needs_a_member(client):
    response = client.get("/posts/new/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize(
    "extension, bomb", [("png", imagefactory.png_bomb), ("webp", imagefactory.webp_bomb)]
)
def test_ten_small_files_claiming_50_megapixels_each_are_refused_before_any_decode(
    client, member, bucket, monkeypatch, extension, bomb
):
    """Lossless WebPs count whole, although libwebp can scale its output: it decodes them whole
    inside, seconds of CPU for ten."""

    def no_decode(data):
        raise AssertionError("a photo was decoded")

    monkeypatch.setattr(services, "post_renditions", no_decode)
    data = bomb(7071, 7071)
    bombs = [SimpleUploadedFile(f"flat{i}.{extension}", data) for i in range(10)]
    assert all(bomb.size < 100_000 for bomb in bombs)
    response = share(client, *bombs, caption="kept caption", accept_json=True)
    assert response.status_code == 400
    [error] = response.json()["errors"]["photos"]
    # Three fit in the budget (149,997,123 pixels); the fourth is the one named.
    assert error.startswith(
        f"Photo 4 (flat3.{extension}): With this photo, the post's photos would need "
    )
    assert "200 megapixels" in error and "one post may take at most 150" in error
    assert response.json()["photo_errors"] == {"3": error.split(": ", 1)[1]}
    assert bucket.keys() == [] and not Post.objects.exists()


def test_the_budget_counts_jpegs_at_the_size_they_are_decoded_at(
    client, member, bucket, monkeypatch
):
    monkeypatch.setattr(images, "REQUEST_MAX_PIXELS", 3_000_000)
    # A 2400x2400 JPEG decodes at half size for a 1080-pixel display: 1.44 of its 5.76 MP.
    assert share(client, *[imagefactory.jpeg(2400, 2400)] * 2).status_code == 302
    response = share(client, *[imagefactory.png(1000, 1000)] * 3, imagefactory.png(10, 10))
    assert response.status_code == 400
    assert response.context["form"].photo_errors.keys() == {3}
    assert len(Post.objects.all()) == 1
