"""The real parts the benchmarks run against: PostgreSQL, moto's S3 server, Django and gunicorn.

Everything listens on loopback. The databases are created for the run and dropped after it.
The bench process and its gunicorn share one configuration, passed in the environment: the
test suite's secrets file (DEBUG off, no HTTPS), plus the bench database and bucket.
"""

import logging
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import boto3
import django
import psycopg2
from django.core.management import call_command
from moto.server import ThreadedMotoServer
from psycopg2 import sql

from tests.servers import clean_environ, gunicorn_process, wait_for

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "instagram-bench-media"
REGION = "ap-northeast-2"
# moto accepts any credentials; boto3 only needs some to sign with.
ACCESS_KEY, SECRET_KEY = "bench-access-key", "bench-secret"
_DROP = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")


def postgres_server() -> str:
    """The URL of a PostgreSQL server to create the bench databases on (as bin/test finds one)."""
    found = subprocess.run(
        [ROOT / "bin" / "test-postgres"], capture_output=True, text=True, check=True
    )
    return found.stdout.strip()


def database_url(server: str, name: str) -> str:
    """``server``'s URL naming the database ``name`` instead."""
    return urlunsplit(urlsplit(server)._replace(path="/" + name))


@contextmanager
def databases(server: str, *names: str) -> Iterator[dict[str, str]]:
    """Fresh, empty databases on ``server``, dropped afterwards; yields their URLs by name."""
    admin = psycopg2.connect(server)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            for name in names:
                cursor.execute(_DROP.format(sql.Identifier(name)))
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        yield {name: database_url(server, name) for name in names}
    finally:
        with admin.cursor() as cursor:
            for name in names:
                cursor.execute(_DROP.format(sql.Identifier(name)))
        admin.close()


@dataclass(frozen=True)
class S3:
    endpoint: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def environ(self) -> dict[str, str]:
        """The settings that store media in the bench bucket, as environment variables."""
        return {
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_ADDRESSING_STYLE": "path",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }


@contextmanager
def s3() -> Iterator[S3]:
    """moto's S3 server on a free loopback port, with the bench bucket."""
    # Its request log would fill the bench's output (and cost time on every upload).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        found = S3(f"http://{host}:{port}")
        found.client().create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield found
    finally:
        server.stop()


def environ(database: str, storage: S3, static_root: str) -> dict[str, str]:
    """The configuration of the bench process and its servers, as environment variables."""
    return {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_STATIC_ROOT": static_root,
        "DJANGO_SECRETS_FILE": str(ROOT / "tests" / "secrets.test.json"),
        "DATABASE_URL": database,
        # Plain HTTP on loopback stands in for HTTPS behind a load balancer.
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        **storage.environ(),
    }


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def worker_pids(self) -> list[int]:
        """The gunicorn master's children: its workers."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        return [int(pid) for pid in children.split()]


@contextmanager
def gunicorn(
    env: dict[str, str], *, workers: int = 2, production: bool = False
) -> Iterator[Server]:
    """The checkout served by gunicorn with ``workers`` workers and production's time-out.

    By default sync workers that log every request as production does (deploy/gunicorn.conf.py:
    ``accesslog = "-"``, one line to its output), so that throughput is measured as served,
    the reference included. With ``production``, deploy/gunicorn.conf.py as a host runs it
    (threads, access log). Either way with decode slots of its own (config/decode_slots.py),
    so that nothing else on the machine takes them.
    """
    if production:
        args = ["-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    else:
        args = ["config.wsgi", "--workers", str(workers), "--timeout", "120"]
        args += ["--access-logfile", "-"]
    with (
        tempfile.NamedTemporaryFile("w", prefix="bench-gunicorn-", suffix=".log") as log,
        tempfile.TemporaryDirectory(prefix="bench-decode-slots-") as slots,
    ):
        extra = {"DECODE_SLOT_DIR": slots, "WEB_CONCURRENCY": str(workers)}
        process, url = gunicorn_process(
            args, cwd=ROOT, env=clean_environ(**env, **extra), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_for(url + "/accounts/login/", process, Path(log.name))
            yield Server(url, process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)


def django_setup(env: dict[str, str]) -> None:
    """Configure Django in this process as the servers are; collect static files for both."""
    os.environ.update(env)
    django.setup()
    call_command("collectstatic", interactive=False, verbosity=0)
