"""The shared rate-limit counter: atomic, sliding, any key, pruned; in the database, or in
Redis with REDIS_URL (the same behaviour, each test run against both)."""

import hashlib
import json
import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.db import connections
from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from config import ratelimit
from config.models import RateCounter

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
# A moment at the start of an hour-long window, so tests can walk through it.
START = 1_800_000_000.0


@pytest.fixture
def at(monkeypatch):
    """Set the counter's clock to START plus the given seconds."""

    def move(seconds: float) -> None:
        monkeypatch.setattr(ratelimit, "clock", lambda: START + seconds)

    move(0)
    return move


@pytest.fixture(params=["database", "redis"])
def store(request) -> str:
    """Where the counters live: the database, or Redis (as with REDIS_URL)."""
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    return request.param


def counted(store: str, key: str, scope: str = "test") -> int:
    """How many events are counted for ``key`` in ``scope``, in the current window."""
    if store == "database":
        return RateCounter.objects.get(scope=scope, label=key).count
    digest = hashlib.sha256(key.encode()).hexdigest()
    counts = caches["default"].execute(lambda redis: redis.hvals(f"ratelimit:{scope}:{digest}"))
    return max(int(count) for count in counts)


def hits(times: int, key: str = "198.51.100.7", limit: int = 3) -> list[bool]:
    return [ratelimit.hit("test", key, limit=limit, window=HOUR).allowed for _ in range(times)]


def test_it_allows_the_limit_and_refuses_the_rest(at, store):
    assert hits(5) == [True, True, True, False, False]
    assert hits(1, key="198.51.100.8") == [True]
    assert counted(store, "198.51.100.7") == 3  # refusals are not counted


def test_a_burst_across_the_end_of_a_window_is_still_limited(at, store):
    at(3599)
    assert hits(3) == [True] * 3
    at(3601)  # a new window, but the last one's three are almost all still recent
    assert hits(1) == [False]
    at(3600 + 1800)  # half the last window still overlaps: 1.5 earlier events count
    assert hits(2) == [True, False]
    at(7200)
    assert hits(3) == [True, True, False]


def test_a_refusal_says_when_to_come_back(at, store):
    hits(3)
    at(600)
    refused = ratelimit.hit("test", "198.51.100.7", limit=3, window=HOUR)
    # Full now; after the window ends the three count for less and less: room for one more
    # once a third of the next window has passed.
    assert refused.retry_after == 3600 - 600 + 1200
    assert refused.minutes == 70
    at(600 + refused.retry_after - 1)
    assert hits(1) == [False]
    at(600 + refused.retry_after)
    assert hits(1) == [True]


def test_a_refunded_event_no_longer_counts(at, store):
    hits(2)
    counted = ratelimit.hit("test", "198.51.100.7", limit=3, window=HOUR)
    ratelimit.refund(counted)
    assert hits(2) == [True, False]


def test_reset_forgets_a_key(at, store):
    hits(3)
    hits(3, key="other")
    ratelimit.reset("test", "198.51.100.7")
    assert hits(1) == [True]
    assert hits(1, key="other") == [False]


@pytest.mark.django_db(transaction=True)  # as in a view: autocommit, no test transaction
def test_a_new_window_deletes_counters_too_old_to_matter(at):
    hits(1, key="old")
    at(3600)
    hits(1, key="recent")
    at(7200)  # "old" has expired: its window and the next are over
    hits(1, key="new")
    assert sorted(RateCounter.objects.values_list("label", flat=True)) == ["new", "recent"]


@settings(max_examples=40, deadline=None)
@given(keys=st.lists(st.text(max_size=300), min_size=1, max_size=4, unique=True))
def test_any_text_is_a_key_of_its_own(keys):  # the digest is the same for either store
    scope = f"prop-{threading.get_ident()}-{hash(tuple(keys))}"
    for key in keys:
        assert ratelimit.hit(scope, key, limit=1, window=HOUR).allowed
    for key in keys:
        assert not ratelimit.hit(scope, key, limit=1, window=HOUR).allowed


@pytest.mark.django_db(transaction=True)
def test_simultaneous_hits_never_pass_the_limit(store):
    start = threading.Barrier(20)
    allowed = []

    def one():
        try:
            start.wait(timeout=30)
            allowed.append(ratelimit.hit("race", "key", limit=5, window=HOUR).allowed)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 5
    assert counted(store, "key", scope="race") == 5


@pytest.mark.parametrize(
    ("headers", "wants_json"),
    [
        ({}, False),
        ({"HTTP_ACCEPT": "text/html"}, False),
        ({"HTTP_ACCEPT": "application/json"}, True),
        ({"HTTP_X_REQUESTED_WITH": "fetch"}, True),
    ],
)
def test_too_many_requests_answers_a_page_or_json(headers, wants_json):
    request = RequestFactory().post("/", **headers)
    request.user = AnonymousUser()
    response = ratelimit.too_many_requests(request, message="Too many <things>.", retry_after=90)
    assert response.status_code == 429
    assert response["Retry-After"] == "90"
    if wants_json:
        assert json.loads(response.content) == {"error": "Too many <things>."}
    else:
        assert "Too many &lt;things&gt;." in response.content.decode()


def test_a_refused_hit_answers_429_with_its_wait_in_the_message_and_header(store, at):
    ratelimit.hit("answer", "key", limit=1, window=HOUR)
    at(20 * 60)
    refused = ratelimit.hit("answer", "key", limit=1, window=HOUR)
    request = RequestFactory().post("/", HTTP_ACCEPT="application/json")
    request.user = AnonymousUser()
    response = refused.answer(request, "Slow down: wait {minutes} minutes.")
    assert response.status_code == 429
    # The window slides: the event (at minute 0) weighs on the limit until minute 120.
    assert response["Retry-After"] == str(100 * 60)
    assert json.loads(response.content) == {"error": "Slow down: wait 100 minutes."}


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", True),  # one /64: one client
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
        ("::ffff:198.51.100.7", "198.51.100.7", True),
        ("198.51.100.7", "198.51.100.8", False),
    ],
)
def test_an_ipv6_client_counts_as_its_whole_64(one, other, same):
    def key(address):
        return ratelimit.client_key(RequestFactory().get("/", REMOTE_ADDR=address))

    assert (key(one) == key(other)) is same
