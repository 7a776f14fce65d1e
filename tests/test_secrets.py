"""secrets.json and the environment: what they switch on, and how mistakes are reported."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given, settings
from hypothesis import strategies as st

from config.secrets import DATABASE_KEYS, ENGINES, Secrets

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
        ["key 'DATABASES.default.NAME' is missing: add it"],
        id="database without name",
    ),
    pytest.param(
        {
            **PRODUCTION,
            "DATABASES": {"default": {**PRODUCTION["DATABASES"]["default"], "PORT": True}},
        },
        {},
        ["key 'DATABASES.default.PORT' must be a number or a string, not true"],
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


def database(**keys) -> dict:
    """PRODUCTION with these DATABASES["default"] keys."""
    return {**PRODUCTION, "DATABASES": {"default": keys}}


# The tutorial's block (docs: RDS, S3, IAM), as typed, with its placeholders filled in.
TUTORIAL = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "instagram",
    "USER": "jsj",
    "PASSWORD": "master-password",
    "HOST": "instagram.abcdefghijkl.ap-northeast-2.rds.amazonaws.com",
    "PORT": "5432",
}
BAD += [
    pytest.param(
        database(**{**TUTORIAL, "ENGINE": "django.db.backends.mysql"}),
        {},
        [
            """key 'DATABASES.default.ENGINE' is "django.db.backends.mysql", which the app does """
            "not support: use django.db.backends.postgresql (PostgreSQL, e.g. RDS) or "
            "django.db.backends.sqlite3."
        ],
        id="unsupported engine",
    ),
    pytest.param(
        database(**{**TUTORIAL, "PROT": 5432}),
        {},
        ["key 'DATABASES.default.PROT' is unknown", "did you mean 'PORT'?"],
        id="database key typo",
    ),
    pytest.param(
        database(**{**TUTORIAL, "AUTOCOMMIT": False}),
        {},
        ["key 'DATABASES.default.AUTOCOMMIT' is not taken here: remove it"],
        id="autocommit off",
    ),
    pytest.param(
        database(**{**TUTORIAL, "CONN_MAX_AGE": -1}),
        {},
        ["key 'DATABASES.default.CONN_MAX_AGE' must be 0 or more seconds"],
        id="negative connection age",
    ),
    pytest.param(
        database(**{**TUTORIAL, "CONN_HEALTH_CHECKS": "yes"}),
        {},
        ["key 'DATABASES.default.CONN_HEALTH_CHECKS' must be true or false, not \"yes\""],
        id="health checks of the wrong type",
    ),
    pytest.param(
        database(**{**TUTORIAL, "PORT": "54 32"}),
        {},
        ["key 'DATABASES.default.PORT' must be a port number such as 5432, not '54 32'"],
        id="port that is no number",
    ),
    pytest.param(
        database(**{**TUTORIAL, "TEST": {"NAME": "t", "MIRROR": "other"}}),
        {},
        ["key 'DATABASES.default.TEST.MIRROR' is unknown"],
        id="test key that makes no sense here",
    ),
    pytest.param(
        database(ENGINE="django.db.backends.sqlite3", NAME="db.sqlite3", HOST="db.example.com"),
        {},
        ["key 'DATABASES.default.HOST' is unknown for django.db.backends.sqlite3"],
        id="host for SQLite",
    ),
    pytest.param(
        {**PRODUCTION, "DATABASES": {**database(**TUTORIAL)["DATABASES"], "replica": TUTORIAL}},
        {},
        ["key 'DATABASES.replica': the app uses one database"],
        id="a second database",
    ),
    pytest.param(
        {**PRODUCTION, "AWS_AUTO_CREATE_BUCKET": True},
        {},
        ["key 'AWS_AUTO_CREATE_BUCKET' is not taken here: remove it; create the bucket with"],
        id="the tutorial's bucket switch",
    ),
    pytest.param(
        "{'DEBUG': False}",
        {},
        ["is not valid JSON", "JSON wants double quotes"],
        id="Python instead of JSON",
    ),
]


@pytest.mark.parametrize(("secrets", "environ", "fragments"), BAD)
def test_bad_configuration_stops_start_up_in_one_line_naming_file_key_and_fix(
    tmp_path, secrets, environ, fragments
):
    result = start(tmp_path, secrets, **environ)

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Configuration error: ")
    if "environment variable" not in fragments[0] and "DATABASE_URL" not in fragments[0]:
        assert str(tmp_path / "secrets.json") in line
    for fragment in fragments:
        assert fragment in line
    assert result.stdout == ""


def test_the_traceback_is_there_when_asked_for(tmp_path):
    bad = {**PRODUCTION, "DEBUG": "no"}

    with_option = start(tmp_path, bad, "check", "--traceback")
    with_variable = start(tmp_path, bad, DJANGO_TRACEBACK="1")

    for result in (with_option, with_variable):
        assert result.returncode != 0
        assert result.stderr.startswith("Traceback (most recent call last):")
        assert "ImproperlyConfigured: " in result.stderr.splitlines()[-1]


def test_a_missing_named_secrets_file_stops_start_up(tmp_path):
    result = start(tmp_path, PRODUCTION, DJANGO_SECRETS_FILE=str(tmp_path / "nope.json"))
    assert result.returncode != 0
    assert result.stderr == (
        f"Configuration error: environment variable DJANGO_SECRETS_FILE names "
        f"{tmp_path / 'nope.json'}, which does not exist: create it from secrets.json.example, "
        f"or unset the variable.\n"
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


def test_the_tutorials_block_is_taken_as_typed():
    db = load(database(**TUTORIAL)).database(Path("/srv"))

    assert db == {
        **TUTORIAL,
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def test_the_old_postgresql_engine_name_is_todays():
    old = {**TUTORIAL, "ENGINE": "django.db.backends.postgresql_psycopg2", "PORT": 6543}

    db = load(database(**old)).database(Path("/srv"))

    assert (db["ENGINE"], db["PORT"]) == ("django.db.backends.postgresql", "6543")


def test_djangos_other_database_keys_are_passed_on():
    keys = {
        **TUTORIAL,
        "PORT": "",
        "OPTIONS": {"sslmode": "verify-full", "connect_timeout": 5},
        "CONN_MAX_AGE": None,
        "CONN_HEALTH_CHECKS": False,
        "ATOMIC_REQUESTS": True,
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "TEST": {"NAME": "test_instagram", "TEMPLATE": "template0", "MIGRATE": False},
    }

    db = load(database(**keys)).database(Path("/srv"))

    assert db == {**keys, "PORT": "5432"}


def test_sqlite_is_taken_with_its_file_under_the_project():
    keys = {"ENGINE": "django.db.backends.sqlite3", "NAME": "data/db.sqlite3", "CONN_MAX_AGE": 0}

    db = load(database(**keys)).database(Path("/srv/app"))

    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == Path("/srv/app/data/db.sqlite3")
    assert db["CONN_MAX_AGE"] == 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
DATABASE_KEY = st.sampled_from([*TUTORIAL, "CONN_MAX_AGE", "TEST", "OPTIONS", "ATOMIC_REQUESTS"])


@settings(max_examples=200, deadline=None)
@given(
    entry=st.dictionaries(DATABASE_KEY | st.text(max_size=8), JSON, max_size=6),
    engine=st.sampled_from([*ENGINES, "django.db.backends.mysql", ""]),
    aliases=st.lists(st.text(max_size=4), max_size=2),
)
def test_any_database_entry_is_taken_or_refused_with_a_message_never_a_crash(
    entry, engine, aliases
):
    entry = {**entry, "ENGINE": engine} if engine else entry
    databases = {**{alias: {} for alias in aliases}, "default": entry}
    try:
        db = load({"DATABASES": databases}).database(Path("/srv"))
    except ImproperlyConfigured as error:
        assert str(error).startswith("/srv/secrets.json: key 'DATABASES")
        assert "\n" not in str(error)
    else:
        assert db["ENGINE"] in ("django.db.backends.postgresql", "django.db.backends.sqlite3")
        assert set(db) <= {*DATABASE_KEYS[db["ENGINE"]], "CONN_MAX_AGE", "CONN_HEALTH_CHECKS"}


@settings(max_examples=100, deadline=None)
@given(port=st.integers(min_value=1, max_value=65535), as_text=st.booleans())
def test_a_port_as_a_number_or_a_string_is_the_same_port(port, as_text):
    typed = database(**{**TUTORIAL, "PORT": str(port) if as_text else port})

    assert load(typed).database(Path("/srv"))["PORT"] == str(port)


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


def test_the_example_file_is_taken_as_it_stands():
    example = Secrets.load(ROOT / "secrets.json.example", environ={})

    db = example.database(ROOT)

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["PORT"], db["OPTIONS"]) == ("5432", {"sslmode": "require"})
    assert example.s3_options()["bucket_name"] == "instagram-media-example"


def test_a_database_that_cannot_be_reached_is_one_line_naming_where_it_was_set(tmp_path):
    from tests.servers import free_port

    port = free_port()  # nothing listens there
    unreachable = database(**{**TUTORIAL, "HOST": "127.0.0.1", "PORT": port})

    result = start(tmp_path, unreachable, "migrate")

    assert result.returncode == 1
    assert result.stderr == (
        f"Configuration error: {tmp_path / 'secrets.json'}: key 'DATABASES': cannot connect to "
        f"database instagram at 127.0.0.1:{port} as jsj: connection to server at "
        f'"127.0.0.1", port {port} failed: Connection refused. Check HOST, PORT, NAME, USER '
        f"and PASSWORD there, and that the database admits this machine (on AWS: its security "
        f"group).\n"
    )
    assert TUTORIAL["PASSWORD"] not in result.stderr
