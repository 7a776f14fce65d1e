"""Count requests per scope and key, so that mail-sending forms cannot be used to flood inboxes.

One function, ``hit``, so that a shared atomic limiter can take its place without touching the
callers. This one counts in the database cache, which every app server shares; its increments
are a read and a write, so two requests at the same instant may both pass at the limit.
"""

import hashlib
import time
from datetime import timedelta

from django.core.cache import cache


class Throttled(Exception):
    """Too many requests of one kind; the message says how long to wait."""


def hit(scope: str, key: str, *, limit: int, window: timedelta) -> bool:
    """Count one request for ``key`` in ``scope``: True while at most ``limit`` fall in the
    current window, False after."""
    seconds = int(window.total_seconds())
    # Keys are hashed: they hold addresses and account names, which need not sit in the cache.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    name = f"limit:{scope}:{digest}:{int(time.time()) // seconds}"
    cache.add(name, 0, timeout=seconds)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=seconds)
        count = 1
    return count <= limit
