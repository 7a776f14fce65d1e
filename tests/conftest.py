"""Shared fixtures: the moto S3 server over real HTTP, the media bucket, Redis, and personas."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from django.conf import settings
from django.test import override_settings
from moto.server import ThreadedMotoServer

from config.secrets import Secrets
from tests import factories
from tests.faultproxy import FaultProxy
from tests.mailserver import Inbox, SMTPServer, after_response_done
from tests.redisserver import RedisServer

BUCKET = "instagram-test-media"
REGION = "ap-northeast-2"
# moto accepts any credentials; these only have to be present so boto3 signs requests.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test-key-id", "AWS_SECRET_ACCESS_KEY": "test-secret"}


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on a free loopback port, reached over real HTTP like AWS."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3_secrets(s3_endpoint):
    """The S3 keys a secrets.json would hold to use the test bucket."""
    return {
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_S3_ADDRESSING_STYLE": "path",
        **CREDENTIALS,
    }


def moto_client(service: str, endpoint: str):
    """A boto3 client for ``service`` on the moto server, with the tests' fake credentials."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture(scope="session")
def s3_client(s3_endpoint):
    return moto_client("s3", s3_endpoint)


@contextmanager
def media_through(s3_secrets: dict, endpoint: str, **client_config) -> Iterator[None]:
    """Store media through ``endpoint``, with the storage production's settings build
    (config/secrets.py) and, when given, botocore ``client_config`` overrides."""
    secrets = {**s3_secrets, "AWS_S3_ENDPOINT_URL": endpoint}
    media = Secrets(Path("tests-secrets.json"), secrets, {}).storages()["default"]
    if client_config:
        options = media["OPTIONS"]
        merged = options["client_config"].merge(Config(**client_config))
        media = {**media, "OPTIONS": {**options, "client_config": merged}}
    with override_settings(STORAGES={**settings.STORAGES, "default": media}):
        yield


@pytest.fixture(scope="session", autouse=True)
def s3_media(s3_secrets, s3_endpoint, s3_client):
    """Every test stores media in the moto bucket, configured as production configures S3."""
    s3_client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    with media_through(s3_secrets, s3_endpoint):
        yield


@pytest.fixture
def s3_proxy(s3_endpoint) -> Iterator[FaultProxy]:
    """A faulty endpoint in front of the moto server (see tests/faultproxy.py): it forwards
    everything until the test tells it what to fail."""
    with FaultProxy(s3_endpoint) as proxy:
        yield proxy


@pytest.fixture(autouse=True)
def _bucket_present(s3_client):
    """Make sure the media bucket exists: a test's mock_aws() resets the moto server's state
    too, since ThreadedMotoServer shares it with this process."""
    try:
        s3_client.head_bucket(Bucket=BUCKET)
    except s3_client.exceptions.ClientError:
        s3_client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )


@pytest.fixture
def cached_page(client):
    """``load(viewer, path)``: the page's HTML as ``viewer`` (None: a visitor) sees it, loaded
    twice so that the second comes from the cache of rendered fragments (posts/cards.py)."""

    def load(viewer, path: str) -> str:
        client.logout()
        if viewer is not None:
            client.force_login(viewer)
        client.get(path)
        response = client.get(path)
        assert response.status_code == 200
        return response.content.decode()

    return load


@pytest.fixture
def bucket(s3_client):
    """The media bucket, emptied, with a helper to list its keys."""
    _empty(s3_client)
    yield Bucket(s3_client)
    _empty(s3_client)


def _empty(client) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])


class Bucket:
    """What the tests ask of the bucket."""

    name = BUCKET

    def __init__(self, client):
        self.client = client

    def keys(self) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def get(self, key: str) -> dict:
        return self.client.get_object(Bucket=BUCKET, Key=key)


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on loopback."""
    with SMTPServer() as server:
        yield server


@pytest.fixture
def mailbox(smtp_server, tmp_path) -> Inbox:
    """The app sends mail through the loopback SMTP server, as production's smtp setting does;
    the test reads what arrived."""
    smtp_server.inbox.clear()
    email = Secrets(tmp_path / "secrets.json", smtp_server.secrets(), {}).email()
    with override_settings(**email):
        yield smtp_server.inbox
        after_response_done()  # while the settings still point at this server
    smtp_server.inbox.clear()


@pytest.fixture(autouse=True)
def after_responses_finish() -> Iterator[None]:
    """What a test's requests left for after their responses (mail) is done within the test,
    never during the next one."""
    yield
    after_response_done()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port for the whole run."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def redis_settings(url: str) -> dict:
    """The cache and session settings production derives from REDIS_URL ``url`` (the
    per-process caches config/settings.py adds, such as posts.cards' "fragments", kept)."""
    secrets = Secrets(Path("tests-secrets.json"), {"REDIS_URL": url}, {})
    caches = {**settings.CACHES, **secrets.caches()}
    return {"CACHES": caches, "SESSION_ENGINE": secrets.session_engine()}


@pytest.fixture
def redis_cache(redis_server) -> Iterator[RedisServer]:
    """The app on the run's Redis, as with REDIS_URL: the cache, sessions and rate counters;
    emptied before and after the test."""
    redis_server.client().flushdb()
    with override_settings(**redis_settings(redis_server.url)):
        yield redis_server
    redis_server.client().flushdb()


@pytest.fixture(scope="module")
def decode_slots(tmp_path_factory) -> Path:
    """A server's own decode slot files (config/decode_slots.py), for the browser tests' site."""
    return tmp_path_factory.mktemp("decode-slots")


@pytest.fixture
def owner(db):
    return factories.user(username="olivia", full_name="Olivia Owner")


@pytest.fixture
def follower(db):
    return factories.user(username="felix", full_name="Felix Follower")


@pytest.fixture
def outsider(db):
    return factories.user(username="oscar", full_name="Oscar Outsider")


def pytest_collection_modifyitems(items):
    """Every browser test is slow too: `bin/test -m "not slow"` is the quick loop without them."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
