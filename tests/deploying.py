"""What the deploy tests share: a checkout that deploy.sh ships, the hosts it ships to, and a
visitor loading pages meanwhile."""

import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path

import requests

from tests.servers import ROOT, clean_environ, project_copy
from tests.sshhost import unused_port

GIT = ["git", "-c", "user.name=Deployer", "-c", "user.email=deployer@example.com"]
RELEASE_NAME = re.compile(r"^\d{14}$")
MARKER = re.compile(r'<meta name="release" content="([^"]+)">')
EXAMPLE_SECRET_KEY = json.loads((ROOT / "secrets.json.example").read_text())["SECRET_KEY"]
# Where the users that stand for several hosts have their homes, if it exists.
TMPFS = Path("/dev/shm")
# What an operator sets on a host; DEPLOY_SYSTEMD=no since a CI runner may have systemd.
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
