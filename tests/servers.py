"""Run copies of the project as real server processes, as on two EC2 hosts."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import requests
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def shipped_files() -> list[str]:
    """Paths git tracks, or would add (new and not ignored), relative to the repository."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(set(filter(None, listed.split("\0"))))


def project_copy(dest: Path) -> Path:
    """Copy the files git would ship into ``dest``."""
    for name in shipped_files():
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def free_port() -> int:
    """A loopback port that was free a moment ago. Another process may take it before the
    server binds it: prefer ``gunicorn_process`` (the server inherits a bound socket), or start
    the server with ``on_a_free_port``, which tries another port when that happens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT_TAKEN = ("Address already in use", "already in use", "could not bind")
T = TypeVar("T")


def on_a_free_port(start: Callable[[int], T], attempts: int = 5) -> T:
    """``start(port)`` on a free port; if it fails because someone took the port in between
    (its error says so, e.g. a server log in wait_for's message), again on another port."""
    for attempt in range(1, attempts + 1):
        try:
            return start(free_port())
        except (RuntimeError, OSError) as error:
            if attempt == attempts or not any(words in str(error) for words in PORT_TAKEN):
                raise
    raise AssertionError("unreachable")


def gunicorn_process(args: list, **popen) -> tuple[subprocess.Popen, str]:
    """Start ``gunicorn ARGS`` listening on a loopback socket it inherits (``--bind fd://N``),
    bound here to a port the kernel picked, so no other process can take the port first.
    Returns the process and its base URL."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        fd = sock.fileno()
        sock.set_inheritable(True)
        process = subprocess.Popen(
            [BIN / "gunicorn", "--bind", f"fd://{fd}", "--no-control-socket", *args],
            pass_fds=(fd,),
            **popen,
        )
        return process, f"http://127.0.0.1:{sock.getsockname()[1]}"


def clean_environ(**extra: str) -> dict[str, str]:
    """This process's environment without any app configuration, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "DATABASE_URL", "DJANGO_", "TEST_DATABASE"))
    }
    env.update(extra)
    return env


def production_secrets(s3_secrets: dict, database: dict | None = None) -> dict:
    """A secrets.json for a server process: the test database (or ``database``, with HOST,
    PORT, NAME, USER and PASSWORD) and bucket, DEBUG off, HTTP."""
    db = database or connection.settings_dict
    return {
        "SECRET_KEY": "shared-by-every-instance-" + "k" * 40,
        "DEBUG": False,
        "ALLOWED_HOSTS": ["127.0.0.1", "localhost"],
        "DATABASES": {
            "default": {
                "HOST": db["HOST"],
                "PORT": db["PORT"],
                "NAME": db["NAME"],
                "USER": db["USER"],
                "PASSWORD": db["PASSWORD"],
            }
        },
        # Plain HTTP on loopback stands in for HTTPS behind a load balancer.
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        **s3_secrets,
    }


def wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            requests.get(url, timeout=5, allow_redirects=False)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer at {url} in {seconds} s:\n{log.read_text()}")


@contextmanager
def gunicorn(
    workdir: Path, secrets: dict, *, production_config: bool = False, **environ: str
) -> Iterator[str]:
    """Serve the project copy in ``workdir`` with ``secrets`` (and ``environ``, e.g. another
    DJANGO_SETTINGS_MODULE); yield its base URL. Its output goes to ``workdir/gunicorn.log``.

    With ``production_config``, gunicorn also reads deploy/gunicorn.conf.py, as on a host; the
    address, two workers and the log settings given here still win over it."""
    (workdir / "secrets.json").write_text(json.dumps(secrets))
    env = clean_environ(**environ)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "collectstatic", "--no-input"], cwd=workdir, env=env, check=True,
                   capture_output=True)  # fmt: skip
    log = workdir / "gunicorn.log"
    config = ["--config", "deploy/gunicorn.conf.py"] if production_config else []
    with log.open("w") as out:
        process, url = gunicorn_process(
            [*config, "config.wsgi", "--workers", "2", "--access-logfile", "-"],
            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(url + "/accounts/login/", process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


class Browser(requests.Session):
    """A requests session that fills in Django's CSRF token like a browser's form would."""

    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def page(self, path: str) -> requests.Response:
        response = self.get(self.base + path, timeout=30)
        response.raise_for_status()
        return response

    def sign_up(self, username: str, password: str) -> requests.Response:
        """Sign up, then log in; the answer is the profile editor's page."""
        signed_up = self.submit(
            "/accounts/signup/",
            {
                "email": f"{username}@example.com",
                "full_name": username.title(),
                "username": username,
                "password1": password,
                "password2": password,
            },
        )
        assert signed_up.url.endswith("/accounts/signup/done/"), signed_up.url
        return self.submit(
            "/accounts/login/?next=/accounts/edit/", {"username": username, "password": password}
        )

    def submit(self, path: str, data: dict, files: dict | None = None) -> requests.Response:
        """GET the form at ``path``, then POST ``data`` to it with the CSRF token."""
        form = self.page(path).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        return self.post(
            self.base + path,
            data={"csrfmiddlewaretoken": token, **data},
            files=files,
            headers={"Referer": self.base + path},
            timeout=60,
        )
