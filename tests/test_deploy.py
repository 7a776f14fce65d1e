"""deploy.sh, run as a user runs it, against real sshd servers and rsync standing in for EC2 hosts.

One module-wide host gets the first deploy, so the virtualenv is built once; each test deploys a
clone of that checkout (changed as the test needs) into the same directory on the host and leaves
a healthy release serving. A test that needs the first checkout's release asks for
``first_checkout_serving``, which deploys it again if another serves, so that no test depends on
the order they run in. Two more hosts, each a user of its own with its own
home, sshd and gunicorn, test deploying to several at once. The deployed apps run under gunicorn
from a pidfile, on the test database and the moto bucket.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import cycle
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
    production_secrets,
    project_copy,
)
from tests.sshhost import sshd, system_user, unused_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

GIT = ["git", "-c", "user.name=Deployer", "-c", "user.email=deployer@example.com"]
RELEASE_NAME = re.compile(r"^\d{14}$")
MARKER = re.compile(r'<meta name="release" content="([^"]+)">')
EXAMPLE_SECRET_KEY = json.loads((ROOT / "secrets.json.example").read_text())["SECRET_KEY"]
# What an operator sets on a host; DEPLOY_SYSTEMD=no since a CI runner may have systemd.
# Where the users that stand for several hosts have their homes, if it exists.
TMPFS = Path("/dev/shm")
HOST_ENV = "GUNICORN_BIND=127.0.0.1:{port}\nWEB_CONCURRENCY=2\nDEPLOY_SYSTEMD=no\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def steps(output: str) -> list[str]:
    return [line.removeprefix("==> ") for line in output.splitlines() if line.startswith("==> ")]


@dataclass
class Server:
    """One host's deploy directory, and the app it serves."""

    dir: Path
    url: str

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
        """Stop gunicorn, if a deploy started it."""
        if not (self.dir / "shared/gunicorn.pid").exists():
            return
        pid = self.master()
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)


@dataclass
class Site:
    """A checkout that deploy.sh ships to ``servers``, and how to change it for a test."""

    servers: list[Server]
    source: Path
    secrets: dict
    # DEPLOY_SSH_OPTIONS: which known_hosts file (and ssh config) to use.
    ssh_options: str
    targets: tuple[str, ...] = ()
    first_output: str = ""
    # The release of ``source`` last deployed to the first server.
    baseline: Path | None = field(default=None, repr=False)

    @property
    def server(self) -> Server:
        return self.servers[0]

    def deploy(
        self, checkout: Path, *targets: str, ssh_options: str | None = None
    ) -> subprocess.CompletedProcess:
        """``./deploy.sh [targets]`` in ``checkout`` (the site's own targets if none); the rest
        comes from its secrets.json, and ssh's options from the environment."""
        result = subprocess.run(
            ["./deploy.sh", *(targets or self.targets)],
            cwd=checkout,
            env=clean_environ(DEPLOY_SSH_OPTIONS=ssh_options or self.ssh_options),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        if checkout == self.source and result.returncode == 0:
            self.baseline = self.server.current()
        return result

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


class PageLoader(threading.Thread):
    """A visitor loading pages again and again, from each URL in turn and each time on a new
    connection, until the block ends (or ``limit`` requests, or ``seconds``); it records each
    page's marker. The block starts once the first page has loaded."""

    def __init__(self, *urls: str, limit: int = 5000, seconds: float = 300):
        super().__init__(daemon=True)
        self.urls = urls
        self.limit = limit
        self.seconds = seconds
        self.stopping = threading.Event()
        self.loaded = threading.Event()
        self.markers: list[str | None] = []
        self.failures: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        for url in cycle(self.urls):
            if (
                self.stopping.is_set()
                or len(self.markers) + len(self.failures) >= self.limit
                or time.monotonic() > deadline
            ):
                break
            self.load(url)
            self.loaded.set()

    def load(self, url: str) -> None:
        try:
            page = requests.get(url, timeout=30)
        except requests.RequestException as exc:
            self.failures.append(f"{url}: {exc!r}")
            return
        if page.status_code != 200:
            self.failures.append(f"{url}: {page.status_code} {page.text[:200]}")
            return
        found = MARKER.search(page.text)
        self.markers.append(found and found.group(1))

    def __enter__(self) -> "PageLoader":
        self.start()
        self.loaded.wait(timeout=60)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        self.join()


def make_source(root: Path, secrets: dict) -> Path:
    """A git clone of the project, as a user's checkout, with its secrets.json."""
    source = project_copy(root / "source")
    git(source, "init", "-q")
    git(source, "add", "-A")
    git(source, "commit", "-qm", "The project")
    (source / "secrets.json").write_text(json.dumps(secrets))
    return source


def make_server(deploy_dir: Path) -> Server:
    """A host's deploy directory holding just the operator's shared/host.env."""
    port = unused_port()
    (deploy_dir / "shared").mkdir(parents=True)
    (deploy_dir / "shared/host.env").write_text(HOST_ENV.format(port=port))
    return Server(deploy_dir, f"http://127.0.0.1:{port}")


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory):
    with sshd(tmp_path_factory.mktemp("sshd")) as host:
        yield host


