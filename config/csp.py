"""Content-Security-Policy: scripts, styles and fonts from this site only; images from here and
from wherever the media storage serves photos (the bucket, or its CloudFront domain).

Django 5.2 has no CSP support of its own (it arrives in Django 6.0), hence this middleware.
"""

from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from django.core.files.storage import Storage, storages
from django.http import HttpRequest, HttpResponse

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; font-src 'self'; "
    "connect-src 'self'; img-src 'self' data: blob: {media}; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def media_origin() -> str:
    """The scheme and host photos are served from, read off a URL the storage makes."""
    return _origin_of(storages["default"])


@lru_cache(maxsize=1)
def _origin_of(storage: Storage) -> str:
    # Once per storage instance (a new one is made when STORAGES changes), not per response.
    parts = urlsplit(storage.url("csp-probe.jpg"))
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "'self'"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", POLICY.format(media=media_origin()))
        return response
