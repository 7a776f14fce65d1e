"""Every error the site answers, as the site's own page, or as JSON to a script.

``error_response`` is the one way to answer an error status: a page in the site's style for a
browser, ``{"error": "..."}`` with the same status for ``fetch`` and XMLHttpRequest (which ask
for JSON), so a script can show the message. Django's error handlers (config/urls.py), the CSRF
failure view (CSRF_FAILURE_VIEW) and ``ErrorPageMiddleware`` (for Django's empty 405s) all use it.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

MESSAGES = {
    400: "Your browser sent a request we could not read. Reload the page and try again.",
    403: "This belongs to someone else, or your session expired. Go back, reload the page and "
    "try again.",
    404: "The link may be broken, or the page may have been removed.",
    405: "This page can't do that. Go back and use the page's own buttons and forms.",
    413: "That request is too large.",
    500: "We couldn't finish that request. Nothing you saved before is lost; please try again "
    "in a moment.",
    503: "Instagram can't reach its data right now, so we couldn't finish that request. Nothing "
    "you saved before is lost; please try again in a minute.",
}
# Shown when something may be broken: rendered without the request, so no context processor
# (the user, the session) touches the database.
STANDALONE = {500, 503}

CSRF_MESSAGE = (
    "Your session expired or this page is out of date, so nothing was saved. "
    "Reload the page and try again."
)
TOO_MANY_FILES_MESSAGE = "Too many files: send at most {} at once."
TOO_MUCH_FORM_DATA_MESSAGE = "That form holds too much text. Shorten it and try again."


def wants_json(request: HttpRequest) -> bool:
    """A script's request (fetch, XMLHttpRequest) that asked for JSON, not a page."""
    accept = request.headers.get("Accept", "")
    return "application/json" in accept or "X-Requested-With" in request.headers


def error_response(request: HttpRequest, status: int, message: str | None = None) -> HttpResponse:
    """The site's page for ``status`` (templates/<status>.html), or JSON for a script."""
    message = message or MESSAGES[status]
    if wants_json(request):
        return JsonResponse({"error": message}, status=status)
    context = {"message": message}
    if status in STANDALONE:
        return HttpResponse(render_to_string(f"{status}.html", context), status=status)
    return render(request, f"{status}.html", context, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: SuspiciousOperation, including the request-size refusals Django makes while
    reading a form, each with a message that says what to change."""
    if isinstance(exception, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return error_response(request, 400, TOO_MANY_FILES_MESSAGE.format(limit))
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent):
        return error_response(request, 400, TOO_MUCH_FORM_DATA_MESSAGE)
    return error_response(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the reason stays out of the page (it helps an attacker, not a user)."""
    return error_response(request, 403, CSRF_MESSAGE)


class ErrorPageMiddleware:
    """Gives Django's bodiless 405 (``require_POST``, a class-based view's other methods, a
    static file posted to) the site's page, keeping its ``Allow`` and ``Cache-Control``.

    Under DEBUG, a 404 is the site's page too, not Django's technical one, whose inline styles
    the Content-Security-Policy blocks (it showed unstyled): a view's Http404 is caught here,
    and a URL no pattern matches (no ``resolver_match``) is answered here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 404 and settings.DEBUG and request.resolver_match is None:
            return error_response(request, 404)
        if response.status_code != 405:
            return response
        page = error_response(request, 405)
        for header in ("Allow", "Cache-Control"):
            if response.has_header(header):
                page[header] = response[header]
        return page

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return error_response(request, 404)
        return None
