"""A throw-away sshd on 127.0.0.1 that stands in for an EC2 host in the deploy tests.

It runs in the foreground with its own host key and accepts one client key, both made here by
ssh-keygen. StrictModes is off because the keys live under /tmp, and root may log in with a key
because the tests run as root. The client checks the host key strictly, against a known_hosts
file of its own, and reads no ~/.ssh/config.
"""

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port

SSHD_CONFIG = """\
ListenAddress 127.0.0.1:{port}
HostKey {workdir}/host_key
AuthorizedKeysFile {workdir}/authorized_keys
PidFile none
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
LogLevel ERROR
"""


@dataclass(frozen=True)
class SshHost:
    user: str
    port: int
    key: Path
    known_hosts: Path

    @property
    def target(self) -> str:
        return f"{self.user}@127.0.0.1"

    @property
    def options(self) -> str:
        """Options for ssh beyond the port and the key, as DEPLOY_SSH_OPTIONS holds them."""
        return f"-F none -o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes"


@contextmanager
def sshd(workdir: Path) -> Iterator[SshHost]:
    """Run sshd on a free loopback port until the block ends; yield how to reach it."""
    # sshd's privilege separation directory, absent until the service has once run.
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", workdir / name],
            check=True,
        )
    (workdir / "authorized_keys").write_text((workdir / "client_key.pub").read_text())
    port = free_port()
    (workdir / "sshd_config").write_text(SSHD_CONFIG.format(port=port, workdir=workdir))
    host_key = (workdir / "host_key.pub").read_text().split()
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    # sshd must be started by its absolute path, and /usr/sbin is not on every PATH.
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    log = workdir / "sshd.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [shutil.which("sshd", path=search), "-D", "-e", "-f", workdir / "sshd_config"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_banner(port, process, log)
        yield SshHost(
            user=pwd.getpwuid(os.getuid()).pw_name,
            port=port,
            key=workdir / "client_key",
            known_hosts=known_hosts,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_banner(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(8).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"sshd did not answer on port {port}:\n{log.read_text()}")
