"""Limits on the forms that send mail (reset, resend, address change), so that nobody can use
them to flood an inbox: the shared atomic counters of config/ratelimit.py, as a yes or no."""

from datetime import timedelta

from config import ratelimit


class Throttled(Exception):
    """Too many requests of one kind; the message says how long to wait."""


def hit(scope: str, key: str, *, limit: int, window: timedelta) -> bool:
    """Count one request for ``key`` in ``scope``: True while fewer than ``limit`` fell in the
    last ``window``, False (and not counted) after."""
    return ratelimit.hit(scope, key, limit=limit, window=window).allowed
