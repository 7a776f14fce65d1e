"""Count events (a log-in guess, a sign-up, a comment) per scope and key, for every app server.

``hit(scope, key, limit=..., window=...)`` counts one event for ``key`` (an address, an account,
anything) if fewer than ``limit`` happened in the last ``window``, and says whether it did. The
counts live in one table (``RateCounter``, one row per scope, key and window) and each is bumped
by one atomic ``INSERT ... ON CONFLICT DO UPDATE ... WHERE count < room RETURNING count``, so two
servers (or two threads) can never both take the last place. Refused events are not counted:
a client that keeps knocking gets ``limit`` events per window, not fewer.

The window slides: the previous window's count is weighed by how much of it still overlaps
the last ``window``, so a burst at the end of one window and the start of the next cannot
reach twice the limit. Keys are stored as their SHA-256, so any text (any length, any Unicode,
NUL bytes) is a key. Rows expire two windows after their start; whoever starts a new row
deletes the expired ones, so the table stays as small as the traffic of the last two windows.

Call ``hit`` outside a transaction that may roll back (views are not wrapped in one), or a
rolled-back request takes its count with it. ``client_key(request)`` is the key for limits per
client address (behind ``TRUSTED_PROXY_COUNT`` proxies); ``too_many_requests`` the answer;
``per_member`` limits a view's POSTs per logged-in member.
"""

import functools
import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from config.models import RateCounter

LABEL_LENGTH = RateCounter._meta.get_field("label").max_length


@dataclass(frozen=True)
class Hit:
    """One event, counted (``allowed``) or refused; ``retry_after`` seconds until the next one
    would be allowed."""

    scope: str
    digest: str
    window_start: datetime
    allowed: bool
    retry_after: int = 0

    @property
    def minutes(self) -> int:
        """The wait in whole minutes, at least one, for messages."""
        return max(1, math.ceil(self.retry_after / 60))


def clock() -> float:
    """Seconds since the epoch; a function of its own so that tests can move time on."""
    return time.time()


def hit(scope: str, key: str, *, limit: int, window: timedelta) -> Hit:
    """Count one event for ``key`` in ``scope`` if fewer than ``limit`` happened in the last
    ``window``; the returned Hit says whether it was counted."""
    if limit < 1:
        raise ValueError(f"A rate limit allows at least one event, not {limit}.")
    seconds = window.total_seconds()
    now = clock()
    start = math.floor(now / seconds) * seconds
    overlap = 1 - (now - start) / seconds  # how much of the previous window is still recent
    digest = _digest(key)
    window_start = datetime.fromtimestamp(start, tz=UTC)
    previous = _count(scope, digest, datetime.fromtimestamp(start - seconds, tz=UTC))
    # Rounded, so that float error cannot refuse an event at the second retry_after promised.
    earlier = round(previous * overlap, 6)
    count = None
    if earlier + 1 <= limit:
        count = _bump(scope, digest, _label(key), window_start, seconds, limit - earlier)
    if count is not None:
        if count == 1:
            prune()
        return Hit(scope, digest, window_start, allowed=True)
    current = _count(scope, digest, window_start)
    wait = round(_wait(previous, current, limit, overlap) * seconds, 6)
    return Hit(scope, digest, window_start, allowed=False, retry_after=max(1, math.ceil(wait)))


def refund(counted: Hit) -> None:
    """Take back a counted event: it turned out not to be one that should count (a right
    password, say, where only wrong ones should)."""
    if counted.allowed:
        RateCounter.objects.filter(
            scope=counted.scope,
            digest=counted.digest,
            window_start=counted.window_start,
            count__gt=0,
        ).update(count=F("count") - 1)


def reset(scope: str, key: str) -> None:
    """Forget every event counted for ``key`` in ``scope``."""
    RateCounter.objects.filter(scope=scope, digest=_digest(key)).delete()