@pytest.fixture(scope="module")
def first_site(ssh_host, django_db_setup, s3_media, s3_secrets, tmp_path_factory):
    """The first release, deployed from a fresh clone into an empty directory on the host."""
    root = tmp_path_factory.mktemp("deploy")
    server = make_server(root / "srv" / "instagram")
    secrets = {
        **production_secrets(s3_secrets),
        "DEPLOY_DIR": str(server.dir),
        "DEPLOY_SSH_KEY": str(ssh_host.key),
        "DEPLOY_SSH_PORT": ssh_host.port,
    }
    source = make_source(root, secrets)
    site = Site([server], source, secrets, ssh_host.options, targets=(ssh_host.target,))
    try:
        result = site.deploy(source)
        assert result.returncode == 0, result.stdout
        site.first_output = result.stdout
        yield site
    finally:
        server.stop()


@pytest.fixture
def site(first_site):
    """The single host, serving whatever the tests before left: each leaves a healthy release."""
    return first_site


@pytest.fixture
def first_checkout_serving(first_site):
    """Have the single host serve a release of the first checkout, deploying it again if an
    earlier test left another release serving."""
    if first_site.server.current() != first_site.baseline:
        result = first_site.deploy(first_site.source)
        assert result.returncode == 0, result.stdout


@pytest.fixture(scope="module")
def fleet(django_db_setup, s3_media, s3_secrets, tmp_path_factory):
    """Two hosts, web-a and web-b, each a user with its own home, sshd and gunicorn port, on
    one database and one bucket, reached through aliases in an ssh config; both deployed once
    from a fresh clone, with DEPLOY_HOSTS."""
    root = tmp_path_factory.mktemp("fleet")
    # The homes on tmpfs where there is one: each holds a virtualenv of 13,000 files, which
    # disks mounted with online discard take most of a minute to delete.
    homes = Path(tempfile.mkdtemp(prefix="deploy-hosts-", dir=TMPFS if TMPFS.is_dir() else None))
    homes.chmod(0o755)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, homes)
        servers, aliases, known_hosts = [], [], []
        for letter in "ab":
            name = f"web{os.getpid()}{letter}"
            user = stack.enter_context(system_user(name, homes / name))
            host = stack.enter_context(sshd(root / f"sshd-{letter}", user))
            server = make_server(Path(user.pw_dir) / "instagram")
            subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", server.dir], check=True)
            stack.callback(server.stop)
            servers.append(server)
            aliases.append(host.config(f"web-{letter}"))
            known_hosts.append(host.known_hosts.read_text())
        (root / "ssh_config").write_text("".join(aliases))
        (root / "known_hosts").write_text("".join(known_hosts))
        secrets = {
            **production_secrets(s3_secrets),
            "DEPLOY_HOSTS": ["web-a", "web-b"],
            "DEPLOY_DIR": "instagram",
        }
        options = f"-F {root / 'ssh_config'} -o UserKnownHostsFile={root / 'known_hosts'}"
        site = Site(servers, make_source(root, secrets), secrets, options)
        result = site.deploy(site.source)
        assert result.returncode == 0, result.stdout
        site.first_output = result.stdout
        yield site


@pytest.mark.usefixtures("first_checkout_serving")
def test_the_first_deploy_serves_the_tracked_files_with_private_secrets(site):
    assert [step.split()[0] for step in steps(site.first_output)] == [
        "Checking",
        "Creating",
        "Uploading",
        "Copying",
        "Preparing",
        "Building",
        "Collecting",
        "Loading",
        "Migrating",
        "Activating",
        "Switching",
        "Starting",
        "Checking",
        "Kept",
        "Serving",
        "Deployed",
    ]
    assert "warning" not in site.first_output
    assert site.server.healthz().json() == {"database": "ok", "storage": "ok"}
    signup = requests.get(site.server.url + "/accounts/signup/", timeout=30)
    assert signup.status_code == 200 and 'name="username"' in signup.text

    release = site.server.current()
    assert release == site.baseline
    assert release.parent == site.server.dir / "releases"
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
    before = site.server.releases()
    checkout = site.checkout(tmp_path / "checkout", secrets=secrets)
    if secrets is None:
        (checkout / "secrets.json").unlink()
    result = site.deploy(checkout)
    assert result.returncode != 0
    assert message in result.stdout
    assert "Uploading" not in result.stdout
    assert site.server.releases() == before


