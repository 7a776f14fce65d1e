"""Request bodies are capped before anything reads them: small everywhere, large for uploads.

A body over its URL's cap is refused with 413 from its Content-Length alone, before a byte of
it is read, so gunicorn never spools a huge body to a temporary file for a form that holds a
few fields. A chunked body (no Content-Length; Django would otherwise ignore it) is read here
and counted as it streams, and refused as soon as it passes the cap; one within the cap is
handed on with its length, like any other. deploy/nginx-instagram.conf sets the same caps.
"""

import tempfile
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from config.errors import error_response

CHUNK_BYTES = 65_536


def body_limit(path: str) -> int:
    """The largest body, in bytes, that ``path`` accepts."""
    try:
        name = resolve(path).view_name
    except Resolver404:
        return settings.REQUEST_BODY_MAX_BYTES
    if name in settings.UPLOAD_URL_NAMES:
        return settings.UPLOAD_BODY_MAX_BYTES
    return settings.REQUEST_BODY_MAX_BYTES


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    message = f"That request is too large: this page accepts at most {limit // 1_048_576} MB."
    return error_response(request, 413, message)


class RequestBodyLimitMiddleware:
    """Placed before any middleware that reads a body (CSRF reads forms), after the ones that
    add security headers, so a refusal carries them too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH")
        if declared:
            length = _length(declared)
            # Only a body over the small cap needs to know which page it is for.
            if length > settings.REQUEST_BODY_MAX_BYTES:
                limit = body_limit(request.path_info)
                if length > limit:
                    return too_large(request, limit)
            return self.get_response(request)
        if "chunked" not in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return self.get_response(request)
        limit = body_limit(request.path_info)
        with tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE) as body:
            size = _copy_at_most(request.META["wsgi.input"], body, limit)
            if size > limit:
                return too_large(request, limit)
            body.seek(0)
            request.META["CONTENT_LENGTH"] = str(size)
            # Django reads the body through this stream (WSGIRequest made it from a length of 0).
            request._stream = LimitedStream(body, size)
            return self.get_response(request)


def _length(value: str) -> int:
    """A Content-Length as a number; a malformed one (gunicorn refuses those itself) as none."""
    try:
        return int(value)
    except ValueError:
        return 0


def _copy_at_most(source, target, limit: int) -> int:
    """Copy ``source`` into ``target`` until it ends or passes ``limit``; the bytes read."""
    size = 0
    while size <= limit:
        chunk = source.read(CHUNK_BYTES)
        if not chunk:
            break
        target.write(chunk)
        size += len(chunk)
    return size
