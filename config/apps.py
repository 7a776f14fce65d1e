from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class SiteConfig(AppConfig):
    """Project-wide checks; ``config`` has no models."""

    name = "config"
    label = "site"

    def ready(self) -> None:
        checks.register(embedded_default_check)


def embedded_default_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Say when no secrets file was read, and what the app runs on instead."""
    secrets = settings.SECRETS
    if secrets.from_file:
        return []
    bucket = settings.STORAGES["default"].get("OPTIONS", {}).get("bucket_name")
    return [
        checks.Info(
            f"No {secrets.path.name} found: running on the embedded default (DEBUG="
            f"{settings.DEBUG}, database {settings.DATABASES['default']['NAME']}, media in "
            f"{f'S3 bucket {bucket}' if bucket else settings.MEDIA_ROOT}"
            f"{', email printed here' if 'console' in settings.EMAIL_BACKEND else ''}).",
            hint="Copy secrets.json.example to secrets.json to configure.",
            id="site.I001",
        )
    ]