def test_it_refuses_to_deploy_a_secrets_json_that_git_tracks(site, tmp_path):
    before = site.server.releases()
    checkout = site.checkout(tmp_path / "checkout")
    git(checkout, "add", "--force", "secrets.json")
    git(checkout, "commit", "-qm", "Oops")
    result = site.deploy(checkout)
    assert result.returncode != 0
    assert "secrets.json is tracked by git" in result.stdout
    assert "Uploading" not in result.stdout
    assert site.server.releases() == before


@pytest.mark.usefixtures("first_checkout_serving")
def test_a_second_release_replaces_the_first_while_a_visitor_loads_pages_without_one_failing(
    site, tmp_path
):
    checkout = site.checkout(tmp_path / "second", files=site.marked("second"), commit=False)
    (checkout / "scratch.txt").write_text("an untracked note\n")
    master = site.server.master()
    with PageLoader(site.server.url + "/accounts/login/") as visitor:
        result = site.deploy(checkout)
    assert result.returncode == 0, result.stdout
    assert visitor.failures == []
    # The visitor was there before and after the switch.
    assert visitor.markers[0] != "second" and visitor.markers[-1] == "second"

    # Uncommitted edits to tracked files ship, with a warning; untracked files stay behind.
    assert "warning: uncommitted changes" in result.stdout
    assert "templates/base.html" in result.stdout and "scratch.txt" in result.stdout
    assert not (site.server.current() / "scratch.txt").exists()

    assert "Reloading gunicorn gracefully (HUP)" in result.stdout
    assert site.server.master() == master
    assert site.server.marker() == "second"


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
    before, releases, marker = site.server.current(), site.server.releases(), site.server.marker()

    result = site.deploy(checkout)

    assert result.returncode != 0
    assert "no_such_table" in result.stdout and "deploy: migrate failed" in result.stdout
    assert "Activating" not in result.stdout and "Switching" not in result.stdout
    assert site.server.current() == before and site.server.releases() == releases
    assert site.server.marker() == marker
    assert site.server.healthz().status_code == 200


def test_a_release_whose_healthz_fails_is_rolled_back(site, tmp_path):
    checkout = site.checkout(
        tmp_path / "unhealthy",
        files=site.marked("unhealthy"),
        secrets={"AWS_STORAGE_BUCKET_NAME": "no-such-bucket"},
    )
    before, releases, marker = site.server.current(), site.server.releases(), site.server.marker()

    result = site.deploy(checkout)

    assert result.returncode != 0
    assert "/healthz answered 503" in result.stdout
    assert f"Rolling back to releases/{before.name}" in result.stdout
    assert site.server.current() == before and site.server.releases() == releases
    assert site.server.marker() == marker
    assert site.server.healthz().json() == {"database": "ok", "storage": "ok"}


def test_photos_posted_before_two_deploys_in_a_row_are_all_still_shown(site, bucket):
    alice = Browser(site.server.url)
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

    visitor = Browser(site.server.url)
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
    old_venv = (site.server.current() / ".venv").resolve()
    master = site.server.master()

    with PageLoader(site.server.url + "/accounts/login/") as visitor:
        result = site.deploy(checkout)

    assert result.returncode == 0, result.stdout
    assert "Building virtualenv" in result.stdout
    assert "Starting a new gunicorn master (USR2)" in result.stdout
    new_venv = (site.server.current() / ".venv").resolve()
    assert new_venv != old_venv
    assert site.server.master() != master and not running(master)
    assert visitor.failures == []
    assert site.server.marker() == "new-requirements"
    # The workers run on the new virtualenv's packages, none on the old one's.
    pid = site.server.master()
    workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    maps = "".join(Path(f"/proc/{worker}/maps").read_text() for worker in workers)
    assert str(new_venv) in maps and str(old_venv) not in maps


def test_it_keeps_the_five_newest_releases_and_deletes_nothing_else(site):
    # What an operator or the course's old script may have left around the releases.
    kept = {
        site.server.dir / "media/from-the-old-script.jpg": imagefactory.jpeg(40, 30),
        site.server.dir / "shared/media/posts/local.jpg": imagefactory.jpeg(30, 40),
        site.server.dir / "releases/NOTES.txt": b"Release notes\n",
        site.server.dir / "backup.sql": b"-- a database dump\n",
    }
    for path, content in kept.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    before = site.server.releases()
    made = []
    while len(before) + len(made) <= 5:
        result = site.deploy(site.source)
        assert result.returncode == 0, result.stdout
        made.append(site.server.current().name)

    assert site.server.releases() == (before + made)[-5:]
    for path, content in kept.items():
        assert path.read_bytes() == content
    assert site.server.healthz().status_code == 200


