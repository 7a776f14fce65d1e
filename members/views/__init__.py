"""The members' pages, one module per area: ``account`` (sign-up, log-in, log-out, password),
``profile`` (a profile, its editing, its followers and following), ``relations`` (follows,
follow requests, blocks) and ``settings`` (the settings page: email, sessions, two-factor
log-in, the data download, deleting the account). Views validate, call one service, then
redirect. Here: what they all share (and posts and moderation use too)."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def next_url(request: HttpRequest, default: str) -> str:
    """The ``next`` parameter if it is a path on this site, else ``default``.

    Only a path (starting with "/") is taken: ``redirect()`` would look any other word up as a
    view name, and a name it cannot find ("next=0") is an error, not a redirect.
    """
    target = request.POST.get("next") or request.GET.get("next")
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return default


def site_root(request: HttpRequest) -> str:
    """Scheme and host of this site, for links in email."""
    return request.build_absolute_uri("/").rstrip("/")
