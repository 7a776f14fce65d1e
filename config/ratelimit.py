"""Count events (a log-in guess, a sign-up, a comment) per scope and key, for every app server.

``hit(scope, key, limit=..., window=...)`` counts one event for ``key`` (an address, an account,
anything) if fewer than ``limit`` happened in the last ``window``, and says whether it did.
Refused events are not counted: a client that keeps knocking gets ``limit`` events per window,
not fewer. Each count is one atomic step, so two servers (or two threads) can never both take
the last place:

- with REDIS_URL, one Lua script in Redis (a hash per scope and key, a field per window, which
  expires two windows after the current one starts);
- else, or while Redis does not answer (config/cache.py), one ``INSERT ... ON CONFLICT DO
  UPDATE ... WHERE count < room RETURNING count`` in the database (``RateCounter``, one row per
  scope, key and window). Rows expire two windows after their start; whoever starts a new row
  deletes the expired ones, so the table stays as small as the traffic of the last two windows.
  What was counted there during an outage is not carried back to Redis: for one window around
  an outage a client may get up to twice its limit.

The window slides: the previous window's count is weighed by how much of it still overlaps
the last ``window``, so a burst at the end of one window and the start of the next cannot
reach twice the limit. Keys are stored as their SHA-256, so any text (any length, any Unicode,
NUL bytes) is a key.

Call ``hit`` outside a transaction that may roll back (views are not wrapped in one), or a
rolled-back request takes its database count with it (a Redis count stays: ``refund`` it).
``client_key(request)`` is the key for limits per client address (behind
``TRUSTED_PROXY_COUNT`` proxies); ``too_many_requests`` the answer (``Hit.answer`` makes it
for a refused hit), and ``Throttled`` the exception a service raises for its view to answer
so; ``per_member`` limits a view's POSTs per logged-in member.
"""

import functools
import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse

from config.cache import RedisCache, RedisUnavailable
from config.errors import error_response
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
    # Where it was counted, so that a refund goes there too.
    in_redis: bool = False

    @property
    def minutes(self) -> int:
        """The wait in whole minutes, at least one, for messages."""
        return max(1, math.ceil(self.retry_after / 60))

    def answer(self, request: HttpRequest, message: str) -> HttpResponse:
        """The 429 for this refused event: ``message`` (``{minutes}`` in it is the wait) with
        Retry-After, as ``too_many_requests`` makes it."""
        return too_many_requests(
            request, message=message.format(minutes=self.minutes), retry_after=self.retry_after
        )


class Throttled(Exception):
    """Too many requests of one kind: ``message`` says how long to wait, ``retry_after`` is
    that wait in seconds, for the Retry-After header."""

    def __init__(self, message: str, retry_after: int = 0):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


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
    redis = _redis()
    counted = None
    if redis is not None:
        with suppress(RedisUnavailable):  # then the database counts
            counted = _redis_bump(redis, scope, digest, start, seconds, limit, overlap, now)
    if counted is None:
        allowed, previous, current = _database_bump(
            scope, digest, _label(key), window_start, seconds, limit, overlap
        )
    else:
        allowed, previous, current = counted
    if allowed:
        return Hit(scope, digest, window_start, allowed=True, in_redis=counted is not None)
    wait = round(_wait(previous, current, limit, overlap) * seconds, 6)
    return Hit(scope, digest, window_start, allowed=False, retry_after=max(1, math.ceil(wait)))


def refund(counted: Hit) -> None:
    """Take back a counted event: it turned out not to be one that should count (a right
    password, say, where only wrong ones should)."""
    if not counted.allowed:
        return
    if counted.in_redis and (redis := _redis()) is not None:
        key, field = _redis_key(counted), _field(counted.window_start.timestamp())
        with suppress(RedisUnavailable):  # then the count expires with its window
            redis.execute(lambda client: _REFUND(keys=[key], args=[field], client=client))
        return
    RateCounter.objects.filter(
        scope=counted.scope,
        digest=counted.digest,
        window_start=counted.window_start,
        count__gt=0,
    ).update(count=F("count") - 1)


