"""PostgreSQL restarting under the app: requests fail fast and cleanly, then work again.

The real test runs the app under gunicorn against a private throw-away PostgreSQL cluster (the
shared server on 5432 serves everyone else's tests), stops that cluster and starts it again.
"""

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests
from django.db import InterfaceError, OperationalError

from config import middleware
from posts import selectors
from tests.servers import (
    Browser,
    clean_environ,
    gunicorn,
    on_a_free_port,
    production_secrets,
    project_copy,
)

FRIENDLY = "We'll be back in a moment"
# Pages a member uses that all read the database.
PAGES = ["/", "/accounts/edit/", "/explore/", "/alice/"]
# A client that waits longer than this has met a hang, not a clean failure.
CLIENT_TIMEOUT = 5
PASSWORD = "through-the-looking-glass"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error",
    [
        OperationalError('connection to server at "127.0.0.1", port 5432 failed'),
        InterfaceError("connection already closed"),
    ],
)
def test_a_page_that_cannot_reach_the_database_is_a_friendly_503(
    client, owner, monkeypatch, caplog, error
):
    client.force_login(owner)

    def unreachable(**kwargs):
        raise error

    monkeypatch.setattr(selectors, "post_feed", unreachable)
    with caplog.at_level(logging.ERROR, logger=middleware.__name__):
        response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Cache-Control"] == "no-store"
    assert FRIENDLY in response.content.decode()
    [record] = [r for r in caplog.records if r.name == middleware.__name__]
    assert record.getMessage().startswith("Database unavailable, answered 503 to GET /: ")


@pytest.mark.django_db
def test_other_errors_are_not_taken_for_an_outage(client, owner, monkeypatch):
    client.force_login(owner)
    client.raise_request_exception = False

    def broken(**kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(selectors, "post_feed", broken)
    response = client.get("/")
    assert response.status_code == 500
    assert "Retry-After" not in response


class Cluster:
    """A private PostgreSQL cluster in a temporary directory, on a free loopback port.

    initdb refuses to run as root, so as root the cluster belongs to the postgres user.
    """

    def __init__(self, root: Path):
        versions = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
        )
        if not versions:
            pytest.skip("PostgreSQL's server binaries are not installed")
        self.bin = versions[-1]
        self.data = root / "data"
        self.log = root / "server.log"
        self.port = 0  # chosen by the first start()
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def database(self) -> dict[str, str]:
        return {
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "NAME": "postgres",
            "USER": "postgres",
            "PASSWORD": "",
        }

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, program: str, *args: str) -> None:
        subprocess.run(
            [*self.as_owner, self.bin / program, *args], check=True, capture_output=True, timeout=60
        )

    def create(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        try:
            self.run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start"
            )
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"PostgreSQL did not start:\n{self.log.read_text()}") from error

    def start_on(self, port: int) -> None:
        self.port = port
        self.start()

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")


@pytest.fixture
def cluster():
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="outage-postgres-"))
    try:
        made = Cluster(root)
        if made.as_owner:
            shutil.chown(root, "postgres")
        made.create()
        on_a_free_port(made.start_on)
        yield made
        if made.log.exists() and (made.data / "postmaster.pid").exists():
            made.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def site(cluster, tmp_path, s3_secrets):
    """The app, migrated onto the private cluster, under gunicorn: its URL and directory."""
    app = project_copy(tmp_path / "app")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"],
        cwd=app,
        env=clean_environ(DATABASE_URL=cluster.url),
        check=True,
        capture_output=True,
    )
    with gunicorn(app, production_secrets(s3_secrets, cluster.database)) as url:
        yield url, app


def server_pids(app: Path) -> set[int]:
    """The gunicorn processes (master and workers) serving from ``app``."""
    pids = set()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            serving = Path(proc, "cwd").resolve() == app.resolve()
            if serving and b"gunicorn" in Path(proc, "cmdline").read_bytes():
                pids.add(int(proc.name))
        except OSError:
            continue  # gone, or not ours to look at
    return pids


@pytest.mark.slow
def test_a_database_restart_fails_requests_cleanly_and_the_app_recovers_on_its_own(site, cluster):
    url, app = site
    alice = Browser(url)
    signed_up = alice.sign_up("alice", PASSWORD)
    assert signed_up.url.endswith("/accounts/edit/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', signed_up.text).group(1)
    pids = server_pids(app)
    assert len(pids) == 3  # the master and two workers
    for path in PAGES:
        assert alice.get(url + path, timeout=CLIENT_TIMEOUT).status_code == 200

    cluster.stop()
    # Twice each, so that both workers meet the outage on their open connection.
    for path in PAGES * 2:
        response = alice.get(url + path, timeout=CLIENT_TIMEOUT, allow_redirects=False)
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "30"
        assert FRIENDLY in response.text
    edit = alice.post(
        url + "/accounts/edit/",
        data={
            "csrfmiddlewaretoken": token,
            "username": "alice",
            "email": "alice@example.com",
            "full_name": "Alice Outage",
        },
        headers={"Referer": url + "/accounts/edit/"},
        timeout=CLIENT_TIMEOUT,
        allow_redirects=False,
    )
    assert edit.status_code == 503 and FRIENDLY in edit.text
    health = requests.get(url + "/healthz", timeout=CLIENT_TIMEOUT)
    assert health.status_code == 503
    assert health.json() == {"database": "failed: OperationalError", "storage": "ok"}

    cluster.start()
    for path in PAGES * 2:
        response = alice.get(url + path, timeout=CLIENT_TIMEOUT, allow_redirects=False)
        assert response.status_code == 200, path
    # Still logged in with the same session; the edit made during the outage was not half-done.
    profile = alice.get(url + "/accounts/edit/", timeout=CLIENT_TIMEOUT, allow_redirects=False)
    assert 'value="Alice"' in profile.text
    assert requests.get(url + "/healthz", timeout=CLIENT_TIMEOUT).status_code == 200
    assert server_pids(app) == pids