@pytest.mark.parametrize(
    ("config", "extra_options"),
    [
        ("Host *\n  StrictHostKeyChecking accept-new\n", ""),
        ("", "-o StrictHostKeyChecking=no"),
    ],
    ids=["ssh-config-accept-new", "deploy-ssh-options-no"],
)
def test_it_refuses_a_host_whose_key_is_not_known(site, tmp_path, config, extra_options):
    """Even when ssh's config or DEPLOY_SSH_OPTIONS would take a new key on trust."""
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    (tmp_path / "ssh_config").write_text(config)
    options = f"-F {tmp_path / 'ssh_config'} -o UserKnownHostsFile={known_hosts} {extra_options}"
    before = site.server.releases()

    result = site.deploy(site.checkout(tmp_path / "checkout"), ssh_options=options)

    assert result.returncode != 0
    assert "Host key verification failed" in result.stdout
    assert "Uploading" not in result.stdout
    assert known_hosts.read_text() == ""
    assert site.server.releases() == before


def test_each_host_is_reached_through_its_ssh_config_alias(fleet):
    """HostName, Port, User and IdentityFile all come from ssh's config: no -p, no user."""
    for server, letter in zip(fleet.servers, "ab", strict=True):
        home = server.dir.parent
        assert server.current().parent == home / "instagram/releases"
        assert server.current().stat().st_uid == home.stat().st_uid != os.getuid()
        assert f"on web-{letter}" in fleet.first_output
        assert server.healthz().json() == {"database": "ok", "storage": "ok"}
    # The database is migrated once, from the first host.
    assert fleet.first_output.count("Operations to perform") == 1


def test_a_release_reaches_every_host_one_at_a_time_while_a_visitor_loads_pages_through_both(
    fleet, tmp_path
):
    checkout = fleet.checkout(tmp_path / "everywhere", files=fleet.marked("everywhere"))
    urls = [server.url + "/accounts/login/" for server in fleet.servers]

    with PageLoader(*urls) as visitor:
        result = fleet.deploy(checkout)

    assert result.returncode == 0, result.stdout
    assert visitor.failures == []
    assert visitor.markers[0] != "everywhere" and visitor.markers[-1] == "everywhere"
    assert [server.marker() for server in fleet.servers] == ["everywhere", "everywhere"]
    # Every host is prepared before the one migration, and each switches after the one before
    # it serves the release.
    release = fleet.servers[0].current().name
    order = [
        step
        for step in steps(result.stdout)
        if step.startswith(("Creating", "Preparing", "Migrating", "Activating"))
    ]
    assert order == [
        f"Creating releases/{release} in instagram on web-a",
        f"Preparing releases/{release} on web-a",
        f"Creating releases/{release} in instagram on web-b",
        f"Preparing releases/{release} on web-b",
        "Migrating the database from web-a",
        f"Activating releases/{release} on web-a",
        f"Activating releases/{release} on web-b",
    ]
    assert result.stdout.count("Operations to perform") == 1
    served = result.stdout.index(f"Serving releases/{release}")
    assert served < result.stdout.index(f"Activating releases/{release} on web-b")


def test_when_one_host_fails_the_hosts_switched_before_it_go_back(fleet, tmp_path):
    # A release whose database is one that does not exist, on web-b only (its gunicorn port).
    port = urlsplit(fleet.servers[1].url).port
    settings = (fleet.source / "config/settings.py").read_text() + (
        f'\nif os.environ.get("GUNICORN_BIND", "").endswith(":{port}"):\n'
        '    DATABASES["default"]["NAME"] = "no_such_database"\n'
    )
    files = {**fleet.marked("fails-on-b"), "config/settings.py": "import os\n" + settings}
    checkout = fleet.checkout(tmp_path / "fails-on-b", files=files)
    before = [(server.current(), server.releases(), server.marker()) for server in fleet.servers]

    # Several hosts as arguments, one with its user given: user@alias.
    user_b = fleet.servers[1].dir.parent.name
    result = fleet.deploy(checkout, "web-a", f"{user_b}@web-b")

    assert result.returncode != 0
    assert "/healthz answered 503" in result.stdout
    assert f"failed on {user_b}@web-b; web-a went back to the previous release" in result.stdout
    # web-a served the release before it went back.
    assert result.stdout.count("==> Serving releases/") == 1
    assert "Rolling back web-a" in result.stdout
    after = [(server.current(), server.releases(), server.marker()) for server in fleet.servers]
    assert after == before
    for server in fleet.servers:
        assert server.healthz().json() == {"database": "ok", "storage": "ok"}
