"""Personal pages are never stored: ``Cache-Control: private, no-store``.

A page is personal when it is rendered for a signed-in member (their name and avatar in the
header, their email on /accounts/edit/, their feed), or when it carries a CSRF token in a form
(a stored copy would hand the token to whoever reads it next). A shared cache must not keep such
a page, nor a browser's back button show it after logging out. Pages for visitors without a
form keep the default, so they may be cached. A response that states its own policy (the
database-outage page, Django's never_cache views) keeps it.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class PersonalPageMiddleware:
    """Placed inside CsrfViewMiddleware and AuthenticationMiddleware, so it sees both the user
    and whether a CSRF token was used (before CsrfViewMiddleware clears that flag)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control") and _personal(request):
            patch_cache_control(response, private=True, no_store=True)
        return response


def _personal(request: HttpRequest) -> bool:
    # get_token() sets this whenever {% csrf_token %} (or anything else) used the token.
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        return True
    return request.user.is_authenticated
