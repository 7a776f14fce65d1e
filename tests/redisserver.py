"""A real redis-server (Debian's package; bin/test installs it) on a free loopback port.

Never the machine's 6379: each server the tests start has a port of its own, no persistence
and no password, and can be stopped and started again on the same port, as an outage would.
"""

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.servers import on_a_free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """``start()`` it, read its ``url``, ``stop()`` it mid-test, ``start()`` it again."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def start(self) -> "RedisServer":
        """Start on the port it had, or on a free one the first time."""
        if self.port is None:
            on_a_free_port(self._start)
        else:
            self._start(self.port)
        return self

    def _start(self, port: int) -> None:
        log = self.directory / f"redis-{port}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.directory), "--daemonize", "no"],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{log.read_text()}")
            try:
                answered = redis.Redis(port=port, socket_timeout=1).info("server")
            except redis.ConnectionError:
                time.sleep(0.05)
                continue
            if answered["process_id"] != process.pid:
                # Another server took the port first; ours is exiting with "already in use".
                process.wait(timeout=10)
                raise RuntimeError(f"port {port}: Address already in use")
            self.port, self.process = port, process
            return
        process.kill()
        raise RuntimeError(f"redis-server did not answer on port {port}:\n{log.read_text()}")

    def stop(self) -> None:
        """Stop it at once, as a crash or a lost network would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
