"""Throw-away sshd servers on 127.0.0.1 that stand in for EC2 hosts in the deploy tests.

Each runs in the foreground with its own host key and accepts one client key, both made here by
ssh-keygen, for root (the tests run as root) or for a user made for the test with a home of its
own. StrictModes is off because root's keys live under /tmp. The client reads no
~/.ssh/config and checks the host key against a known_hosts file of its own; deploy.sh itself
insists that the key be known.
"""

import os
import pwd
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SSHD_CONFIG = """\
ListenAddress 127.0.0.1:{port}
HostKey {workdir}/host_key
AuthorizedKeysFile {authorized_keys}
PidFile none
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
LogLevel ERROR
"""
# sshd tries another port this many times when the one it was given was taken meanwhile.
ATTEMPTS = 5


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
        return f"-F none -o UserKnownHostsFile={self.known_hosts}"

    def config(self, alias: str) -> str:
        """An ssh config entry naming this host ``alias``, with its address, port, user and key."""
        return (
            f"Host {alias}\n  HostName 127.0.0.1\n  Port {self.port}\n  User {self.user}\n"
            f"  IdentityFile {self.key}\n  IdentitiesOnly yes\n"
        )


def unused_port() -> int:
    """A loopback port nothing listens on, below the kernel's ephemeral range: a port that bind()
    hands out for port 0 elsewhere can then never take it before our server binds it."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@contextmanager
def system_user(name: str, home: Path) -> Iterator[pwd.struct_passwd]:
    """A user with its own ``home`` and a login shell, removed (home and all) afterwards;
    stop its processes first."""
    subprocess.run(
        ["useradd", "--create-home", "--home-dir", home, "--shell", "/bin/bash", name], check=True
    )
    # "*" instead of useradd's "!": no password works either way, but sshd without PAM refuses
    # an account whose password is locked.
    subprocess.run(["usermod", "--password", "*", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        removed = subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
        if removed.returncode != 0:
            raise RuntimeError(f"userdel {name} failed: {removed.stderr}")


@contextmanager
def sshd(workdir: Path, user: pwd.struct_passwd | None = None) -> Iterator[SshHost]:
    """Run sshd on a free loopback port until the block ends, accepting a key for ``user`` (root
    if none); yield how to reach it."""
    workdir.mkdir(parents=True, exist_ok=True)
    user = user or pwd.getpwuid(os.getuid())
    # sshd's privilege separation directory, absent until the service has once run.
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", workdir / name],
            check=True,
        )
    authorized_keys = _authorize(workdir, user)
    host_key = (workdir / "host_key.pub").read_text().split()
    known_hosts = workdir / "known_hosts"
    process, port = _start(workdir, authorized_keys)
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    try:
        yield SshHost(
            user=user.pw_name, port=port, key=workdir / "client_key", known_hosts=known_hosts
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


def _authorize(workdir: Path, user: pwd.struct_passwd) -> Path:
    """Where sshd finds the client key: in workdir for root; in the user's own ~/.ssh for
    anyone else, since sshd reads it as that user."""
    if user.pw_uid == os.getuid():
        authorized_keys = workdir / "authorized_keys"
    else:
        authorized_keys = Path(user.pw_dir) / ".ssh/authorized_keys"
        authorized_keys.parent.mkdir(mode=0o700, exist_ok=True)
    authorized_keys.write_text((workdir / "client_key.pub").read_text())
    for path in (authorized_keys.parent, authorized_keys):
        os.chown(path, user.pw_uid, user.pw_gid)
    return authorized_keys


def _start(workdir: Path, authorized_keys: Path) -> tuple[subprocess.Popen, int]:
    """Start sshd, on another port if the one picked was taken before sshd could bind it."""
    # sshd must be started by its absolute path, and /usr/sbin is not on every PATH.
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    log = workdir / "sshd.log"
    for _ in range(ATTEMPTS):
        port = unused_port()
        config = SSHD_CONFIG.format(port=port, workdir=workdir, authorized_keys=authorized_keys)
        (workdir / "sshd_config").write_text(config)
        with log.open("w") as out:
            process = subprocess.Popen(
                [shutil.which("sshd", path=search), "-D", "-e", "-f", workdir / "sshd_config"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if _wait_for_banner(port, process, log):
            return process, port
    raise RuntimeError(f"sshd found no free port in {ATTEMPTS} attempts:\n{log.read_text()}")


def _wait_for_banner(port: int, process: subprocess.Popen, log: Path) -> bool:
    """Whether sshd answers on ``port``; False if it exited because the port was taken."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if "Address already in use" in log.read_text():
                return False
            raise RuntimeError(f"sshd exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(8).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.1)
    process.terminate()
    process.wait(timeout=10)
    raise RuntimeError(f"sshd did not answer on port {port}:\n{log.read_text()}")
