"""S3 outages during uploads, and many requests at once: nothing is lost, nothing is doubled."""

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.config import Config
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings

from config.storage import MediaStorage
from posts.models import Comment, Like, Post
from tests import factories, imagefactory
from tests.servers import free_port

pytestmark = pytest.mark.django_db


class FaultyS3(BaseHTTPRequestHandler):
    """An S3 endpoint that fails: 'error' answers 500 to everything, 'hang' never answers."""

    mode = "error"

    def _fail(self):
        if self.mode == "hang":
            self.server.release.wait(10)
            return
        self.send_response(500)
        self.send_header("Content-Type", "application/xml")
        self.end_headers()
        self.wfile.write(b"<Error><Code>InternalError</Code><Message>down</Message></Error>")

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _fail

    def log_message(self, *args):
        pass


@contextmanager
def s3_at(settings, endpoint: str, **config):
    """Point the media storage at ``endpoint``, with botocore ``config`` overrides."""
    media = settings.STORAGES["default"]
    client_config = media["OPTIONS"]["client_config"].merge(Config(**config))
    options = {**media["OPTIONS"], "endpoint_url": endpoint, "client_config": client_config}
    with override_settings(
        STORAGES={**settings.STORAGES, "default": {**media, "OPTIONS": options}}
    ):
        yield


@contextmanager
def faulty_s3(mode: str):
    handler = type("Handler", (FaultyS3,), {"mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.release.set()
        server.shutdown()


@contextmanager
def nothing_listening():
    yield f"http://127.0.0.1:{free_port()}"


def share(client, caption="kept caption", **headers):
    photos = [SimpleUploadedFile(f"p{i}.jpg", imagefactory.jpeg(600, 600)) for i in range(2)]
    return client.post("/posts/new/", {"photos": photos, "caption": caption}, headers=headers)


@pytest.fixture
def member(client, owner):
    client.force_login(owner)
    return owner


@pytest.mark.parametrize("outage", ["unreachable", "answering 500", "not answering"])
def test_an_s3_outage_during_an_upload_is_a_clear_error_that_loses_nothing(
    client, member, bucket, settings, outage
):
    endpoint = {
        "unreachable": nothing_listening,
        "answering 500": lambda: faulty_s3("error"),
        "not answering": lambda: faulty_s3("hang"),
    }[outage]()
    with endpoint as url, s3_at(settings, url, read_timeout=1, retries={"max_attempts": 2}):
        response = share(client)
    assert response.status_code == 503
    assert "couldn't store your photos just now" in response.content.decode().replace("&#x27;", "'")
    assert "kept caption" in response.content.decode()
    assert not Post.objects.exists()
    assert bucket.keys() == []


def test_an_s3_outage_answers_json_to_the_uploading_page(client, member, settings):
    with nothing_listening() as url, s3_at(settings, url, retries={"max_attempts": 1}):
        response = share(client, Accept="application/json")
    assert response.status_code == 503
    assert "try again in a moment" in response.json()["errors"]["__all__"][0]


def test_s3_failing_after_the_first_photo_leaves_no_object_behind(
    client, member, bucket, monkeypatch
):
    real_save = MediaStorage._save
    calls = []

    def flaky_save(storage, name, content):
        calls.append(name)
        if len(calls) == 3:
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="http://s3")
        return real_save(storage, name, content)

    monkeypatch.setattr(MediaStorage, "_save", flaky_save)
    response = share(client)
    assert response.status_code == 503
    assert len(calls) == 3  # two objects were stored before the failure...
    assert bucket.keys() == []  # ...and removed again
    assert not Post.objects.exists()


def test_production_talks_to_s3_with_finite_time_outs(settings):
    config = settings.STORAGES["default"]["OPTIONS"]["client_config"]
    assert 0 < config.connect_timeout <= 10 and 0 < config.read_timeout <= 60


def test_a_form_submitted_twice_makes_one_post(client, member, bucket):
    submission = str(uuid.uuid4())
    photo = imagefactory.jpeg(500, 500)
    responses = [
        client.post(
            "/posts/new/",
            {"photos": [SimpleUploadedFile("a.jpg", photo)], "submission": submission},
        )
        for _ in range(2)
    ]
    [post] = Post.objects.all()
    assert [r.url for r in responses] == [post.get_absolute_url()] * 2
    assert len(bucket.keys()) == 2


def at_once(people, request) -> list:
    """``request(client)`` for each person, logged in, in threads released together."""
    start = threading.Barrier(len(people))

    def run(person):
        client = Client()
        client.force_login(person)
        start.wait(timeout=30)
        try:
            return request(client)
        finally:
            connection.close()  # each thread has its own database connection

    with ThreadPoolExecutor(len(people)) as pool:
        return list(pool.map(run, people))


@pytest.mark.django_db(transaction=True)
def test_the_same_form_racing_itself_makes_one_post_and_keeps_no_extra_objects(owner, bucket):
    submission = str(uuid.uuid4())
    photo = imagefactory.jpeg(500, 500)

    def submit(client):
        upload = SimpleUploadedFile("a.jpg", photo)
        return client.post("/posts/new/", {"photos": [upload], "submission": submission})

    responses = at_once([owner] * 4, submit)
    [post] = Post.objects.all()
    assert {r.status_code for r in responses} == {302}
    assert {r.url for r in responses} == {post.get_absolute_url()}
    image = post.images.get()
    assert bucket.keys() == sorted(["media/" + image.display.name, "media/" + image.thumbnail.name])


@pytest.mark.django_db(transaction=True)
def test_fifty_people_liking_at_once_make_fifty_likes(owner):
    post = factories.post(owner)
    people = [factories.user() for _ in range(50)]
    responses = at_once(
        people,
        lambda client: client.post(f"/p/{post.code}/like/", headers={"Accept": "application/json"}),
    )
    assert {r.status_code for r in responses} == {200}
    assert Like.objects.filter(post=post).count() == 50


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_like_makes_one_like_and_no_error(owner, follower):
    post = factories.post(owner)
    responses = at_once(
        [follower] * 2, lambda client: client.post(f"/p/{post.code}/like/", {"next": "/"})
    )
    assert [r.status_code for r in responses] == [302, 302]
    assert Like.objects.filter(post=post).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_the_same_comment_form_sent_twice_at_once_makes_one_comment(owner, follower, accept):
    post = factories.post(owner)
    page = Client()
    page.force_login(follower)
    form = re.search(
        r'name="submission" value="([^"]+)"', page.get(f"/p/{post.code}/").content.decode()
    )
    sent = {"text": "First!", "submission": form.group(1)}
    responses = at_once(
        [follower] * 2,
        lambda client: client.post(f"/p/{post.code}/comments/", sent, headers={"Accept": accept}),
    )
    [comment] = Comment.objects.filter(post=post)
    assert comment.text == "First!"
    assert {r.status_code for r in responses} == ({302} if accept == "text/html" else {200})