def prune() -> None:
    """Delete the counters too old to matter to any limit. Rows another prune is deleting
    are skipped, not waited for, so two prunes (each maybe inside a caller's transaction)
    never deadlock."""
    now = datetime.fromtimestamp(clock(), tz=UTC)
    expired = RateCounter.objects.filter(expires__lte=now).select_for_update(skip_locked=True)
    with transaction.atomic():
        RateCounter.objects.filter(pk__in=expired.values("pk")).delete()


def too_many_requests(request: HttpRequest, *, message: str, retry_after: int) -> HttpResponse:
    """A 429 saying ``message``: JSON ``{"error": message}`` to a script (``fetch``), else the
    site's page."""
    if "application/json" in request.headers.get("Accept", "") or request.headers.get(
        "X-Requested-With"
    ):
        response = JsonResponse({"error": message}, status=429)
    else:
        response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def per_member(scope: str, *, setting: str, window: timedelta, message: str) -> Callable:
    """A view decorator: each POST of a logged-in member counts one event for them in
    ``scope``; once ``settings.<setting>`` happened in the last ``window``, the view is not
    called and the answer is a 429 saying ``message`` (``{minutes}`` is the wait). Put it under
    ``login_required``."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "POST" and request.user.is_authenticated:
                limit = getattr(settings, setting)
                counted = hit(scope, f"member:{request.user.pk}", limit=limit, window=window)
                if not counted.allowed:
                    return too_many_requests(
                        request,
                        message=message.format(minutes=counted.minutes),
                        retry_after=counted.retry_after,
                    )
            return view(request, *args, **kwargs)

        return limited

    return decorator


def client_address(request: HttpRequest) -> str:
    """The client's address. With ``TRUSTED_PROXY_COUNT`` proxies in front of the app (each
    appending the address it saw to X-Forwarded-For, the last one seen as REMOTE_ADDR), the
    address the farthest of them saw; anything left of it came from the client and may be
    forged. With none, REMOTE_ADDR."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    chain = [entry.strip() for entry in forwarded if entry.strip()]
    chain.append(request.META.get("REMOTE_ADDR", ""))
    return chain[max(0, len(chain) - 1 - settings.TRUSTED_PROXY_COUNT)]


def client_key(request: HttpRequest) -> str:
    """The client's address as a rate-limit key. An IPv6 client usually holds a whole /64, so
    the /64 is the key; IPv4 (mapped or not) and anything unparseable are keys as they are."""
    address = client_address(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6 and parsed.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(getattr(parsed, "ipv4_mapped", None) or parsed)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _count(scope: str, digest: str, window_start: datetime) -> int:
    row = RateCounter.objects.filter(scope=scope, digest=digest, window_start=window_start)
    return row.values_list("count", flat=True).first() or 0


def _bump(
    scope: str, digest: str, label: str, window_start: datetime, seconds: float, room: float
) -> int | None:
    """Add one to the window's count if the result stays within ``room``; the new count, or
    None when there was no room. One statement, so concurrent bumps queue on the row."""
    table = RateCounter._meta.db_table
    # As the ORM stores them (SQLite keeps naive UTC text), so that its look-ups find the row.
    adapt = connection.ops.adapt_datetimefield_value
    expires = adapt(window_start + timedelta(seconds=2 * seconds))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (scope, digest, label, window_start, count, expires)
            VALUES (%s, %s, %s, %s, 1, %s)
            ON CONFLICT (scope, digest, window_start)
            DO UPDATE SET count = {table}.count + 1 WHERE {table}.count + 1 <= %s
            RETURNING count
            """,  # noqa: S608 - the table name is the model's, every value a parameter
            [scope, digest, label, adapt(window_start), expires, room],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _wait(previous: int, current: int, limit: int, overlap: float) -> float:
    """How long (in windows) until ``previous * overlap + current + 1 <= limit`` again, as the
    previous window's weight falls and, when the current one is full, as it becomes the
    previous one."""
    if current + 1 <= limit:
        return overlap - (limit - 1 - current) / previous if previous else 0
    return overlap + 1 - (limit - 1) / current


def _label(key: str) -> str:
    printable = "".join(char if char.isprintable() else "\N{REPLACEMENT CHARACTER}" for char in key)
    return printable[:LABEL_LENGTH]
