"""deploy.sh, run as a user runs it, against a real sshd and rsync standing in for an EC2 host.

One module-wide host gets the first deploy, so the virtualenv is built once; each test deploys a
clone of that checkout (changed as the test needs) into the same directory on the host and leaves
a healthy release serving. A test that needs the first checkout's release asks for
``first_checkout_serving``, which deploys it again if another serves, so that no test depends on
the order they run in. The deployed app runs under gunicorn from a pidfile, on the test database
and the moto bucket.
"""

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests

from tests import imagefactory
from tests.conftest import BUCKET
from tests.deploying import (
    EXAMPLE_SECRET_KEY,
    PageLoader,
    Site,
    git,
    make_server,
    make_source,
    running,
    steps,
)
from tests.servers import Browser, production_secrets
from tests.sshhost import sshd

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


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