def reset(scope: str, key: str) -> None:
    """Forget every event counted for ``key`` in ``scope``."""
    digest = _digest(key)
    if (redis := _redis()) is not None:
        with suppress(RedisUnavailable):
            redis.execute(lambda client: client.delete(_redis_key_of(scope, digest)))
    RateCounter.objects.filter(scope=scope, digest=digest).delete()


def prune() -> None:
    """Delete the counters too old to matter to any limit. Rows another prune is deleting
    are skipped, not waited for, so two prunes (each maybe inside a caller's transaction)
    never deadlock."""
    now = datetime.fromtimestamp(clock(), tz=UTC)
    expired = RateCounter.objects.filter(expires__lte=now).select_for_update(skip_locked=True)
    with transaction.atomic():
        RateCounter.objects.filter(pk__in=expired.values("pk")).delete()


def too_many_requests(request: HttpRequest, *, message: str, retry_after: int) -> HttpResponse:
    """A 429 saying ``message`` (the site's page, or JSON to a script) with Retry-After."""
    response = error_response(request, 429, message)
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
                    return counted.answer(request, message)
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


# Redis: one hash per scope and key, one field per window start (in whole seconds). Counts the
# event if the previous window's weighed count plus this one's leaves room, drops fields of
# older windows, and keeps the hash two windows past the current one's start.
_BUMP = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local previous = tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')
local earlier = math.floor(previous * tonumber(ARGV[4]) * 1000000 + 0.5) / 1000000
if earlier + current + 1 > tonumber(ARGV[3]) then
  return {0, previous, current}
end
current = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if field ~= ARGV[1] and field ~= ARGV[2] then
    redis.call('HDEL', KEYS[1], field)
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {1, previous, current}
"""
_REFUND_SCRIPT = """
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') > 0 then
  return redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
end
return 0
"""


class _Script:
    """A Lua script run by its SHA1 (EVALSHA), loaded again if Redis forgot it (a restart)."""

    def __init__(self, source: str):
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis's script id

    def __call__(self, *, keys: list[str], args: list, client) -> Any:
        from redis.exceptions import NoScriptError

        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return client.eval(self.source, len(keys), *keys, *args)


_HIT = _Script(_BUMP)
_REFUND = _Script(_REFUND_SCRIPT)


def _redis() -> RedisCache | None:
    """The Redis the counters live in (the default cache's), or None for the database."""
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


def _redis_key_of(scope: str, digest: str) -> str:
    return f"ratelimit:{scope}:{digest}"


def _redis_key(counted: Hit) -> str:
    return _redis_key_of(counted.scope, counted.digest)


def _field(window_start: float) -> str:
    """A window's field in the hash: its start, in seconds since the epoch."""
    return repr(float(window_start))


def _redis_bump(
    redis: RedisCache,
    scope: str,
    digest: str,
    start: float,
    seconds: float,
    limit: int,
    overlap: float,
    now: float,
) -> tuple[bool, int, int]:
    """Count one event in Redis if there is room: (counted, previous count, current count)."""
    args = [
        _field(start),
        _field(start - seconds),
        limit,
        repr(overlap),
        max(1, math.ceil(start + 2 * seconds - now)),
    ]
    key = _redis_key_of(scope, digest)
    allowed, previous, current = redis.execute(
        lambda client: _HIT(keys=[key], args=args, client=client)
    )
    return bool(allowed), int(previous), int(current)


def _database_bump(
    scope: str,
    digest: str,
    label: str,
    window_start: datetime,
    seconds: float,
    limit: int,
    overlap: float,
) -> tuple[bool, int, int]:
    """Count one event in the database if there is room: (counted, previous, current)."""
    previous = _count(scope, digest, window_start - timedelta(seconds=seconds))
    # Rounded, so that float error cannot refuse an event at the second retry_after promised.
    earlier = round(previous * overlap, 6)
    count = None
    if earlier + 1 <= limit:
        count = _bump(scope, digest, label, window_start, seconds, limit - earlier)
    if count is not None:
        if count == 1:
            prune()
        return True, previous, count
    return False, previous, _count(scope, digest, window_start)


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
