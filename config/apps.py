from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class SiteConfig(AppConfig):
    """Project-wide checks, media receivers, work after responses, the rows every app shares
    (rate-limit counters), and runserver's start-up notice."""

    name = "config"
    label = "site"

    def ready(self) -> None:
        from config import after_response
        from config.media import files_follow_rows

        checks.register(proxy_count_check, deploy=True)
        after_response.listen()
        # Here, once every app's models are loaded, so that no model with a file field is missed.
        files_follow_rows()


def embedded_default_notice() -> str | None:
    """What the app runs on when no secrets file was read; None when one was. runserver says
    it once (config/management/commands/runserver.py); other commands keep quiet."""
    secrets = settings.SECRETS
    if secrets.from_file:
        return None
    bucket = settings.STORAGES["default"].get("OPTIONS", {}).get("bucket_name")
    return (
        f"No {secrets.path.name} found: running on the embedded default (DEBUG="
        f"{settings.DEBUG}, database {settings.DATABASES['default']['NAME']}, media in "
        f"{f'S3 bucket {bucket}' if bucket else settings.MEDIA_ROOT}"
        f"{', email printed here' if 'console' in settings.EMAIL_BACKEND else ''}). "
        "Copy secrets.json.example to secrets.json to configure."
    )


def proxy_count_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Behind a load balancer with no trusted proxies configured, every client would share the
    balancer's address, and so its log-in and sign-up limits."""
    if settings.SECURE_PROXY_SSL_HEADER and not settings.TRUSTED_PROXY_COUNT:
        return [
            checks.Warning(
                "SECURE_PROXY_SSL_HEADER is set, so a proxy stands in front of the app, but "
                "TRUSTED_PROXY_COUNT is 0: every client counts as the proxy's address for the "
                "log-in throttle and the sign-up limit.",
                hint="Set TRUSTED_PROXY_COUNT in secrets.json to the number of proxies that "
                "append to X-Forwarded-For (a load balancer, then nginx: 2).",
                id="site.W001",
            )
        ]
    return []
