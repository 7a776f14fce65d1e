"""Middleware that keeps failures out of sight: a 400 for addresses the database cannot look up,
and a friendly 503 instead of a 500 while the database is unreachable (a restart, a failover).

Each request that finds the database gone fails fast with a page that says to try again and a
``Retry-After`` header; the app itself keeps running, and Django's health-checked persistent
connections (CONN_HEALTH_CHECKS) reconnect on the first request after the database is back.
"""

import logging
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from config.errors import error_response

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
NUL_MESSAGE = (
    "This isn't a valid address: the link holds characters no page of this site has. Check it, "
    "or start again from the home page."
)


class NulRefusingMiddleware:
    """Answers 400 to a URL holding a NUL character, in its path or its query string, and
    ignores a cookie holding one.

    Views look up what a URL names (/<username>/, /p/<code>/, ?after=…), and sessions their
    key, in PostgreSQL, whose text cannot hold NUL: psycopg2 refuses the query, which would be
    a 500. No address or cookie of this site has one, so the request is refused (or the cookie
    dropped, as if never sent) before anything, present or future, looks it up.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path_info or b"\x00" in unquote_to_bytes(query):
            return error_response(request, 400, NUL_MESSAGE)
        request.COOKIES = {
            name: value
            for name, value in request.COOKIES.items()
            if "\x00" not in name and "\x00" not in value
        }
        return self.get_response(request)


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
