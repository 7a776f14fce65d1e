"""The cache in Redis (REDIS_URL), for which an outage is a miss, not an error.

``RedisCache`` is Django's own Redis backend with short socket time-outs and one guard: when
Redis does not answer, a read is a miss and a write is skipped, the outage is logged once (and
its end once), and for ``RETRY_SECONDS`` nobody waits for Redis again. Pages then answer from the
database, slower. Sessions lose nothing (``cached_db`` writes them to the database first), and
the rate counters fall back to the database (config/ratelimit.py) through ``execute``.

A write or delete that could not reach Redis leaves the entry there stale (a logged-out session,
a card from before an edit), so the key is remembered and deleted before this process reads
from Redis again; past ``MAX_STALE_KEYS`` the whole cache database is flushed instead. Another
server that was spared the outage may read such an entry until then: at most the few seconds
until that process's next cache call after Redis is back.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeVar

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis import exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)
T = TypeVar("T")

# What a Redis that is down, unreachable, overloaded, full (maxmemory reached with nothing it may
# evict) or failing over (a replica that became read-only) raises.
UNAVAILABLE = (
    exceptions.ConnectionError,
    exceptions.TimeoutError,
    exceptions.ReadOnlyError,
    exceptions.OutOfMemoryError,
)
# In a VPC Redis answers in about a millisecond: a server that takes longer is as good as down.
SOCKET_TIMEOUT_SECONDS = 0.5
# How long a process leaves Redis alone after it failed to answer.
RETRY_SECONDS = 5.0
MAX_STALE_KEYS = 10_000
# One quick retry on a fresh connection, so that a pooled connection that Redis (restarted, or
# its idle time-out) closed costs no miss; a server that is down fails both at once.
DEFAULT_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
    "socket_timeout": SOCKET_TIMEOUT_SECONDS,
    "retry": Retry(NoBackoff(), 1),
}


class RedisUnavailable(Exception):
    """Redis did not answer (or is being left alone after it did not)."""


class Guard:
    """One process's view of whether Redis answers, and what it could not write meanwhile."""

    def __init__(self, client: RedisCacheClient, clock: Callable[[], float] = time.monotonic):
        self.client = client
        self.clock = clock
        self.lock = threading.Lock()
        self.down_until: float | None = None
        self.stale: set[str] = set()
        self.flush = False

    def run(self, command: Callable[[], T], stale: Iterable[str] = ()) -> T:
        """``command()``, or RedisUnavailable if Redis is down; the keys in ``stale`` are
        remembered as stale when it could not run."""
        try:
            recovering = self._recovering()
            if recovering:
                self._clean()
            result = command()
        except UNAVAILABLE as error:
            self._failed(error)
            self._remember(stale)
            raise RedisUnavailable(str(error)) from error
        except RedisUnavailable:
            self._remember(stale)
            raise
        if recovering:
            self._recovered()
        return result

    def _recovering(self) -> bool:
        """False while Redis answers; after an outage, RedisUnavailable while it is left alone,
        then True: time to try it again."""
        with self.lock:
            if self.down_until is None:
                return False
            if self.clock() < self.down_until:
                raise RedisUnavailable("Redis did not answer a moment ago")
            return True

    def _clean(self) -> None:
        """Delete what went stale during the outage (everything, past MAX_STALE_KEYS) before
        anything is read from Redis again."""
        with self.lock:
            stale, flush = list(self.stale), self.flush
        writer = self.client.get_client(write=True)
        if flush:
            writer.flushdb()
        for start in range(0, len(stale), 1000):
            writer.delete(*stale[start : start + 1000])
        with self.lock:
            self.stale.difference_update(stale)
            self.flush = self.flush and not flush

    def _recovered(self) -> None:
        """Say once that Redis answers again, unless keys went stale meanwhile (then the next
        call cleans them first)."""
        with self.lock:
            if self.down_until is None or self.stale or self.flush:
                return
            self.down_until = None
        log.warning("Redis answers again: the cache, and the rate counters, use it again.")

    def _failed(self, error: Exception) -> None:
        with self.lock:
            first = self.down_until is None
            self.down_until = self.clock() + RETRY_SECONDS
        if first:
            log.error(
                "Redis does not answer (%s: %s): the cache misses and the rate counters use the "
                "database until it does; trying again every %s s.",
                type(error).__name__,
                error,
                RETRY_SECONDS,
            )

    def _remember(self, keys: Iterable[str]) -> None:
        with self.lock:
            if self.flush:
                return
            self.stale.update(keys)
            if len(self.stale) > MAX_STALE_KEYS:
                self.stale, self.flush = set(), True


class GuardedClient(RedisCacheClient):
    """Django's Redis client, each command through the Guard: a read that cannot run is a miss,
    a write that cannot run is skipped and its key remembered as stale."""

    def __init__(self, servers, **options):
        super().__init__(servers, **{**DEFAULT_OPTIONS, **options})
        self.guard = Guard(self)

    def _read(self, command: Callable[[], T], default: T) -> T:
        try:
            return self.guard.run(command)
        except RedisUnavailable:
            return default

    def _write(self, command: Callable[[], T], keys: Iterable[str], default: T) -> T:
        try:
            return self.guard.run(command, stale=keys)
        except RedisUnavailable:
            return default

    def add(self, key, value, timeout):
        return self._write(partial(RedisCacheClient.add, self, key, value, timeout), [key], False)

    def get(self, key, default):
        return self._read(partial(RedisCacheClient.get, self, key, default), default)

    def set(self, key, value, timeout):
        self._write(partial(RedisCacheClient.set, self, key, value, timeout), [key], None)

    def touch(self, key, timeout):
        return self._write(partial(RedisCacheClient.touch, self, key, timeout), [key], False)

    def delete(self, key):
        return self._write(partial(RedisCacheClient.delete, self, key), [key], False)

    def get_many(self, keys):
        keys = list(keys)
        return self._read(partial(RedisCacheClient.get_many, self, keys), {})

    def has_key(self, key):
        return self._read(partial(RedisCacheClient.has_key, self, key), False)

    def incr(self, key, delta):
        try:
            return self.guard.run(partial(RedisCacheClient.incr, self, key, delta), [key])
        except RedisUnavailable:
            # As for a key that is not there: the caller's fallback for a miss.
            raise ValueError(f"Key '{key}' not found (Redis does not answer).") from None

    def set_many(self, data, timeout):
        self._write(partial(RedisCacheClient.set_many, self, data, timeout), data, None)

    def delete_many(self, keys):
        keys = list(keys)
        self._write(partial(RedisCacheClient.delete_many, self, keys), keys, None)

    def clear(self):
        try:
            return self.guard.run(partial(RedisCacheClient.clear, self))
        except RedisUnavailable:
            with self.guard.lock:
                self.guard.stale, self.guard.flush = set(), True
            return False


class RedisCache(DjangoRedisCache):
    """CACHES' backend for REDIS_URL: Django's, guarded (see the module's docstring)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = GuardedClient

    def execute(self, command: Callable[[Any], T]) -> T:
        """``command(client)`` with a redis-py client of the server, through the same guard;
        RedisUnavailable when Redis does not answer, for the caller to fall back."""
        client = self._cache
        return client.guard.run(lambda: command(client.get_client(write=True)))
