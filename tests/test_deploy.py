"""deploy.sh, run as a user runs it, against a real sshd and rsync standing in for an EC2 host.

The module shares one sshd and one first deploy; each test then deploys a clone of that checkout
(changed as the test needs) into the same directory on the host, so the virtualenv is built once.
The deployed app runs under gunicorn from a pidfile, on the test database and the moto bucket.
"""

import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests

from tests import imagefactory
from tests.conftest import BUCKET
from tests.servers import (
    ROOT,
    Browser,
    clean_environ,
    free_port,
    production_secrets,
    project_copy,
)
from tests.sshhost import SshHost, sshd

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

GIT = ["git", "-c", "user.name=Deployer", "-c", "user.email=deployer@example.com"]
RELEASE_NAME = re.compile(r"^\d{14}$")
MARKER = re.compile(r'<meta name="release" content="([^"]+)">')
EXAMPLE_SECRET_KEY = json.loads((ROOT / "secrets.json.example").read_text())["SECRET_KEY"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@dataclass
class Site:
    """The deploy directory on the stand-in host, and how to deploy to it and reach the app."""

    host: SshHost
    dir: Path
    url: str
    source: Path
    secrets: dict
    first_output: str = ""

    def deploy(self, checkout: Path) -> subprocess.CompletedProcess:
        """``./deploy.sh user@host`` in ``checkout``; ssh's port and key come from its
        secrets.json, the known_hosts file from the environment."""
        return subprocess.run(
            ["./deploy.sh", self.host.target],
            cwd=checkout,
            env=clean_environ(DEPLOY_SSH_OPTIONS=self.host.options),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )

    def checkout(
        self,
        dest: Path,
        *,
        files: dict[str, str] | None = None,
        secrets: dict | None = None,
        commit: bool = True,
    ) -> Path:
        """A clone of the first checkout with ``files`` written (committed unless told), and a
        secrets.json with ``secrets`` laid over the site's."""
        git(self.source.parent, "clone", "-q", str(self.source), str(dest))
        for name, text in (files or {}).items():
            (dest / name).write_text(text)
        if files and commit:
            git(dest, "add", "-A")
            git(dest, "commit", "-qm", "Change for a test")
        (dest / "secrets.json").write_text(json.dumps({**self.secrets, **(secrets or {})}))
        return dest

    def marked(self, marker: str) -> dict[str, str]:
        """The files for a release whose pages say ``marker`` in a <meta> tag."""
        base = (self.source / "templates/base.html").read_text()
        meta = f'<meta name="release" content="{marker}">\n</head>'
        return {"templates/base.html": base.replace("</head>", meta, 1)}

    def current(self) -> Path:
        return (self.dir / "current").resolve()

    def releases(self) -> list[str]:
        names = (path.name for path in (self.dir / "releases").iterdir())
        return sorted(name for name in names if RELEASE_NAME.match(name))

    def master(self) -> int:
        return int((self.dir / "shared/gunicorn.pid").read_text())

    def marker(self) -> str | None:
        """The marker of the release that answers now (None for the first checkout's)."""
        page = requests.get(self.url + "/accounts/login/", timeout=30)
        assert page.status_code == 200
        found = MARKER.search(page.text)
        return found and found.group(1)

    def healthz(self) -> requests.Response:
        return requests.get(self.url + "/healthz", timeout=30)

    def stop(self) -> None:
        pid = self.master()
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)


class PageLoader(threading.Thread):
    """A visitor loading a page again and again, each time on a new connection, until the
    block ends (or ``limit`` requests, or ``seconds``); it records each page's marker."""

    def __init__(self, url: str, *, limit: int = 5000, seconds: float = 300):
        super().__init__(daemon=True)
        self.url = url
        self.limit = limit
        self.seconds = seconds
        self.stopping = threading.Event()
        self.markers: list[str | None] = []
        self.failures: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        while (
            not self.stopping.is_set()
            and len(self.markers) + len(self.failures) < self.limit
            and time.monotonic() < deadline
        ):
            try:
                page = requests.get(self.url, timeout=30)
            except requests.RequestException as exc:
                self.failures.append(repr(exc))
                continue
            if page.status_code != 200:
                self.failures.append(f"{page.status_code} {page.text[:200]}")
                continue
            found = MARKER.search(page.text)
            self.markers.append(found and found.group(1))

    def __enter__(self) -> "PageLoader":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        self.join()


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory):
    with sshd(tmp_path_factory.mktemp("sshd")) as host:
        yield host


