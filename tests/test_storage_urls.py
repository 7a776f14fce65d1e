"""Photo URLs: signed exactly as botocore signs them, stable within the hour, fetchable."""

import re
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import botocore.auth
import pytest
import requests
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from config.storage import URL_WINDOW, MediaStorage, UrlSigner
from tests import factories
from tests.conftest import CREDENTIALS, REGION

# 2026-03-14 15:00:00 UTC, the start of a window; URLs below are issued 25 minutes into it.
WINDOW_START = 1_773_500_400
ISSUED = WINDOW_START + 1500
KEYS = [
    "posts/0123456789abcdef0123456789abcdef.jpg",
    "posts/with space.jpg",
    "posts/사진 ünïcödé.jpg",
    "posts/a+b=c&d.jpg",
    "posts/tilde~and-dash_dot.jpg",
    "posts/odd !'()*$,;:@[]%25?#.jpg",
]
TOKEN = "FwoGZXIvYXdzEJr//////////wEaDGZha2UrdG9rZW4vd2l0aCtzbGFzaGVzPQ=="
ENDPOINTS = {
    "aws-auto": {"endpoint_url": None, "style": "auto", "bucket": "instagram-media"},
    "aws-virtual": {"endpoint_url": None, "style": "virtual", "bucket": "instagram-media"},
    "aws-dotted-bucket": {"endpoint_url": None, "style": "auto", "bucket": "media.example.com"},
    "moto-path": {"endpoint_url": "http://127.0.0.1:5000", "style": "path", "bucket": "media"},
    "minio-default-port": {
        "endpoint_url": "https://minio.example:443",
        "style": "path",
        "bucket": "media",
    },
}


def storage_for(endpoint: dict, token: str | None = None, **options) -> MediaStorage:
    """A storage configured as config/secrets.py configures production's, without network."""
    return MediaStorage(
        bucket_name=endpoint["bucket"],
        region_name=REGION,
        access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        security_token=token,
        endpoint_url=endpoint["endpoint_url"],
        location="media",
        client_config=Config(signature_version="s3v4", s3={"addressing_style": endpoint["style"]}),
        **options,
    )


def botocore_url(storage: MediaStorage, key: str) -> str:
    """botocore's own presigned URL for ``key``, as of the window's start."""
    return storage.connection.meta.client.generate_presigned_url(
        "get_object", Params={"Bucket": storage.bucket_name, "Key": key}, ExpiresIn=2 * URL_WINDOW
    )


@pytest.fixture
def frozen(monkeypatch):
    """Our clock at ISSUED; botocore's at the start of ISSUED's window (what we sign as of)."""
    monkeypatch.setattr(MediaStorage, "clock", staticmethod(lambda: ISSUED))
    signed_at = datetime.fromtimestamp(WINDOW_START, UTC).replace(tzinfo=None)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


@pytest.mark.parametrize("token", [None, TOKEN], ids=["keys", "session-token"])
@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
def test_photo_urls_are_byte_identical_to_botocore_s(frozen, endpoint, token):
    storage = storage_for(endpoint, token)
    for key in KEYS:
        assert storage.url(key) == botocore_url(storage, f"media/{key}")


def test_a_rotated_instance_role_key_signs_new_urls_at_once(frozen):
    """Temporary credentials are read on every URL, so a refreshed token is used at once."""
    now = datetime.now(UTC)
    # The first key has expired already, so the first URL asks the role for the next one.
    issued = iter(
        {
            "access_key": f"ASIA{n}",
            "secret_key": f"secret-{n}",
            "token": f"token-{n}",
            "expiry_time": (now + timedelta(hours=n - 1)).isoformat(),
        }
        for n in (1, 2)
    )
    credentials = RefreshableCredentials.create_from_metadata(
        next(issued), lambda: next(issued), "instance-role"
    )
    storage = storage_for(ENDPOINTS["aws-auto"])
    probe = botocore_url(storage, "probe")
    signed = query(UrlSigner.matching(probe, credentials).url("media/a.jpg", ISSUED))
    assert signed["X-Amz-Security-Token"] == "token-2"
    assert signed["X-Amz-Credential"].startswith("ASIA2/")


def test_a_reloaded_feed_names_the_same_photo_urls_until_the_hour_ends(client, owner, monkeypatch):
    factories.post(owner, photos=3)
    client.force_login(owner)

    def photo_urls(at: float) -> list[str]:
        monkeypatch.setattr(MediaStorage, "clock", staticmethod(lambda: at))
        return re.findall(r'<img src="([^"]+)"', client.get("/").content.decode())

    first = photo_urls(WINDOW_START + 1)
    assert len(first) == 3
    assert photo_urls(WINDOW_START + URL_WINDOW - 1) == first
    later = photo_urls(WINDOW_START + URL_WINDOW)
    assert len(later) == 3 and not set(later) & set(first)


@pytest.mark.parametrize("offset", [0, URL_WINDOW / 2, URL_WINDOW - 0.001])
def test_a_url_works_for_at_least_an_hour_after_it_is_issued(monkeypatch, offset):
    issued_at = WINDOW_START + offset
    monkeypatch.setattr(MediaStorage, "clock", staticmethod(lambda: issued_at))
    signed = query(storage_for(ENDPOINTS["aws-auto"]).url("posts/a.jpg"))
    start = datetime.strptime(signed["X-Amz-Date"], "%Y%m%dT%H%M%S%z")
    expires = start + timedelta(seconds=int(signed["X-Amz-Expires"]))
    assert start.timestamp() <= issued_at
    assert expires.timestamp() - issued_at >= 3600


def test_a_cloudfront_domain_serves_unsigned_urls():
    storage = storage_for(ENDPOINTS["aws-auto"], custom_domain="cdn.example.com")
    assert storage.url("posts/a b.jpg") == "https://cdn.example.com/media/posts/a%20b.jpg"


def test_a_stored_photo_is_fetched_from_its_url(bucket):
    name = default_storage.save("posts/fetch me+.jpg", ContentFile(b"jpeg bytes"))
    response = requests.get(default_storage.url(name), timeout=10)
    assert response.status_code == 200
    assert response.content == b"jpeg bytes"


def test_saving_never_overwrites_and_asks_s3_not_to_rather_than_looking_first(bucket, monkeypatch):
    """No HEAD before a write (a 403 under the least-privilege policy): S3 refuses to overwrite
    (If-None-Match: *), and the storage takes another name."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    heads = []
    monkeypatch.setattr(type(default_storage._wrapped), "exists", lambda *a: heads.append(a))
    first = default_storage.save("posts/same.jpg", ContentFile(b"first", name="same.jpg"))
    second = default_storage.save("posts/same.jpg", ContentFile(b"second", name="same.jpg"))
    assert first == "posts/same.jpg" and second != first and second.startswith("posts/same_")
    assert bucket.get("media/posts/same.jpg")["Body"].read() == b"first"
    assert bucket.get(f"media/{second}")["Body"].read() == b"second"
    assert bucket.get(f"media/{second}")["CacheControl"] == "max-age=31536000, immutable"
    assert heads == []


def test_a_workers_threads_share_one_s3_client_each_with_a_resource_of_its_own():
    # Each thread's own boto3 session and client held 13 to 15 MB of botocore's models.
    storage = storage_for(ENDPOINTS["moto-path"])
    found = []
    threads = [threading.Thread(target=lambda: found.append(storage.connection)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(resource) for resource in found}) == 3
    assert len({id(resource.meta.client) for resource in found}) == 1
    assert storage.connection is storage.connection
