"""Request bodies are capped before they are read, and slow clients cannot stall the site.

In-process tests drive the middleware with bodies that record what was read; the slow tests talk
raw HTTP to a real gunicorn started with production's deploy/gunicorn.conf.py.
"""

import io
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.limits import RequestBodyLimitMiddleware
from posts import forms as post_forms
from posts.images import post_renditions
from posts.models import Post
from tests import factories, imagefactory
from tests.servers import gunicorn, production_secrets, project_copy

pytestmark = pytest.mark.django_db

MB = 1_048_576
FORM = "application/x-www-form-urlencoded"


class Tripwire(io.RawIOBase):
    """A request body that counts what is read from it."""

    def __init__(self, size: int):
        self.remaining = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.remaining, 65_536)
        buffer[:n] = b"a" * n
        self.remaining -= n
        self.read_bytes += n
        return n


def declared(client, path: str, length: int, body: Tripwire, **headers):
    return client.generic(
        "POST", path, b"", headers=headers,
        CONTENT_TYPE=FORM, CONTENT_LENGTH=str(length), **{"wsgi.input": body},
    )  # fmt: skip


def chunked(client, path: str, body, **headers):
    """A POST whose body has no Content-Length, as gunicorn hands on a chunked one."""
    return client.generic(
        "POST", path, b"", headers=headers,
        CONTENT_TYPE=FORM, HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input": body},
    )  # fmt: skip


def test_a_300_mb_body_to_the_login_page_is_refused_unread(client):
    body = Tripwire(300 * MB)
    response = declared(client, "/accounts/login/", 300 * MB, body)
    assert response.status_code == 413
    assert body.read_bytes == 0
    page = response.content.decode()
    assert "at most 1 MB" in page and 'class="topbar"' in page


def test_a_script_is_told_why_in_json(client):
    json = {"Accept": "application/json"}
    response = declared(client, "/accounts/login/", 2 * MB, Tripwire(2 * MB), **json)
    assert response.status_code == 413
    assert "at most 1 MB" in response.json()["error"]


@pytest.mark.parametrize("path", ["/posts/new/", "/accounts/edit/"])
def test_photo_uploads_may_send_200_mb_but_no_more(client, owner, path):
    client.force_login(owner)
    body = Tripwire(201 * MB)
    response = declared(client, path, 201 * MB, body)
    assert response.status_code == 413 and body.read_bytes == 0
    assert "at most 200 MB" in response.content.decode()


def test_a_post_with_a_photo_over_1_mb_is_shared(client, owner, bucket):
    client.force_login(owner)
    photo = imagefactory.pad_jpeg(imagefactory.jpeg(800, 600), 3 * MB)
    response = client.post(
        "/posts/new/", {"photos": [SimpleUploadedFile("big.jpg", photo)], "caption": "large"}
    )
    assert response.status_code == 302
    assert Post.objects.filter(caption="large").exists()


def test_a_chunked_body_is_read_only_up_to_the_cap(client):
    body = Tripwire(50 * MB)
    response = chunked(client, "/accounts/login/", body)
    assert response.status_code == 413
    assert body.read_bytes <= MB + 65_536


def test_a_chunked_form_within_the_cap_works_like_any_other(client, owner):
    form = f"username=olivia&password={factories.PASSWORD}".encode()
    response = chunked(client, "/accounts/login/", io.BytesIO(form))
    assert response.status_code == 302
    assert client.get("/accounts/edit/").status_code == 200


@override_settings(REQUEST_BODY_MAX_BYTES=2_000, UPLOAD_BODY_MAX_BYTES=50_000)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/accounts/login/", "/posts/new/", "/p/abc/comments/", "/nobody/"]),
    size=st.integers(min_value=0, max_value=60_000),
    is_chunked=st.booleans(),
)
def test_a_body_passes_whole_if_and_only_if_it_fits_its_page(path, size, is_chunked):
    limit = 50_000 if path == "/posts/new/" else 2_000
    sent = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    middleware = RequestBodyLimitMiddleware(lambda request: HttpResponse(request.body))
    factory = RequestFactory()
    if is_chunked:
        request = factory.generic(
            "POST", path, b"", content_type=FORM, HTTP_TRANSFER_ENCODING="chunked",
            **{"wsgi.input": io.BytesIO(sent)},
        )  # fmt: skip
    else:
        request = factory.generic("POST", path, sent, content_type=FORM)
    response = middleware(request)
    if size > limit:
        assert response.status_code == 413
    else:
        assert response.status_code == 200 and response.content == sent


def test_a_worker_decodes_one_photo_at_a_time(monkeypatch):
    """Threads share a worker's memory: concurrent uploads wait for the pipeline in turn."""
    busy = []
    overlapped = threading.Event()

    def pipeline(data: bytes):
        busy.append(1)
        if len(busy) > 1:
            overlapped.set()
        time.sleep(0.05)
        busy.pop()
        return post_renditions(data)

    photo = imagefactory.jpeg(200, 200)
    threads = [
        threading.Thread(
            target=post_forms.photo_process, args=(SimpleUploadedFile("p.jpg", photo), pipeline)
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not overlapped.is_set()


# --- A real gunicorn, configured as in production -----------------------------------------


@pytest.fixture
def production_site(tmp_path, s3_secrets):
    with gunicorn(
        project_copy(tmp_path / "app"), production_secrets(s3_secrets), production_config=True
    ) as url:
        yield url


def raw(url: str, head: str) -> socket.socket:
    """A connection to the site that has sent ``head`` (request line and headers) only."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    sock.sendall(head.replace("\n", "\r\n").encode())
    return sock


def post_head(path: str, framing: str) -> str:
    """A form POST's request line and headers, ``framing`` saying how long its body is. The CSRF
    cookie is well-formed, so Django's CSRF check reads (and waits for) the body."""
    return (
        f"POST {path} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: {FORM}\n"
        f"Cookie: csrftoken={'a' * 32}\n{framing}\n\n"
    )


def status_of(sock: socket.socket) -> int:
    reply = sock.recv(65_536).decode("latin-1")
    return int(reply.split(" ", 2)[1]) if reply else 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_refuses_a_huge_body_before_it_is_sent(production_site):
    with raw(production_site, post_head("/accounts/login/", f"Content-Length: {300 * MB}")) as sock:
        assert status_of(sock) == 413


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_stops_reading_a_chunked_body_at_the_cap(production_site):
    sock = raw(production_site, post_head("/accounts/login/", "Transfer-Encoding: chunked"))
    chunk = b"%x\r\n%s\r\n" % (65_536, b"a" * 65_536)
    sent = 0
    with sock:
        try:
            while sent < 50 * MB:
                sock.sendall(chunk)
                sent += 65_536
        except OSError:
            pass  # the server answered and closed while the client was still sending
        assert status_of(sock) == 413
    # What the kernel's buffers took beyond the 1 MB the app read, not the 50 MB offered.
    assert sent < 20 * MB


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_clients_that_never_send_their_body_do_not_stall_the_site(production_site):
    head = post_head("/accounts/login/", "Content-Length: 1000")
    stalled = [raw(production_site, head) for _ in range(2)]
    time.sleep(1)  # both are now inside the app, waiting for a body
    started = time.monotonic()
    page = requests.get(production_site + "/accounts/login/", timeout=5)
    assert page.status_code == 200
    assert time.monotonic() - started < 3
    # The read time-out (15 s) frees what the stalled clients held.
    for sock in stalled:
        with sock:
            sock.settimeout(25)
            sock.recv(65_536)
