"""Profile photos: processed, stored in the bucket under media/, and never orphaned."""

import io

import pytest
import requests
from django.db import DatabaseError
from django.urls import reverse
from PIL import Image

from members.models import User
from tests import imagefactory

pytestmark = pytest.mark.django_db


def upload(client, photo: bytes, name: str = "me.jpg", **fields):
    data = {"username": "olivia", "email": "olivia@example.com", **fields}
    if photo is not None:
        data["photo"] = _file(photo, name)
    return client.post(reverse("members:edit"), data)


def _file(content: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def test_a_profile_photo_is_a_stripped_square_object_served_by_its_url(client, owner, bucket):
    client.force_login(owner)
    response = upload(client, imagefactory.jpeg(1600, 1200, gps=True, orientation=6))
    assert response.status_code == 302
    [key] = bucket.keys()
    assert key.startswith("media/avatars/") and key.endswith(".jpg")
    stored = bucket.get(key)
    assert stored["ContentType"] == "image/jpeg"
    assert stored["CacheControl"] == "max-age=31536000, immutable"
    data = stored["Body"].read()
    image = Image.open(io.BytesIO(data))
    assert image.size == (320, 320)
    assert not image.getexif()
    assert b"Exif" not in data

    page = client.get("/olivia/").content.decode()
    owner.refresh_from_db()
    url = owner.avatar.url
    assert url.replace("&", "&amp;") in page
    assert "X-Amz-Signature=" in url and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    served = requests.get(url, timeout=10)
    assert served.status_code == 200
    assert served.content == data


def test_the_object_name_never_comes_from_the_uploaded_file_name(client, owner, bucket):
    client.force_login(owner)
    upload(client, imagefactory.jpeg(400, 400), name="../../etc/passwd\x00.jpg")
    [key] = bucket.keys()
    assert "passwd" not in key and ".." not in key


def test_a_new_photo_replaces_the_old_object(
    client, owner, bucket, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, imagefactory.jpeg(400, 400))
    [first] = bucket.keys()
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, imagefactory.png(500, 500))
    [second] = bucket.keys()
    assert first != second
    owner.refresh_from_db()
    assert "media/" + owner.avatar.name == second


def test_removing_the_photo_deletes_its_object(
    client, owner, bucket, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, imagefactory.jpeg(400, 400))
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, None, remove_photo="on")
    assert bucket.keys() == []
    owner.refresh_from_db()
    assert not owner.avatar


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello, I am text", "not an image"),
        (b"", "empty"),
        (imagefactory.truncated_jpeg(), "damaged"),
    ],
)
def test_a_bad_photo_is_refused_and_nothing_is_stored(client, owner, bucket, content, message):
    client.force_login(owner)
    response = upload(client, content, full_name="Kept Name")
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["photo"])
    assert 'value="Kept Name"' in response.content.decode()
    assert bucket.keys() == []
    owner.refresh_from_db()
    assert owner.full_name == "Olivia Owner"


def test_a_failed_database_write_removes_the_new_object(client, owner, bucket, monkeypatch):
    client.force_login(owner)

    def fail(*args, **kwargs):
        raise DatabaseError("the database went away")

    monkeypatch.setattr(User, "save", fail)
    with pytest.raises(DatabaseError):
        upload(client, imagefactory.jpeg(400, 400))
    assert bucket.keys() == []
