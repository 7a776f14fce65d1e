"""The app's secrets file: what the app needs to run on what was provisioned."""

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ops.provision.network import POSTGRES_PORT, REDIS_PORT
from ops.provision.rds import APP_DATABASE
from ops.secrets_file import secrets_read, secrets_write


class SecretsFileSteps:
    """Provisioner step for the secrets file."""

    def secrets_file(
        self, instance: dict[str, Any] | None, *, redis_url: str | None = None
    ) -> None:
        """Write what the app needs to run here into the secrets file: a new SECRET_KEY and
        database password, the site's hosts, the bucket, the database and the REDIS_URL of a
        cache made just now. Never overwrite what the operator set there, but say where it
        differs."""
        path = self.options.secrets_path
        current = secrets_read(path)
        # Only a dry run gets here before the instance (and so its endpoint) exists.
        endpoint = (instance or {}).get("Endpoint")
        expected: dict[str, Any] = {
            "ALLOWED_HOSTS": sorted({urlsplit(origin).hostname for origin in self.options.origins}),
            "CSRF_TRUSTED_ORIGINS": sorted(self.options.origins),
            "AWS_STORAGE_BUCKET_NAME": self.options.bucket,
            "AWS_S3_REGION_NAME": self.options.region,
            **(self.mail.secrets() if self.mail else {}),
        }
        generated: dict[str, Any] = {
            "SECRET_KEY": secrets.token_urlsafe(50),
            # The app's own role, which create_app_database creates with this password.
            "DATABASES": {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "HOST": endpoint["Address"] if endpoint else "",
                    "PORT": endpoint["Port"] if endpoint else POSTGRES_PORT,
                    "NAME": APP_DATABASE,
                    "USER": APP_DATABASE,
                    "PASSWORD": secrets.token_urlsafe(32),
                    "OPTIONS": {"sslmode": "require"},
                }
            },
        }
        if redis_url:
            generated["REDIS_URL"] = redis_url
        missing = {key: value for key, value in generated.items() if key not in current}
        self._cache_url_check(path, current, redis_url)
        for key, value in expected.items():
            if key not in current:
                missing[key] = value
            elif current[key] != value:
                self.report(f"! {path}: {key} is {current[key]!r}, not {value!r}: left alone")
        host = current.get("DATABASES", {}).get("default", {}).get("HOST")
        if endpoint and "DATABASES" in current and host != endpoint["Address"]:
            self.report(f"! {path}: DATABASES names {host}, not {endpoint['Address']}: left alone")
        if missing:
            self.change(
                f"write {', '.join(missing)} to {path} (mode 600)",
                lambda: secrets_write(path, missing),
            )

    def _cache_url_check(self, path: Path, current: dict[str, Any], redis_url: str | None) -> None:
        """Say when the file's REDIS_URL cannot reach the cache that ``--redis`` keeps."""
        if not self.options.redis:
            return
        name, endpoint = self.options.cache_name, self.outputs.get("cache_endpoint")
        if redis_url and current.get("REDIS_URL"):
            self.report(
                f"! {path}: REDIS_URL names another server: left alone. Cache {name}'s password "
                f"was not kept: set a new one (aws elasticache modify-replication-group "
                f"--replication-group-id {name} --auth-token NEW --auth-token-update-strategy "
                f"SET) and put rediss://:NEW@{endpoint}:{REDIS_PORT}/0 there."
            )
        elif not redis_url and not current.get("REDIS_URL"):
            self.report(
                f"! {path}: no REDIS_URL for cache {name}, which exists: its password was "
                f"written to the secrets file that made it; copy REDIS_URL from there."
            )
