"""/healthz for load balancers: 200 when the database and the media storage answer, else 503.

It is answered by a middleware placed first, so a load balancer that calls an instance by its
IP address (not in ALLOWED_HOSTS) over plain HTTP gets an answer, and no session is touched.
The storage probe is one small S3 request, made at most every STORAGE_CHECK_SECONDS per process.
"""

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

PATH = "/healthz"
STORAGE_CHECK_SECONDS = 10.0


def database_check() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def storage_check() -> None:
    """List at most one key under the media prefix (all the IAM policy allows), or check that
    local media/ is writable."""
    if hasattr(default_storage, "bucket_name"):
        default_storage.connection.meta.client.list_objects_v2(
            Bucket=default_storage.bucket_name, Prefix=f"{default_storage.location}/", MaxKeys=1
        )
        return
    location = Path(default_storage.location)
    while not location.exists():
        location = location.parent
    if not os.access(location, os.W_OK):
        raise PermissionError(f"{location} is not writable")


class HealthCheckMiddleware:
    """Answers /healthz before any other middleware runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.storage_ok_until = 0.0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != PATH:
            return self.get_response(request)
        results = {"database": self._run(database_check)}
        if time.monotonic() < self.storage_ok_until:
            results["storage"] = "ok"
        else:
            results["storage"] = self._run(storage_check)
            if results["storage"] == "ok":
                self.storage_ok_until = time.monotonic() + STORAGE_CHECK_SECONDS
        healthy = all(result == "ok" for result in results.values())
        response = JsonResponse(results, status=200 if healthy else 503)
        response["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _run(check: Callable[[], None]) -> str:
        try:
            check()
        except Exception as exc:
            logger.warning("Health check %s failed: %r", check.__name__, exc)
            return f"failed: {exc.__class__.__name__}"
        return "ok"
