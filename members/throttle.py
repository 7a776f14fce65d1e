"""Slow down guessing of passwords (and any other secret, such as a one-time code) without
letting a guesser lock the owner out.

Every check of a secret goes through ``check()``, which reserves the attempt in
``config.ratelimit`` *before* the secret is compared (hashing a password takes time, and the
reservation is atomic, so simultaneous guesses cannot slip past the limit), takes the
reservation back when the secret was right, and refuses with ``Throttled`` when a limit is
reached. The authentication backend calls it for every password, so the site's log-in, the
admin's and the old-password check all share one count.

Limits, per 15 minutes (see the README's "Log-in throttling"):

- a browser that has logged in to the account before (it holds a signed device cookie naming
  the account) gets 5 failures of its own, and nothing else counts against it;
- any other browser: 5 failures per account and address, 20 per account from all such
  browsers together, and 50 per address over all accounts.

So a guesser locks out at most new browsers, never the owner's own.
"""

import secrets
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from config import ratelimit
from members.models import folded

WINDOW = timedelta(minutes=15)
PAIR_LIMIT = 5
ACCOUNT_LIMIT = 20
ADDRESS_LIMIT = 50
DEVICE_LIMIT = 5
DEVICE_COOKIE = "device"
DEVICE_COOKIE_MAX_AGE = int(timedelta(days=365).total_seconds())
DEVICE_SALT = "members.throttle.device"
FROM_BROWSER = "Too many failed {} from this browser. Wait {} minutes and try again."
FROM_NETWORK = "Too many failed {} from your network. Wait {} minutes and try again."
FOR_ACCOUNT = (
    "Too many failed {} for this account. Wait {} minutes, or log in from a browser you have "
    "logged in with before."
)


class Throttled(PermissionDenied):
    """Too many recent failures: the secret was not even compared."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def member_account(pk: int) -> str:
    """The throttle's name for a member's account: their id, which survives a rename."""
    return f"member:{pk}"


def unknown_account(login: str) -> str:
    """The throttle's name for a log-in that names no member."""
    return f"login:{folded(login)}"


def check(
    request: HttpRequest | None,
    *,
    scope: str,
    account: str,
    verify: Callable[[], bool],
    attempts: str = "log-ins",
) -> bool:
    """Whether ``verify()`` (which compares a secret of ``account``'s) succeeds, counted under
    ``scope``; raise Throttled, without calling it, when this client has used up its tries.
    ``attempts`` names the tries in the refusal ("log-ins", "code entries")."""
    address = ratelimit.client_key(request) if request else ""
    device = _device(request, account)
    if device:
        limits = [(f"{scope}.device", device, DEVICE_LIMIT, FROM_BROWSER)]
    else:
        limits = [
            (f"{scope}.pair", f"{account} {address}", PAIR_LIMIT, FROM_NETWORK),
            (f"{scope}.address", address, ADDRESS_LIMIT, FROM_NETWORK),
            (f"{scope}.account", account, ACCOUNT_LIMIT, FOR_ACCOUNT),
        ]
    try:
        taken = _reserve(limits, attempts)
    except Throttled as refused:
        if request is not None:
            request.throttled = refused
        raise
    try:
        matched = verify()
    except BaseException:
        _give_back(taken)
        raise
    if matched:
        # The client proved itself: its own earlier failures no longer count.
        own_counter, own_key, *_ = limits[0]
        _give_back(taken, forget=(own_counter, own_key))
    return matched


def refusal(request: HttpRequest | None) -> Throttled | None:
    """The Throttled that ``check()`` raised during this request, if any (Django's
    ``authenticate()`` swallows it, so forms look here to say why)."""
    return getattr(request, "throttled", None)


def remember_device(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """On ``user_logged_in``: mark this browser as one that has logged in to ``user``'s account,
    so the response carries a signed device cookie naming it (see ``ThrottleMiddleware``)."""
    if request is not None:
        request.device_cookie = signing.dumps(
            {"account": member_account(user.pk), "device": secrets.token_urlsafe(16)},
            salt=DEVICE_SALT,
        )


def _device(request: HttpRequest | None, account: str) -> str | None:
    """The id of this browser's device cookie, if it is genuine, recent and names ``account``."""
    value = request.COOKIES.get(DEVICE_COOKIE) if request else None
    if not value:
        return None
    try:
        payload = signing.loads(value, salt=DEVICE_SALT, max_age=DEVICE_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("account") != account:
        return None
    return payload.get("device") or None


@transaction.atomic
def _reserve(limits: list[tuple[str, str, int, str]], attempts: str) -> list[ratelimit.Hit]:
    """Count one attempt against every limit, or against none (one transaction, one commit;
    the rows are locked in the same order by every request, so two cannot deadlock; counts in
    Redis are outside the transaction, so those taken before a refusal are given back)."""
    taken = []
    for counter, key, limit, message in limits:
        hit = ratelimit.hit(counter, key, limit=limit, window=WINDOW)
        if not hit.allowed:
            for earlier in taken:
                ratelimit.refund(earlier)
            raise Throttled(message.format(attempts, hit.minutes), hit.retry_after)
        taken.append(hit)
    return taken


@transaction.atomic
def _give_back(hits: list[ratelimit.Hit], forget: tuple[str, str] | None = None) -> None:
    """Take back the attempts in ``hits``, and forget every failure counted under ``forget``
    (a scope and key)."""
    for hit in hits:
        ratelimit.refund(hit)
    if forget:
        ratelimit.reset(*forget)


class ThrottleMiddleware:
    """The HTTP side of ``check()``: a page shown because the throttle refused is a 429 with
    Retry-After, and a log-in sets the device cookie ``remember_device()`` asked for."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        refused = refusal(request)
        if refused is not None and response.status_code == 200:
            response.status_code = 429
            response["Retry-After"] = str(refused.retry_after)
        cookie = getattr(request, "device_cookie", None)
        if cookie:
            response.set_cookie(
                DEVICE_COOKIE,
                cookie,
                max_age=DEVICE_COOKIE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
