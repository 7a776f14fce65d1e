"""secrets.json and the environment: what they switch on, and how mistakes are reported."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.secrets import Secrets

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "SECRET_KEY": "x7#Qm2!vL9$kP4@wZ8^rT1&yN6*bC3(dF5)gH0-jK2+sM8=uV4",
    "DEBUG": False,
    "ALLOWED_HOSTS": ["www.example.com"],
    "CSRF_TRUSTED_ORIGINS": ["https://www.example.com"],
    "DATABASES": {
        "default": {"HOST": "db.example.com", "NAME": "instagram", "USER": "app", "PORT": 5432}
    },
    "AWS_STORAGE_BUCKET_NAME": "instagram-media",
    "AWS_S3_REGION_NAME": "ap-northeast-2",
    "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    "TRUSTED_PROXY_COUNT": 2,
}


def start(tmp_path: Path, secrets, *args: str, **environ: str) -> subprocess.CompletedProcess:
    """Run manage.py (``check`` by default) with ``secrets`` as its secrets file."""
    path = tmp_path / "secrets.json"
    path.write_text(secrets if isinstance(secrets, str) else json.dumps(secrets))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "DATABASE_URL", "DJANGO_"))
    }
    env.update(DJANGO_SECRETS_FILE=str(path), DJANGO_SETTINGS_MODULE="config.settings")
    env.update(environ)
    return subprocess.run(
        [sys.executable, "manage.py", *(args or ["check"])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


BAD = [
    pytest.param('{"DEBUG": false,', {}, ["is not valid JSON", "line 1"], id="malformed JSON"),
    pytest.param('["DEBUG"]', {}, ["must hold a JSON object"], id="not an object"),
    pytest.param(
        {**PRODUCTION, "DEBUG": "no"}, {}, ["key 'DEBUG' must be true or false"], id="wrong type"
    ),
    pytest.param(
        {**PRODUCTION, "ALLOWED_HOSTS": "www.example.com"},
        {},
        ["key 'ALLOWED_HOSTS' must be a list"],
        id="string for a list",
    ),
    pytest.param(
        {**PRODUCTION, "SECRET_KEY": ""},
        {},
        ["key 'SECRET_KEY' is missing", "DEBUG is false"],
        id="no SECRET_KEY without DEBUG",
    ),
    pytest.param(
        {k: v for k, v in PRODUCTION.items() if k != "AWS_S3_REGION_NAME"},
        {},
        ["'AWS_S3_REGION_NAME' is missing"],
        id="bucket without region",
    ),
    pytest.param(
        {**PRODUCTION, "DATABASES": {"default": {"HOST": "db", "USER": "app"}}},
        {},
        ["key 'DATABASES'", "'default.NAME' is missing"],
        id="database without name",
    ),
    pytest.param(
        {
            **PRODUCTION,
            "DATABASES": {"default": {**PRODUCTION["DATABASES"]["default"], "PORT": True}},
        },
        {},
        ["'default.PORT' must be a number or a string"],
        id="database port of the wrong type",
    ),
    pytest.param({**PRODUCTION, "SECRET_KY": "x"}, {}, ["unknown key 'SECRET_KY'"], id="typo"),
    pytest.param(
        {**PRODUCTION, "AWS_ACCESS_KEY_ID": "an-access-key-id"},
        {},
        ["'AWS_SECRET_ACCESS_KEY' is missing"],
        id="half an access key",
    ),
    pytest.param(PRODUCTION, {"DEBUG": "maybe"}, ["environment variable DEBUG"], id="bad env"),
    pytest.param(
        PRODUCTION,
        {"DATABASE_URL": "mysql://db/instagram"},
        ["DATABASE_URL must look like postgres://"],
        id="bad DATABASE_URL",
    ),
]


@pytest.mark.parametrize(("secrets", "environ", "fragments"), BAD)
def test_bad_configuration_stops_start_up_naming_file_and_key(
    tmp_path, secrets, environ, fragments
):
    result = start(tmp_path, secrets, **environ)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    if "environment variable" not in fragments[0] and "DATABASE_URL" not in fragments[0]:
        assert str(tmp_path / "secrets.json") in last_line
    for fragment in fragments:
        assert fragment in last_line
    assert "botocore" not in result.stderr


def test_a_missing_named_secrets_file_stops_start_up(tmp_path):
    result = start(tmp_path, PRODUCTION, DJANGO_SECRETS_FILE=str(tmp_path / "nope.json"))
    assert result.returncode != 0
    assert f"DJANGO_SECRETS_FILE names {tmp_path / 'nope.json'}, which does not exist" in (
        result.stderr
    )


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = start(tmp_path, PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_check_warns_of_a_proxy_whose_addresses_are_not_trusted(tmp_path):
    secrets = {key: value for key, value in PRODUCTION.items() if key != "TRUSTED_PROXY_COUNT"}
    result = start(tmp_path, secrets, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "site.W001" in result.stderr and "TRUSTED_PROXY_COUNT" in result.stderr


@pytest.mark.parametrize(
    ("key", "value"), [("TRUSTED_PROXY_COUNT", -1), ("SIGNUP_LIMIT_PER_HOUR", 0)]
)
def test_limits_out_of_range_stop_start_up(tmp_path, key, value):
    result = start(tmp_path, {**PRODUCTION, key: value})
    assert result.returncode != 0
    assert f"key {key!r} must be at least" in result.stderr


def test_secrets_never_reach_the_output_of_a_failed_start(tmp_path):
    result = start(tmp_path, {**PRODUCTION, "AWS_SECRET_ACCESS_KEY": "s3cr3t-value-1234"})
    assert result.returncode != 0
    assert "s3cr3t-value-1234" not in result.stderr + result.stdout


def load(data: dict, **environ: str) -> Secrets:
    return Secrets(Path("/srv/secrets.json"), data, environ)


def test_without_a_secrets_file_the_app_uses_sqlite_and_local_media(tmp_path):
    secrets = Secrets.load(tmp_path / "secrets.json", environ={})
    assert not secrets.from_file
    assert secrets.database(tmp_path)["ENGINE"] == "django.db.backends.sqlite3"
    assert secrets.storages()["default"]["BACKEND"].endswith("FileSystemStorage")


def test_database_keys_select_postgresql_with_health_checks():
    db = load(PRODUCTION).database(Path("/srv"))
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"]) == (
        "db.example.com",
        "5432",
        "instagram",
        "app",
    )
    assert db["CONN_HEALTH_CHECKS"] is True


def test_database_url_wins_over_the_file():
    secrets = load(
        PRODUCTION, DATABASE_URL="postgres://u:p%40ss@h.example:6543/other?sslmode=require"
    )
    db = secrets.database(Path("/srv"))
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"], db["PASSWORD"]) == (
        "h.example",
        "6543",
        "other",
        "u",
        "p@ss",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}


def test_environment_variables_win_over_the_file():
    secrets = load(PRODUCTION, DEBUG="true", ALLOWED_HOSTS="a.example, b.example")
    assert secrets.get_bool("DEBUG", False) is True
    assert secrets.get_list("ALLOWED_HOSTS", []) == ["a.example", "b.example"]


def test_a_bucket_stores_media_in_s3_under_media_without_overwriting_or_acls():
    media = load(PRODUCTION).storages()["default"]
    options = media["OPTIONS"]
    assert media["BACKEND"] == "config.storage.MediaStorage"
    assert options["bucket_name"] == "instagram-media"
    assert options["location"] == "media"
    assert options["file_overwrite"] is False
    assert options["default_acl"] is None
    assert options["querystring_auth"] is True
    assert options["client_config"].signature_version == "s3v4"
    assert "immutable" in options["object_parameters"]["CacheControl"]
    # No keys in the file: boto3's default chain (an EC2 instance role) supplies them.
    assert options["access_key"] is None and options["secret_key"] is None


def test_a_bucket_without_region_in_the_environment_is_reported():
    with pytest.raises(ImproperlyConfigured, match="AWS_S3_REGION_NAME"):
        load({}, AWS_STORAGE_BUCKET_NAME="b").storages()
