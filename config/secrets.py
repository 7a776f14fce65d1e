"""Read deployment settings from secrets.json and the environment.

The file holds what must never enter git (keys, passwords, hosts); an environment variable of
the same name wins over the file, and ``DATABASE_URL`` wins over the file's ``DATABASES``.
When AWS_SECRETS_MANAGER_SECRET_ID names a Secrets Manager secret, its JSON object (the same
keys) is read once at start-up and laid over the file, under the environment.
Every mistake raises ``ImproperlyConfigured`` naming the file (or variable), the key, what is
wrong and how to fix it, so a bad deployment stops at start-up instead of failing at its first
request; ``errors_in_one_line`` turns it into that one line for manage.py and the WSGI server.
"""

import difflib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ImproperlyConfigured

# Each key the file may hold, with the JSON type it must have.
KEYS: dict[str, type | tuple[type, ...]] = {
    "SECRET_KEY": str,
    "DEBUG": bool,
    "ALLOWED_HOSTS": list,
    "CSRF_TRUSTED_ORIGINS": list,
    "DATABASES": dict,
    "AWS_STORAGE_BUCKET_NAME": str,
    "AWS_S3_REGION_NAME": str,
    "AWS_ACCESS_KEY_ID": str,
    "AWS_SECRET_ACCESS_KEY": str,
    "AWS_S3_ENDPOINT_URL": str,
    "AWS_S3_CUSTOM_DOMAIN": str,
    "AWS_S3_ADDRESSING_STYLE": str,
    "SECURE_PROXY_SSL_HEADER": list,
    "SECURE_SSL_REDIRECT": bool,
    "SECURE_HSTS_SECONDS": int,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": bool,
    "SECURE_HSTS_PRELOAD": bool,
    "SESSION_COOKIE_SECURE": bool,
    "CSRF_COOKIE_SECURE": bool,
    "TRUSTED_PROXY_COUNT": int,
    "SIGNUP_LIMIT_PER_HOUR": int,
    "COMMENT_LIMIT_PER_MINUTE": int,
    "FOLLOW_LIMIT_PER_HOUR": int,
    "REPORT_LIMIT_PER_DAY": int,
    "REDIS_URL": str,
    "DECODE_SLOTS": int,
    "DECODE_SLOT_MIN_PIXELS": int,
    "DECODE_ISOLATE_MIN_PIXELS": int,
    "DECODE_WAIT_SECONDS": int,
    "DECODE_RETRY_AFTER_SECONDS": int,
    "DECODE_SLOT_DIR": str,
    # Read by deploy.sh, not by the app; allowed so that one secrets.json serves both.
    "DEPLOY_HOST": str,
    "DEPLOY_HOSTS": list,
    "DEPLOY_USER": str,
    "DEPLOY_SSH_KEY": str,
    "DEPLOY_SSH_PORT": int,
    "DEPLOY_DIR": str,
}
# Keys of tutorials' settings.py that secrets.json does not take, and what to do instead.
RETIRED_KEYS = {
    "DEFAULT_FILE_STORAGE": "naming AWS_STORAGE_BUCKET_NAME is enough to store media in S3",
    "STORAGES": "naming AWS_STORAGE_BUCKET_NAME is enough to store media in S3",
    "AWS_AUTO_CREATE_BUCKET": "create the bucket with `manage.py provision_aws`",
}
POSTGRESQL = "django.db.backends.postgresql"
SQLITE = "django.db.backends.sqlite3"
# The ENGINEs a DATABASES entry may name; postgresql_psycopg2 is the name from before Django 2.0
# that tutorials still show.
ENGINES = {
    POSTGRESQL: POSTGRESQL,
    "django.db.backends.postgresql_psycopg2": POSTGRESQL,
    SQLITE: SQLITE,
}
# The keys of Django's DATABASES entries that make sense for this app, per engine, with their
# JSON types; TEST takes the test-database keys in TEST_KEYS.
_COMMON_DATABASE_KEYS: dict[str, type | tuple[type, ...]] = {
    "ENGINE": str,
    "NAME": str,
    "OPTIONS": dict,
    "ATOMIC_REQUESTS": bool,
    "CONN_MAX_AGE": (int, type(None)),
    "CONN_HEALTH_CHECKS": bool,
    "TEST": dict,
}
DATABASE_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    POSTGRESQL: {
        **_COMMON_DATABASE_KEYS,
        "HOST": str,
        "PORT": (int, str),
        "USER": str,
        "PASSWORD": str,
        "DISABLE_SERVER_SIDE_CURSORS": bool,
    },
    SQLITE: _COMMON_DATABASE_KEYS,
}
TEST_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    POSTGRESQL: {"NAME": str, "CHARSET": str, "TEMPLATE": str, "MIGRATE": bool},
    SQLITE: {"NAME": str, "MIGRATE": bool},
}
DATABASE_REQUIRED = {POSTGRESQL: ("HOST", "NAME", "USER"), SQLITE: ("NAME",)}
# Keys Django takes that this app must not be given, and why.
REFUSED_DATABASE_KEYS = {
    "AUTOCOMMIT": "the app's writes rely on Django's autocommit and atomic blocks",
    "TIME_ZONE": "times are stored in UTC (USE_TZ); PostgreSQL keeps their zone itself",
}
# Reuse connections for a minute, but check them first, so a restarted server costs no request.
DEFAULT_CONN_MAX_AGE = 60
ADDRESSING_STYLES = ("auto", "path", "virtual")
JSON_NAMES = {
    str: "a string",
    bool: "true or false",
    int: "a number",
    list: "a list",
    dict: "an object",
    type(None): "null",
}
# The database cache's table, which the first migration makes (config/migrations/0001).
CACHE_TABLE = "django_cache"
# Objects are named by UUID and never overwritten, so browsers may cache them for a year.
MEDIA_CACHE_CONTROL = "max-age=31536000, immutable"
# Set to 1 to see the traceback of a configuration error instead of its one line.
TRACEBACK_VARIABLE = "DJANGO_TRACEBACK"
# Name a Secrets Manager secret (name or ARN) to read settings from; the endpoint is for tests.
SECRETS_MANAGER_ID_VARIABLE = "AWS_SECRETS_MANAGER_SECRET_ID"
SECRETS_MANAGER_ENDPOINT_VARIABLE = "AWS_SECRETS_MANAGER_ENDPOINT_URL"
JSON_HINT = (
    ": fix it there (JSON wants double quotes, no comma after the last item, true/false/null "
    "in lower case)."
)
OBJECT_HINT = ', such as {"DEBUG": false, "ALLOWED_HOSTS": ["www.example.com"]}.'
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


