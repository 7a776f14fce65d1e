"""Starting the app as operators do: from the tutorial's settings, and through every entry point
(manage.py, bin/run, gunicorn with deploy/gunicorn.conf.py) a mistake is one line, not a traceback.
"""

import json
import subprocess
from pathlib import Path

import pytest

from tests.servers import (
    BIN,
    ROOT,
    Browser,
    clean_environ,
    free_port,
    gunicorn,
    production_secrets,
    project_copy,
)

pytestmark = pytest.mark.slow

# A typo the tutorial's reader makes: PROT for PORT.
MISTAKE = {
    "SECRET_KEY": "start-up-" + "k" * 40,
    "DEBUG": False,
    "ALLOWED_HOSTS": ["localhost"],
    "DATABASES": {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "instagram",
            "USER": "jsj",
            "PASSWORD": "master-password",
            "HOST": "127.0.0.1",
            "PROT": "5432",
        }
    },
}
LINE = (
    "Configuration error: {path}: key 'DATABASES.default.PROT' is unknown for "
    "django.db.backends.postgresql: did you mean 'PORT'?"
)


def app_with(tmp_path: Path, secrets: dict) -> Path:
    app = project_copy(tmp_path / "app")
    (app / ".venv").symlink_to(ROOT / ".venv")
    (app / "secrets.json").write_text(json.dumps(secrets))
    return app


def run(app: Path, command: list, **environ: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        cwd=app,
        env=clean_environ(**environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def deployed_gunicorn() -> list:
    """gunicorn as deploy/instagram.service starts it."""
    return [BIN / "gunicorn", "-c", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{free_port()}"]


def assert_one_line(result: subprocess.CompletedProcess, app: Path) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if "Configuration error" in line]
    assert lines == [LINE.format(path=app / "secrets.json")]


@pytest.mark.django_db(transaction=True)
def test_the_tutorials_databases_block_starts_the_app_on_postgresql(tmp_path, s3_secrets, bucket):
    secrets = production_secrets(s3_secrets)
    db = secrets["DATABASES"]["default"]
    # As the tutorial types it: ENGINE included, the port a string.
    secrets["DATABASES"]["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": db["NAME"],
        "USER": db["USER"],
        "PASSWORD": db["PASSWORD"],
        "HOST": db["HOST"],
        "PORT": str(db["PORT"]),
    }

    with gunicorn(project_copy(tmp_path / "app"), secrets) as url:
        browser = Browser(url)
        response = browser.sign_up("tutorial", "followed-to-the-letter")
        health = browser.get(url + "/healthz", timeout=10)

    assert response.status_code == 200 and response.url.endswith("/accounts/edit/")
    assert health.status_code == 200
    from members.models import User

    assert User.objects.filter(username="tutorial").exists()


def test_bin_run_stops_in_one_line(tmp_path):
    app = app_with(tmp_path, MISTAKE)

    result = run(app, ["bin/run", f"127.0.0.1:{free_port()}"])

    assert_one_line(result, app)


def test_gunicorn_with_the_deploy_config_stops_in_one_line_before_any_worker(tmp_path):
    app = app_with(tmp_path, MISTAKE)
    result = run(app, deployed_gunicorn(), WEB_CONCURRENCY="3")

    assert_one_line(result, app)
    assert "Booting worker" not in result.stderr


def test_a_gunicorn_worker_stops_its_master_in_one_line(tmp_path):
    # Without the deploy config's check, as after a HUP onto a release with a mistake.
    app = app_with(tmp_path, MISTAKE)
    command = [BIN / "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{free_port()}",
               "--workers", "1", "--no-control-socket"]  # fmt: skip

    result = run(app, command)

    assert_one_line(result, app)
    assert "App failed to load." in result.stderr


def test_the_traceback_shows_with_the_environment_switch(tmp_path):
    app = app_with(tmp_path, MISTAKE)
    result = run(app, deployed_gunicorn(), DJANGO_TRACEBACK="1")

    assert result.returncode != 0
    assert "Traceback (most recent call last):" in result.stderr
    assert "ImproperlyConfigured: " in result.stderr
