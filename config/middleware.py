"""A friendly 503 instead of a 500 while the database is unreachable (a restart, a failover).

Each request that finds the database gone fails fast with a page that says to try again and a
``Retry-After`` header; the app itself keeps running, and Django's health-checked persistent
connections (CONN_HEALTH_CHECKS) reconnect on the first request after the database is back.
"""

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from config.errors import error_response

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


class DatabaseUnavailableMiddleware:
    """Turns OperationalError and InterfaceError raised by a view into a 503 page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error(
            "Database unavailable, answered 503 to %s %s: %s",
            request.method,
            request.path,
            exception,
            exc_info=exception,
        )
        response = error_response(request, 503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