# Email: Django's own setting names (django-ses's for SES), and what each backend needs.
EMAIL_KEYS: dict[str, type | tuple[type, ...]] = {
    "EMAIL_BACKEND": str,
    "DEFAULT_FROM_EMAIL": str,
    "EMAIL_HOST": str,
    "EMAIL_PORT": int,
    "EMAIL_HOST_USER": str,
    "EMAIL_HOST_PASSWORD": str,
    "EMAIL_USE_TLS": bool,
    "EMAIL_USE_SSL": bool,
    "EMAIL_FILE_PATH": str,
    "AWS_SES_REGION_NAME": str,
    "AWS_SES_REGION_ENDPOINT_URL": str,
    "SITE_NAME": str,
    "PASSWORD_RESET_TIMEOUT": int,
}
KEYS.update(EMAIL_KEYS)
EMAIL_BACKENDS = {
    "ses": "django_ses.SESBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
}
# A mail server that does not answer must not hold a request (and a worker) for long.
EMAIL_TIMEOUT_SECONDS = 10


class Secrets:
    """Typed access to secrets.json merged with environment variables."""

    def __init__(self, path: Path, data: Mapping[str, Any], environ: Mapping[str, str]):
        self.path = path
        self.data = dict(data)
        self.environ = environ
        self.secret_id: str | None = None
        self.secret_keys: frozenset[str] = frozenset()

    @classmethod
    def load(cls, default_path: Path, environ: Mapping[str, str] | None = None) -> "Secrets":
        """Read the file named by DJANGO_SECRETS_FILE, else ``default_path`` if it exists, then
        the Secrets Manager secret named by AWS_SECRETS_MANAGER_SECRET_ID, if any."""
        environ = os.environ if environ is None else environ
        named = environ.get("DJANGO_SECRETS_FILE")
        path = Path(named) if named else default_path
        if not path.exists():
            if named:
                raise ImproperlyConfigured(
                    f"environment variable DJANGO_SECRETS_FILE names {path}, which does not "
                    f"exist: create it from secrets.json.example, or unset the variable."
                )
            return cls(path, {}, environ).with_secrets_manager()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImproperlyConfigured(f"{path} is not valid JSON: {exc}{JSON_HINT}") from exc
        if not isinstance(data, dict):
            raise ImproperlyConfigured(f"{path} must hold a JSON object of settings{OBJECT_HINT}")
        secrets = cls(path, data, environ)
        secrets.validate()
        return secrets.with_secrets_manager()

    @property
    def from_file(self) -> bool:
        """Whether a secrets file or secret was read (else the app runs on its embedded default)."""
        return self.path.exists() or self.secret_id is not None

    def validate(self, data: Mapping[str, Any] | None = None, where: str | None = None) -> None:
        """Reject unknown keys and values of the wrong JSON type in ``data`` (the file's by
        default), naming ``where`` they came from."""
        data = self.data if data is None else data
        where = str(self.path) if where is None else where
        for key, value in data.items():
            if key in RETIRED_KEYS:
                raise ImproperlyConfigured(
                    f"{where}: key {key!r} is not taken here: remove it; {RETIRED_KEYS[key]}."
                )
            if key not in KEYS:
                hint = _did_you_mean(key, KEYS)
                raise ImproperlyConfigured(f"{where}: unknown key {key!r}{hint}")
            _check_type(value, KEYS[key], f"{where}: key {key!r}")

    def with_secrets_manager(self) -> "Secrets":
        """Lay the settings in the secret named by AWS_SECRETS_MANAGER_SECRET_ID, if any, over
        the file's (per top-level key); the environment still wins over both."""
        secret_id = self.environ.get(SECRETS_MANAGER_ID_VARIABLE)
        if not secret_id:
            return self
        where = f"Secrets Manager secret {secret_id}"
        data = _read_secret(secret_id, where, self._secret_region(secret_id), self.environ)
        self.validate(data, where)
        self.data.update(data)
        self.secret_id = secret_id
        self.secret_keys = frozenset(data)
        return self

    def _secret_region(self, secret_id: str) -> str:
        """The region in the secret's ARN, else the SDK's variables, else the bucket's region."""
        if secret_id.startswith("arn:"):
            return secret_id.split(":")[3]
        region = (
            self.environ.get("AWS_REGION")
            or self.environ.get("AWS_DEFAULT_REGION")
            or self.get_str("AWS_S3_REGION_NAME")
        )
        if region:
            return region
        raise ImproperlyConfigured(
            f"environment variable {SECRETS_MANAGER_ID_VARIABLE} names {secret_id!r}, but no "
            f"region is set: set AWS_REGION, or name the secret by its ARN."
        )

    def source(self, key: str) -> str:
        """Where ``key``'s value comes from (or would come from): for messages, never the value."""
        if key in self.environ:
            return f"environment variable {key}"
        return f"{self._holder(key)}: key {key!r}"

    def _holder(self, key: str) -> str:
        """The file or secret that holds (or would hold) ``key``."""
        if key in self.secret_keys:
            return f"Secrets Manager secret {self.secret_id}"
        return str(self.path)

    def get(self, key: str, default: Any = None) -> Any:
        """The raw value: from the environment if set there, else the file, else default."""
        if key in self.environ:
            return self.environ[key]
        return self.data.get(key, default)

    def get_str(self, key: str, default: str = "") -> str:
        return self.get(key, default)

    def get_bool(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if isinstance(value, bool):
            return value
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ImproperlyConfigured(f"{self.source(key)} must be true or false, not {value!r}.")

    def get_int(self, key: str, default: int, minimum: int | None = None) -> int:
        value = self.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise ImproperlyConfigured(
                    f"{self.source(key)} must be a whole number, not {value!r}."
                ) from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(
                f"{self.source(key)} must be at least {minimum}, not {number}."
            )
        return number

    def get_list(self, key: str, default: list[str]) -> list[str]:
        """A list of strings; in the environment, comma-separated."""
        value = self.get(key, default)
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        for item in value:
            if not isinstance(item, str):
                raise ImproperlyConfigured(
                    f"{self.source(key)} must be a list of strings, not {value!r}."
                )
        return list(value)

    def secret_key(self, debug: bool) -> str:
        """SECRET_KEY; required unless DEBUG is on, when a fixed development key serves."""
        key = self.get_str("SECRET_KEY")
        if key:
            return key
        if debug:
            return "django-insecure-development-key-do-not-use-in-production"
        where = f"Secrets Manager secret {self.secret_id}" if self.secret_id else self.path
        raise ImproperlyConfigured(
            f"{where}: key 'SECRET_KEY' is missing; it is required when DEBUG is false: set it "
            f"to the output of python3 -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )

    def database(self, base_dir: Path) -> dict[str, Any]:
        """The default database: DATABASE_URL, else DATABASES in the file, else SQLite."""
        url = self.environ.get("DATABASE_URL")
        if url:
            db = parse_database_url(url)
        elif "DATABASES" in self.data:
            db = self._file_database(base_dir)
        else:
            return {"ENGINE": SQLITE, "NAME": base_dir / "db.sqlite3"}
        db.setdefault("CONN_MAX_AGE", DEFAULT_CONN_MAX_AGE)
        db.setdefault("CONN_HEALTH_CHECKS", True)
        return db

    def _file_database(self, base_dir: Path) -> dict[str, Any]:
        """DATABASES["default"] as Django takes it (the tutorial's block as typed), checked."""
        holder = self._holder("DATABASES")
        databases = self.data["DATABASES"]
        default = databases.get("default")
        if not isinstance(default, dict):
            raise ImproperlyConfigured(
                f"{holder}: key 'DATABASES' must hold a 'default' object, such as "
                f'{{"default": {{"ENGINE": "{POSTGRESQL}", "NAME": "instagram", ...}}}}.'
            )
        for alias in databases:
            if alias != "default":
                raise ImproperlyConfigured(
                    f"{holder}: key 'DATABASES.{_printable(alias)}': the app uses one database: "
                    f"move its settings to 'default' or remove it."
                )
        named = default.get("ENGINE", POSTGRESQL)
        _check_type(named, str, f"{holder}: key 'DATABASES.default.ENGINE'")
        engine = ENGINES.get(named)
        if engine is None:
            raise ImproperlyConfigured(
                f"{holder}: key 'DATABASES.default.ENGINE' is {json.dumps(default['ENGINE'])}, "
                f"which the app does not support: use {POSTGRESQL} (PostgreSQL, e.g. RDS) or "
                f"{SQLITE}."
            )
        _check_keys(default, DATABASE_KEYS[engine], f"{holder}: key 'DATABASES.default", engine)
        _check_keys(
            default.get("TEST", {}), TEST_KEYS[engine], f"{holder}: key 'DATABASES.default.TEST"
        )
        for key in DATABASE_REQUIRED[engine]:
            if not default.get(key):
                raise ImproperlyConfigured(
                    f"{holder}: key 'DATABASES.default.{key}' is missing: add it."
                )
        db = {**default, "ENGINE": engine}
        if engine == SQLITE:
            db["NAME"] = base_dir / default["NAME"]  # a relative name is the project's
            return db
        db["PORT"] = _port(default.get("PORT", ""), f"{holder}: key 'DATABASES.default.PORT'")
        db.setdefault("PASSWORD", "")
        max_age = default.get("CONN_MAX_AGE", 0)
        if max_age is not None and max_age < 0:
            raise ImproperlyConfigured(
                f"{holder}: key 'DATABASES.default.CONN_MAX_AGE' must be 0 or more seconds "
                f"(null: forever), not {max_age}."
            )
        return db

    def storages(self) -> dict[str, Any]:
        """STORAGES: media in the S3 bucket when one is named, else in local media/."""
        media: dict[str, Any] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
        options = self.s3_options()
        if options:
            media = {"BACKEND": "config.storage.MediaStorage", "OPTIONS": options}
        return {
            "default": media,
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
        }

    def s3_options(self) -> dict[str, Any] | None:
        """OPTIONS for django-storages' S3Storage, or None when no bucket is configured."""
        bucket = self.get_str("AWS_STORAGE_BUCKET_NAME")
        if not bucket:
            return None
        region = self.get_str("AWS_S3_REGION_NAME")
        if not region:
            raise ImproperlyConfigured(
                f"{self.source('AWS_STORAGE_BUCKET_NAME')} names a bucket, but key "
                f"'AWS_S3_REGION_NAME' is missing: set the bucket's region."
            )
        access_key = self.get_str("AWS_ACCESS_KEY_ID")
        secret_key = self.get_str("AWS_SECRET_ACCESS_KEY")
        if bool(access_key) != bool(secret_key):
            missing = "AWS_SECRET_ACCESS_KEY" if access_key else "AWS_ACCESS_KEY_ID"
            raise ImproperlyConfigured(
                f"{self.path}: key {missing!r} is missing: give both access keys or neither "
                f"(neither uses boto3's default chain, e.g. an EC2 instance role)."
            )
        style = self.get_str("AWS_S3_ADDRESSING_STYLE", "auto")
        if style not in ADDRESSING_STYLES:
            raise ImproperlyConfigured(
                f"{self.source('AWS_S3_ADDRESSING_STYLE')} must be one of "
                f"{', '.join(ADDRESSING_STYLES)}, not {style!r}."
            )
        return {
            "bucket_name": bucket,
            "region_name": region,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "endpoint_url": self.get_str("AWS_S3_ENDPOINT_URL") or None,
            "custom_domain": self.get_str("AWS_S3_CUSTOM_DOMAIN") or None,
            "location": "media",
            "file_overwrite": False,
            # No ACLs: the bucket keeps Block Public Access on and ACLs disabled; reads are
            # through SigV4-signed URLs (or a CloudFront custom domain).
            "default_acl": None,
            "querystring_auth": True,
            "object_parameters": {"CacheControl": MEDIA_CACHE_CONTROL},
            "client_config": Config(
                signature_version="s3v4",
                s3={"addressing_style": style},
                # Fail in about a minute at worst, not never, when S3 is unreachable or
                # stalls. total_max_attempts counts the first attempt; max_attempts would
                # count only the retries (3 meant 4 attempts, 80 s of read time-outs).
                connect_timeout=5,
                read_timeout=20,
                retries={"total_max_attempts": 3, "mode": "standard"},
            ),
        }

    def redis_url(self) -> str:
        """REDIS_URL: ``redis://`` (or ``rediss://``, TLS, as ElastiCache's in-transit
        encryption wants) with a host, an optional port and database number; "" when unset."""
        url = self.get_str("REDIS_URL").strip()
        if not url:
            return ""
        # The message never repeats the URL: it may hold a password.
        wrong = (
            f"{self.source('REDIS_URL')} must look like redis://host:6379/0, or rediss://... "
            f"for TLS (ElastiCache with in-transit encryption)"
        )
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ImproperlyConfigured(f"{wrong}.")
        try:
            _ = parts.port  # urlsplit checks the port only when asked for it
        except ValueError:
            raise ImproperlyConfigured(f"{wrong}: its port is not a number.") from None
        database = parts.path.strip("/")
        if database and not database.isdigit():
            raise ImproperlyConfigured(f"{wrong}: the path is a database number, such as /0.")
        return url

    def caches(self) -> dict[str, Any]:
        """CACHES: Redis when REDIS_URL names one (config/cache.py: an outage is a miss, not an
        error), else the database's cache table, which every app server shares too."""
        url = self.redis_url()
        if url:
            return {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": url}}
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": CACHE_TABLE,
            }
        }

    def session_engine(self) -> str:
        """SESSION_ENGINE: read through the cache when it is Redis, always written to the
        database, so that no session is lost with Redis; else the database alone."""
        if self.redis_url():
            return "django.contrib.sessions.backends.cached_db"
        return "django.contrib.sessions.backends.db"

    def proxy_ssl_header(self) -> tuple[str, str] | None:
        """SECURE_PROXY_SSL_HEADER as Django wants it: a (header, value) pair, or None."""
        value = self.get("SECURE_PROXY_SSL_HEADER")
        if value is None:
            return None
        pair = self.get_list("SECURE_PROXY_SSL_HEADER", [])
        if len(pair) != 2:
            raise ImproperlyConfigured(
                f"{self.source('SECURE_PROXY_SSL_HEADER')} must be a header and a value, "
                f'such as ["HTTP_X_FORWARDED_PROTO", "https"].'
            )
        return pair[0], pair[1]

    def email(self) -> dict[str, Any]:
        """The email settings, by Django's names: the console (the embedded default), a file,
        an SMTP server, or Amazon SES through django-ses with boto3's credentials."""
        choice = self.get_str("EMAIL_BACKEND", "console")
        if choice not in EMAIL_BACKENDS:
            raise ImproperlyConfigured(
                f"{self.source('EMAIL_BACKEND')} must be one of {', '.join(EMAIL_BACKENDS)}, "
                f"not {choice!r}."
            )
        sender = self.get_str("DEFAULT_FROM_EMAIL")
        if choice in ("ses", "smtp") and not sender:
            raise ImproperlyConfigured(
                f"{self.source('DEFAULT_FROM_EMAIL')} is missing: EMAIL_BACKEND {choice!r} "
                f'needs the address mail comes from, e.g. "Instagram <hello@example.com>".'
            )
        email: dict[str, Any] = {
            "EMAIL_BACKEND": EMAIL_BACKENDS[choice],
            "DEFAULT_FROM_EMAIL": sender or "webmaster@localhost",
            "SERVER_EMAIL": sender or "root@localhost",
            "EMAIL_TIMEOUT": EMAIL_TIMEOUT_SECONDS,
        }
        if choice == "smtp":
            email.update(self._smtp())
        elif choice == "file":
            email["EMAIL_FILE_PATH"] = self._required("EMAIL_FILE_PATH", "file")
        elif choice == "ses":
            email.update(self._ses())
        return email

    def _required(self, key: str, backend: str) -> str:
        value = self.get_str(key)
        if not value:
            raise ImproperlyConfigured(
                f"{self.source(key)} is missing: EMAIL_BACKEND {backend!r} needs it."
            )
        return value

    def _smtp(self) -> dict[str, Any]:
        use_tls = self.get_bool("EMAIL_USE_TLS", False)
        use_ssl = self.get_bool("EMAIL_USE_SSL", False)
        if use_tls and use_ssl:
            raise ImproperlyConfigured(
                f"{self.source('EMAIL_USE_SSL')}: EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive: "
                f"TLS (STARTTLS) usually on port 587, SSL on 465."
            )
        return {
            "EMAIL_HOST": self._required("EMAIL_HOST", "smtp"),
            "EMAIL_PORT": self.get_int("EMAIL_PORT", 465 if use_ssl else 587 if use_tls else 25),
            "EMAIL_HOST_USER": self.get_str("EMAIL_HOST_USER"),
            "EMAIL_HOST_PASSWORD": self.get_str("EMAIL_HOST_PASSWORD"),
            "EMAIL_USE_TLS": use_tls,
            "EMAIL_USE_SSL": use_ssl,
        }

    def _ses(self) -> dict[str, Any]:
        """django-ses's settings: boto3's credentials (the instance role) unless the file gives
        access keys; no automatic throttling, which would need ses:GetSendQuota."""
        region = self.get_str("AWS_SES_REGION_NAME") or self.get_str("AWS_S3_REGION_NAME")
        if not region:
            raise ImproperlyConfigured(
                f"{self.source('AWS_SES_REGION_NAME')} is missing: EMAIL_BACKEND 'ses' needs "
                f"the region of the SES identity, e.g. ap-northeast-2."
            )
        endpoint = self.get_str("AWS_SES_REGION_ENDPOINT_URL")
        return {
            "AWS_SES_REGION_NAME": region,
            "AWS_SES_REGION_ENDPOINT_URL": endpoint or f"https://email.{region}.amazonaws.com",
            "AWS_SES_ACCESS_KEY_ID": self.get_str("AWS_ACCESS_KEY_ID") or None,
            "AWS_SES_SECRET_ACCESS_KEY": self.get_str("AWS_SECRET_ACCESS_KEY") or None,
            "AWS_SES_AUTO_THROTTLE": None,
            "AWS_SES_CONFIG": Config(
                connect_timeout=5, read_timeout=EMAIL_TIMEOUT_SECONDS, retries={"max_attempts": 2}
            ),
        }


def _check_keys(
    data: dict[str, Any],
    allowed: dict[str, type | tuple[type, ...]],
    where: str,
    engine: str | None = None,
) -> None:
    """Refuse keys of ``data`` not in ``allowed`` and values of the wrong type; ``where`` is
    the message's start up to the open quote of the key path, e.g. "secrets.json: key 'A"."""
    for name, value in data.items():
        key = _printable(name)
        if name in REFUSED_DATABASE_KEYS and engine:
            raise ImproperlyConfigured(
                f"{where}.{key}' is not taken here: remove it; {REFUSED_DATABASE_KEYS[name]}."
            )
        if name not in allowed:
            for_engine = f" for {engine}" if engine else ""
            raise ImproperlyConfigured(
                f"{where}.{key}' is unknown{for_engine}{_did_you_mean(name, allowed)}"
            )
        _check_type(value, allowed[name], f"{where}.{key}'")


def _printable(key: str) -> str:
    """``key`` for a message: a newline or other control character in it stays on the line."""
    return key.encode("unicode_escape").decode()


def _did_you_mean(key: str, known: Mapping[str, Any]) -> str:
    """The end of an unknown-key message: the closest known key, else the keys there are."""
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f": did you mean {close[0]!r}?"
    return f": remove it, or use one of {', '.join(known)}."


def _port(value: int | str, where: str) -> str:
    """A PostgreSQL port as Django wants it (a string); empty means the default, 5432."""
    if value == "":
        return "5432"
    port = int(value) if isinstance(value, int) or value.isdigit() else 0
    if not 0 < port < 65536:
        raise ImproperlyConfigured(f"{where} must be a port number such as 5432, not {value!r}.")
    return str(port)


def _check_type(value: Any, expected: type | tuple[type, ...], where: str) -> None:
    # bool is an int in Python but not in JSON: true is no port number.
    if isinstance(value, bool) and bool not in _as_tuple(expected):
        ok = False
    else:
        ok = isinstance(value, expected)
    if not ok:
        names = " or ".join(JSON_NAMES[t] for t in _as_tuple(expected))
        raise ImproperlyConfigured(f"{where} must be {names}, not {json.dumps(value)}.")


def _read_secret(
    secret_id: str, where: str, region: str, environ: Mapping[str, str]
) -> dict[str, Any]:
    """The JSON object held in a Secrets Manager secret, read with boto3's default credentials."""
    # Imported here, so that only deployments that name a secret pay for importing boto3.
    import boto3

    client = boto3.client(
        "secretsmanager",
        region_name=region,
        endpoint_url=environ.get(SECRETS_MANAGER_ENDPOINT_VARIABLE) or None,
        config=Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard"}),
    )
    try:
        response = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        error = exc.response["Error"]
        if error.get("Code") == "ResourceNotFoundException":
            raise ImproperlyConfigured(
                f"{where} (named by {SECRETS_MANAGER_ID_VARIABLE}) does not exist in region "
                f"{region}."
            ) from None
        raise ImproperlyConfigured(
            f"{where} could not be read in region {region}: {error.get('Code')}: "
            f"{error.get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise ImproperlyConfigured(f"{where} could not be read: {exc}") from None
    if "SecretString" not in response:
        raise ImproperlyConfigured(f"{where} holds binary data, not a JSON object of settings.")
    try:
        data = json.loads(response["SecretString"])
    except json.JSONDecodeError as exc:
        # The error names a position only, never the secret's text.
        raise ImproperlyConfigured(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ImproperlyConfigured(f"{where} must hold a JSON object of settings.")
    return data


def _as_tuple(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def parse_database_url(url: str) -> dict[str, Any]:
    """Django DATABASES entry from postgres://user:password@host:port/name?option=value."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.path.strip("/"):
        raise ImproperlyConfigured(
            "environment variable DATABASE_URL must look like "
            "postgres://user:password@host:5432/name."
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("environment variable DATABASE_URL has a bad port.") from None
    return {
        "ENGINE": POSTGRESQL,
        "HOST": unquote(parts.hostname or ""),
        "PORT": str(port or 5432),
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "OPTIONS": dict(parse_qsl(parts.query)),
    }


def one_line(error: Exception) -> str:
    """The error as the one line an operator reads: what is wrong, where, how to fix it."""
    return "Configuration error: " + " ".join(str(error).split())


@contextmanager
def errors_in_one_line(*, exit_status: int = 1, traceback: bool = False) -> Iterator[None]:
    """Report a configuration mistake in one line on stderr and exit with ``exit_status``,
    instead of a traceback: ``ImproperlyConfigured``, or a database that cannot be reached with
    the settings given. With ``traceback`` (or DJANGO_TRACEBACK=1), let it propagate."""
    from django.db import OperationalError

    try:
        yield
    except (ImproperlyConfigured, OperationalError) as error:
        wanted = traceback or os.environ.get(TRACEBACK_VARIABLE, "").lower() in TRUE_WORDS
        if isinstance(error, OperationalError):
            line = _unreachable_database(error)
            if wanted or line is None:
                raise
        elif wanted:
            raise
        else:
            line = one_line(error)
        print(line, file=sys.stderr, flush=True)
        raise SystemExit(exit_status) from None


def _unreachable_database(error: Exception) -> str | None:
    """The line for a database that could not be connected to, or None if the connection was
    made (then the error is not about the settings)."""
    from django.conf import settings
    from django.db import connection

    if connection.connection is not None:
        return None
    db = connection.settings_dict
    if "DATABASE_URL" in os.environ:
        where = "environment variable DATABASE_URL"
    else:
        where = settings.SECRETS.source("DATABASES")
    at = f" at {db['HOST']}:{db['PORT']} as {db['USER']}" if db.get("HOST") else ""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return one_line(
        f"{where}: cannot connect to database {db['NAME']}{at}: {reason}. Check HOST, PORT, "
        f"NAME, USER and PASSWORD there, and that the database admits this machine (on AWS: "
        f"its security group)."
    )
