"""deploy.sh to several hosts at once: two users of their own, each with its own home, sshd and
gunicorn, reached through aliases in an ssh config (tests/deploying.py has the shared parts).
A module of its own, so that a pytest-xdist worker runs it beside the single-host tests.
"""

import os
import shutil
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.deploying import (
    TMPFS,
    PageLoader,
    Site,
    make_server,
    make_source,
    steps,
)
from tests.servers import production_secrets
from tests.sshhost import sshd, system_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


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
