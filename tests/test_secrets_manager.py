"""Settings from AWS Secrets Manager: merged over secrets.json, under the environment.

The secrets live in the moto server that tests/conftest.py starts (it serves Secrets Manager as
well as S3), reached over real HTTP.
"""

import json
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.secrets import Secrets
from tests.conftest import CREDENTIALS, REGION, moto_client
from tests.test_secrets import PRODUCTION, start


@pytest.fixture
def secretsmanager(s3_endpoint):
    return moto_client("secretsmanager", s3_endpoint)


@pytest.fixture
def make_secret(secretsmanager):
    """Store a secret under a fresh name; return its name and ARN."""
    made = []

    def make(text: str) -> tuple[str, str]:
        name = f"instagram/test-{uuid.uuid4().hex[:8]}"
        arn = secretsmanager.create_secret(Name=name, SecretString=text)["ARN"]
        made.append(arn)
        return name, arn

    yield make
    for arn in made:
        secretsmanager.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


@pytest.fixture
def aws_environ(s3_endpoint):
    """What a process needs to read secrets from the moto server (fake credentials)."""
    return {
        **CREDENTIALS,
        "AWS_REGION": REGION,
        "AWS_SECRETS_MANAGER_ENDPOINT_URL": s3_endpoint,
    }


@pytest.fixture
def sdk_environ(monkeypatch, aws_environ):
    """Fake credentials for boto3 in this process, so it never finds real ones."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    return aws_environ


SHOW_SETTINGS = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'SECRET_KEY': s.SECRET_KEY, 'ALLOWED_HOSTS': s.ALLOWED_HOSTS, "
    "'CSRF_TRUSTED_ORIGINS': s.CSRF_TRUSTED_ORIGINS, 'DEBUG': s.DEBUG, "
    "'DB_PASSWORD': s.DATABASES['default']['PASSWORD']}))"
)


def test_the_app_starts_with_settings_merged_from_file_secret_and_environment(
    tmp_path, make_secret, aws_environ
):
    secret_id, _ = make_secret(
        json.dumps(
            {
                "SECRET_KEY": "from-secrets-manager-" + "s" * 40,
                "ALLOWED_HOSTS": ["secret.example.com"],
                "DATABASES": {
                    "default": {
                        **PRODUCTION["DATABASES"]["default"],
                        "PASSWORD": "db-password-from-the-secret",
                    }
                },
            }
        )
    )
    environ = {**aws_environ, "AWS_SECRETS_MANAGER_SECRET_ID": secret_id}

    checked = start(tmp_path, PRODUCTION, **environ)
    assert checked.returncode == 0, checked.stderr
    shown = start(
        tmp_path,
        PRODUCTION,
        "shell",
        "-c",
        SHOW_SETTINGS,
        ALLOWED_HOSTS="env.example.com",
        **environ,
    )

    assert shown.returncode == 0, shown.stderr
    # The last line: Django's shell may first say what it imported.
    assert json.loads(shown.stdout.splitlines()[-1]) == {
        "SECRET_KEY": "from-secrets-manager-" + "s" * 40,  # the secret wins over the file
        "ALLOWED_HOSTS": ["env.example.com"],  # the environment wins over the secret
        "CSRF_TRUSTED_ORIGINS": ["https://www.example.com"],  # only in the file
        "DEBUG": False,
        "DB_PASSWORD": "db-password-from-the-secret",
    }


BAD_SECRETS = [
    pytest.param(
        None,
        ["Secrets Manager secret instagram/no-such-secret", "does not exist in region"],
        id="missing secret",
    ),
    pytest.param(
        '{"SECRET_KEY": "half-a-secret-value',
        ["is not valid JSON", "line 1"],
        id="malformed JSON",
    ),
    pytest.param('["SECRET_KEY"]', ["must hold a JSON object"], id="not an object"),
    pytest.param('{"DEBUG": "no"}', [": key 'DEBUG' must be true or false"], id="wrong type"),
    pytest.param('{"SECRET_KY": "x"}', [": unknown key 'SECRET_KY'"], id="typo"),
]


@pytest.mark.parametrize(("text", "fragments"), BAD_SECRETS)
def test_a_bad_secret_stops_start_up_naming_the_secret(
    tmp_path, make_secret, aws_environ, text, fragments
):
    secret_id = make_secret(text)[0] if text else "instagram/no-such-secret"

    result = start(tmp_path, PRODUCTION, AWS_SECRETS_MANAGER_SECRET_ID=secret_id, **aws_environ)

    assert result.returncode != 0
    [last_line] = result.stderr.splitlines()
    assert last_line.startswith("Configuration error: ")
    assert f"Secrets Manager secret {secret_id}" in last_line
    for fragment in fragments:
        assert fragment in last_line
    assert "half-a-secret-value" not in result.stderr + result.stdout


def test_a_secret_alone_configures_production_without_a_file(tmp_path, make_secret, sdk_environ):
    secret_id, _ = make_secret(json.dumps({"SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": ["a.example"]}))

    secrets = Secrets.load(
        tmp_path / "secrets.json", {**sdk_environ, "AWS_SECRETS_MANAGER_SECRET_ID": secret_id}
    )

    # Not the embedded default: DEBUG stays off and SECRET_KEY is the secret's.
    assert secrets.from_file
    assert secrets.get_bool("DEBUG", not secrets.from_file) is False
    assert secrets.secret_key(debug=False) == "k" * 50


def test_a_secret_named_by_arn_is_read_from_the_arns_region(tmp_path, make_secret, sdk_environ):
    _, arn = make_secret(json.dumps({"ALLOWED_HOSTS": ["arn.example"]}))
    environ = {key: value for key, value in sdk_environ.items() if key != "AWS_REGION"}

    secrets = Secrets.load(
        tmp_path / "secrets.json", {**environ, "AWS_SECRETS_MANAGER_SECRET_ID": arn}
    )

    assert secrets.get_list("ALLOWED_HOSTS", []) == ["arn.example"]


def test_a_mistake_in_a_secrets_database_names_the_secret(tmp_path, make_secret, sdk_environ):
    secret_id, _ = make_secret(json.dumps({"DATABASES": {"default": {"HOST": "db", "USER": "u"}}}))
    secrets = Secrets.load(
        tmp_path / "secrets.json", {**sdk_environ, "AWS_SECRETS_MANAGER_SECRET_ID": secret_id}
    )

    with pytest.raises(ImproperlyConfigured) as raised:
        secrets.database(tmp_path)

    assert str(raised.value) == (
        f"Secrets Manager secret {secret_id}: key 'DATABASES.default.NAME' is missing: add it."
    )


def test_a_secret_without_a_region_is_reported(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="no region is set: set AWS_REGION"):
        Secrets.load(tmp_path / "secrets.json", {"AWS_SECRETS_MANAGER_SECRET_ID": "instagram"})