@pytest.fixture(scope="module")
def site(ssh_host, django_db_setup, s3_media, s3_secrets, tmp_path_factory):
    """The first release, deployed from a fresh clone into an empty directory on the host."""
    root = tmp_path_factory.mktemp("deploy")
    deploy_dir = root / "srv" / "instagram"
    port = free_port()
    # What an operator sets on the host; DEPLOY_SYSTEMD=no since a CI runner may have systemd.
    (deploy_dir / "shared").mkdir(parents=True)
    (deploy_dir / "shared/host.env").write_text(
        f"GUNICORN_BIND=127.0.0.1:{port}\nWEB_CONCURRENCY=2\nDEPLOY_SYSTEMD=no\n"
    )
    secrets = {
        **production_secrets(s3_secrets),
        "DEPLOY_DIR": str(deploy_dir),
        "DEPLOY_SSH_KEY": str(ssh_host.key),
        "DEPLOY_SSH_PORT": ssh_host.port,
    }
    source = project_copy(root / "source")
    git(source, "init", "-q")
    git(source, "add", "-A")
    git(source, "commit", "-qm", "The project")
    (source / "secrets.json").write_text(json.dumps(secrets))
    site = Site(ssh_host, deploy_dir, f"http://127.0.0.1:{port}", source, secrets)
    result = site.deploy(source)
    assert result.returncode == 0, result.stdout
    site.first_output = result.stdout
    yield site
    site.stop()


def test_the_first_deploy_serves_the_tracked_files_with_private_secrets(site):
    steps = [line for line in site.first_output.splitlines() if line.startswith("==> ")]
    assert [step.split()[1] for step in steps] == [
        "Checking",
        "Preparing",
        "Uploading",
        "Copying",
        "Activating",
        "Building",
        "Migrating",
        "Collecting",
        "Loading",
        "Switching",
        "Starting",
        "Checking",
        "Kept",
        "Deployed",
    ]
    assert "warning" not in site.first_output
    assert site.healthz().json() == {"database": "ok", "storage": "ok"}
    signup = requests.get(site.url + "/accounts/signup/", timeout=30)
    assert signup.status_code == 200 and 'name="username"' in signup.text

    release = site.current()
    assert release.parent == site.dir / "releases"
    assert (release / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert json.loads((release / "secrets.json").read_text()) == site.secrets
    for name in git(site.source, "ls-files").splitlines():
        assert (release / name).read_bytes() == (site.source / name).read_bytes()
    assert not (release / ".git").exists()


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        (None, "no secrets.json"),
        ({"DEBUG": True}, '"DEBUG": true'),
        ({"SECRET_KEY": EXAMPLE_SECRET_KEY}, "the example's SECRET_KEY"),
    ],
    ids=["without-secrets", "debug-on", "example-secret-key"],
)
def test_it_refuses_to_deploy_without_safe_secrets(site, tmp_path, secrets, message):
    before = site.releases()
    checkout = site.checkout(tmp_path / "checkout", secrets=secrets)
    if secrets is None:
        (checkout / "secrets.json").unlink()
    result = site.deploy(checkout)
    assert result.returncode != 0
    assert message in result.stdout
    assert "Uploading" not in result.stdout
    assert site.releases() == before


def test_it_refuses_to_deploy_a_secrets_json_that_git_tracks(site, tmp_path):
    before = site.releases()
    checkout = site.checkout(tmp_path / "checkout")
    git(checkout, "add", "--force", "secrets.json")
    git(checkout, "commit", "-qm", "Oops")
    result = site.deploy(checkout)
    assert result.returncode != 0
    assert "secrets.json is tracked by git" in result.stdout
    assert "Uploading" not in result.stdout
    assert site.releases() == before


def test_a_second_release_replaces_the_first_while_a_visitor_loads_pages_without_one_failing(
    site, tmp_path
):
    checkout = site.checkout(tmp_path / "second", files=site.marked("second"), commit=False)
    (checkout / "scratch.txt").write_text("an untracked note\n")
    master = site.master()
    with PageLoader(site.url + "/accounts/login/") as visitor:
        result = site.deploy(checkout)
    assert result.returncode == 0, result.stdout
    assert visitor.failures == []
    # The visitor was there before and after the switch.
    assert visitor.markers[0] != "second" and visitor.markers[-1] == "second"

    # Uncommitted edits to tracked files ship, with a warning; untracked files stay behind.
    assert "warning: uncommitted changes" in result.stdout
    assert "templates/base.html" in result.stdout and "scratch.txt" in result.stdout
    assert not (site.current() / "scratch.txt").exists()

    assert "Reloading gunicorn gracefully (HUP)" in result.stdout
    assert site.master() == master
    assert site.marker() == "second"


