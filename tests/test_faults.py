"""S3 outages during uploads, and many requests at once: nothing is lost, nothing is doubled."""

import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from posts.models import Comment, Like, Post
from tests import factories, imagefactory
from tests.conftest import media_through
from tests.faultproxy import refused_endpoint, unaccepted_endpoint

pytestmark = pytest.mark.django_db

# Short time-outs, so that a stalled request fails in a second; the production values have
# their own test below.
QUICK = {"read_timeout": 1, "retries": {"total_max_attempts": 2, "mode": "standard"}}


def share(client, caption="kept caption", photos=2, **headers):
    uploads = [SimpleUploadedFile(f"p{i}.jpg", imagefactory.jpeg(600, 600)) for i in range(photos)]
    return client.post("/posts/new/", {"photos": uploads, "caption": caption}, headers=headers)


def assert_clear_error_keeping_the_form(response) -> None:
    page = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 503
    assert "couldn't store your photos just now" in page
    assert "kept caption" in page


@pytest.fixture
def member(client, owner):
    client.force_login(owner)
    return owner


def test_an_unreachable_s3_during_an_upload_is_a_clear_error_that_stores_nothing(
    client, member, bucket, s3_secrets
):
    url, port_holder = refused_endpoint()
    with port_holder, media_through(s3_secrets, url, **QUICK):
        response = share(client)
    assert_clear_error_keeping_the_form(response)
    assert not Post.objects.exists()
    assert bucket.keys() == []


@pytest.mark.parametrize("action", ["error", "drop", "stall"])
@pytest.mark.parametrize("after", [0, 1, 3], ids=["first-write", "second-write", "last-write"])
def test_s3_failing_during_an_upload_leaves_no_object_and_no_post(
    client, member, bucket, s3_secrets, s3_proxy, action, after
):
    """Two photos make four objects; S3 goes down after ``after`` of them were written.
    The proxy forwards the clean-up deletions, so the real bucket shows what was left."""
    s3_proxy.fail("PUT", action=action, after=after)
    with media_through(s3_secrets, s3_proxy.url, **QUICK):
        response = share(client)
    assert_clear_error_keeping_the_form(response)
    assert s3_proxy.count("PUT", "forwarded") == after  # these objects really were stored...
    assert s3_proxy.count("PUT") > after  # ...then writes failed...
    assert s3_proxy.count("DELETE", "forwarded") == after  # ...and each stored one was removed
    assert bucket.keys() == []
    assert not Post.objects.exists()


def test_an_s3_outage_answers_json_to_the_uploading_page(client, member, s3_secrets, s3_proxy):
    s3_proxy.fail("PUT")
    with media_through(s3_secrets, s3_proxy.url, **QUICK):
        response = share(client, Accept="application/json")
    assert response.status_code == 503
    assert "try again in a moment" in response.json()["errors"]["__all__"][0]


@pytest.mark.slow
def test_an_upload_to_an_s3_that_never_answers_fails_within_the_promised_time(
    client, member, bucket, s3_secrets, s3_proxy
):
    """The README's promise, with production's S3 settings: a read time-out of 20 s and 3
    attempts, so the member sees the error after about a minute, not never."""
    s3_proxy.fail("PUT", action="stall")
    with media_through(s3_secrets, s3_proxy.url):
        start = time.monotonic()
        response = share(client, photos=1)
        waited = time.monotonic() - start
    assert_clear_error_keeping_the_form(response)
    assert s3_proxy.count("PUT") == 6  # three attempts at each rendition, written at once
    assert 3 * 20 <= waited < 3 * 20 + 10  # three read time-outs, back-off (at most 1 + 2 s)
    assert bucket.keys() == []


@pytest.mark.slow
def test_an_upload_to_an_s3_that_never_accepts_a_connection_fails_within_the_promised_time(
    client, member, bucket, s3_secrets
):
    """The connect time-out of 5 s, 3 attempts: the member sees the error after about 15 s."""
    with unaccepted_endpoint() as url, media_through(s3_secrets, url):
        start = time.monotonic()
        response = share(client, photos=1)
        waited = time.monotonic() - start
    assert_clear_error_keeping_the_form(response)
    assert 3 * 5 <= waited < 3 * 5 + 5  # three connect time-outs, back-off (at most 1 + 2 s)
    assert bucket.keys() == []


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
