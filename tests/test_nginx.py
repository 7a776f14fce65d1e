"""deploy/nginx-instagram.conf, as operators install it: the app's body caps, and a real nginx in
front of a real gunicorn (production's deploy/gunicorn.conf.py) that holds slow clients itself."""

import re
import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.urls import reverse

from tests.servers import ROOT, free_port, gunicorn, production_secrets, project_copy
from tests.test_request_limits import FORM, MB, post_head, raw, status_of

CONF = ROOT / "deploy" / "nginx-instagram.conf"
NGINX = "/usr/sbin/nginx"


def body_caps() -> dict[str, int]:
    """client_max_body_size in bytes, by location ("" for the server's own)."""
    caps, location = {}, ""
    for line in CONF.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if opened := re.fullmatch(r"location\s+(?:=\s+)?(\S+)\s*\{", line):
            location = opened.group(1)
        elif line == "}":
            location = ""
        elif size := re.fullmatch(r"client_max_body_size\s+(\d+)m;", line):
            caps[location] = int(size.group(1)) * MB
    return caps


def test_nginx_caps_bodies_as_the_app_does():
    uploads = {reverse(name): settings.UPLOAD_BODY_MAX_BYTES for name in settings.UPLOAD_URL_NAMES}
    assert body_caps() == {"": settings.REQUEST_BODY_MAX_BYTES, **uploads}


def test_nginx_bounds_how_long_a_client_may_take_to_send():
    text = CONF.read_text()
    for directive in ["client_header_timeout", "client_body_timeout", "send_timeout"]:
        assert re.search(rf"^\s*{directive}\s+\d+s;", text, re.MULTILINE), directive
    assert not re.search(r"proxy_request_buffering\s+off", text)


def test_the_readme_installs_this_file():
    readme = (ROOT / "README.md").read_text()
    assert "deploy/nginx-instagram.conf /etc/nginx/sites-available/instagram" in readme


@pytest.fixture
def nginx_site(tmp_path, s3_secrets):
    """nginx on a free loopback port, with the operator's site file, in front of gunicorn."""
    with gunicorn(
        project_copy(tmp_path / "app"), production_secrets(s3_secrets), production_config=True
    ) as upstream:
        port = free_port()
        site = CONF.read_text().replace("127.0.0.1:8000", upstream.removeprefix("http://"))
        site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
        site = site.replace("listen [::]:80;", "").replace("www.example.com", "127.0.0.1")
        (tmp_path / "site.conf").write_text(site)
        temp = " ".join(
            f"{kind}_temp_path {tmp_path / kind};"
            for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        )
        (tmp_path / "nginx.conf").write_text(
            f"pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'error.log'};\n"
            "events { worker_connections 256; }\n"
            f"http {{ access_log {tmp_path / 'access.log'}; {temp} include site.conf; }}\n"
        )
        nginx = subprocess.Popen(
            [NGINX, "-p", str(tmp_path), "-c", "nginx.conf", "-g", "daemon off; user root;"]
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for(url, nginx, tmp_path / "error.log")
            yield url
        finally:
            nginx.terminate()
            nginx.wait(timeout=30)


def _wait_for(url: str, nginx: subprocess.Popen, log: Path) -> None:
    for _ in range(100):
        if nginx.poll() is not None:
            raise RuntimeError(f"nginx exited with {nginx.returncode}: {log.read_text()}")
        try:
            requests.get(url + "/accounts/login/", timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"nginx did not answer: {log.read_text()}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_nginx_refuses_big_bodies_but_lets_photo_uploads_through(nginx_site):
    with raw(nginx_site, post_head("/accounts/login/", f"Content-Length: {300 * MB}")) as sock:
        assert status_of(sock) == 413
    with raw(nginx_site, post_head("/posts/new/", f"Content-Length: {201 * MB}")) as sock:
        assert status_of(sock) == 413
    # 2 MB for a new post reach the app, whose CSRF check reads the form and finds no token.
    upload = requests.post(
        nginx_site + "/posts/new/", data=b"a" * 2 * MB, timeout=10,
        headers={"Content-Type": FORM, "Cookie": f"csrftoken={'a' * 32}"},
    )  # fmt: skip
    assert upload.status_code == 403 and "Your session expired" in upload.text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_nginx_holds_slow_clients_so_gunicorn_never_waits_for_them(nginx_site):
    # More than gunicorn's 2 workers x 4 threads: without nginx, these would stall it.
    head = post_head("/accounts/login/", "Content-Length: 1000")
    stalled = [raw(nginx_site, head) for _ in range(20)]
    try:
        time.sleep(1)
        started = time.monotonic()
        assert requests.get(nginx_site + "/accounts/login/", timeout=5).status_code == 200
        assert time.monotonic() - started < 2
    finally:
        for sock in stalled:
            sock.close()