def test_a_release_whose_migration_fails_leaves_the_previous_release_serving(site, tmp_path):
    migrations = site.source / "posts/migrations"
    latest = max(path.stem for path in migrations.glob("0*.py"))
    broken = (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f'    dependencies = [("posts", "{latest}")]\n'
        '    operations = [migrations.RunSQL("DROP TABLE no_such_table")]\n'
    )
    files = {**site.marked("broken"), "posts/migrations/9999_broken.py": broken}
    checkout = site.checkout(tmp_path / "broken", files=files)
    before, releases, marker = site.current(), site.releases(), site.marker()

    result = site.deploy(checkout)

    assert result.returncode != 0
    assert "no_such_table" in result.stdout and "deploy: migrate failed" in result.stdout
    assert "Switching" not in result.stdout
    assert site.current() == before and site.releases() == releases
    assert site.marker() == marker
    assert site.healthz().status_code == 200


def test_a_release_whose_healthz_fails_is_rolled_back(site, tmp_path):
    checkout = site.checkout(
        tmp_path / "unhealthy",
        files=site.marked("unhealthy"),
        secrets={"AWS_STORAGE_BUCKET_NAME": "no-such-bucket"},
    )
    before, releases, marker = site.current(), site.releases(), site.marker()

    result = site.deploy(checkout)

    assert result.returncode != 0
    assert "/healthz answered 503" in result.stdout
    assert f"Rolling back to releases/{before.name}" in result.stdout
    assert site.current() == before and site.releases() == releases
    assert site.marker() == marker
    assert site.healthz().json() == {"database": "ok", "storage": "ok"}


def test_photos_posted_before_two_deploys_in_a_row_are_all_still_shown(site, bucket):
    alice = Browser(site.url)
    alice.sign_up("alice", "through-the-looking-glass")
    posts = []
    for count in (1, 3):
        photos = [
            ("photos", (f"photo{n}.jpg", imagefactory.jpeg(900, 700), "image/jpeg"))
            for n in range(count)
        ]
        response = alice.submit("/posts/new/", {"caption": f"{count} photos"}, files=photos)
        assert response.status_code == 200 and "/p/" in response.url
        posts.append((urlsplit(response.url).path, count))
    keys = bucket.keys()

    for _ in range(2):
        result = site.deploy(site.source)
        assert result.returncode == 0, result.stdout

    visitor = Browser(site.url)
    for path, count in posts:
        page = visitor.page(path).text
        sources = re.findall(r'<li class="photos__slide">\s*<img src="([^"]+)"', page)
        assert len(sources) == count
        for src in sources:
            url = src.replace("&amp;", "&")
            image = requests.get(url, timeout=30)
            assert image.status_code == 200
            key = unquote(urlsplit(url).path).removeprefix(f"/{BUCKET}/")
            assert image.content == bucket.get(key)["Body"].read()
    assert bucket.keys() == keys


def test_new_requirements_get_their_own_virtualenv_and_master_without_a_failed_request(
    site, tmp_path
):
    requirements = (site.source / "requirements.txt").read_text() + "# Reordered nothing.\n"
    files = {**site.marked("new-requirements"), "requirements.txt": requirements}
    checkout = site.checkout(tmp_path / "requirements", files=files)
    old_venv = (site.current() / ".venv").resolve()
    master = site.master()

    with PageLoader(site.url + "/accounts/login/") as visitor:
        result = site.deploy(checkout)

    assert result.returncode == 0, result.stdout
    assert "Building virtualenv" in result.stdout
    assert "Starting a new gunicorn master (USR2)" in result.stdout
    new_venv = (site.current() / ".venv").resolve()
    assert new_venv != old_venv
    assert site.master() != master and not running(master)
    assert visitor.failures == []
    assert site.marker() == "new-requirements"
    # The workers run on the new virtualenv's packages, none on the old one's.
    pid = site.master()
    workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    maps = "".join(Path(f"/proc/{worker}/maps").read_text() for worker in workers)
    assert str(new_venv) in maps and str(old_venv) not in maps


def test_it_keeps_the_five_newest_releases_and_deletes_nothing_else(site):
    # What an operator or the course's old script may have left around the releases.
    kept = {
        site.dir / "media/from-the-old-script.jpg": imagefactory.jpeg(40, 30),
        site.dir / "shared/media/posts/local.jpg": imagefactory.jpeg(30, 40),
        site.dir / "releases/NOTES.txt": b"Release notes\n",
        site.dir / "backup.sql": b"-- a database dump\n",
    }
    for path, content in kept.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    before = site.releases()
    made = []
    while len(before) + len(made) <= 5:
        result = site.deploy(site.source)
        assert result.returncode == 0, result.stdout
        made.append(site.current().name)

    assert site.releases() == (before + made)[-5:]
    for path, content in kept.items():
        assert path.read_bytes() == content
    assert site.healthz().status_code == 200
