"""REDIS_URL: the cache, sessions and rate counters in a real redis-server, and what a member
notices when it stops mid-run: nothing but speed."""

import importlib
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client, override_settings

from config import cache as redis_cache_module
from config import ratelimit
from config.models import RateCounter
from config.secrets import Secrets
from tests import factories
from tests.conftest import redis_settings
from tests.redisserver import RedisServer
from tests.servers import Browser, gunicorn, production_secrets, project_copy

HOUR = timedelta(hours=1)
CACHED_DB = "django.contrib.sessions.backends.cached_db"


def secrets(**data) -> Secrets:
    return Secrets(Path("secrets.json"), data, {})


# Settings.


def test_without_redis_url_the_database_keeps_the_cache_and_sessions():
    assert secrets().caches()["default"]["BACKEND"] == (
        "django.core.cache.backends.db.DatabaseCache"
    )
    assert secrets().session_engine() == "django.contrib.sessions.backends.db"


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "rediss://master.instagram.abc123.apne2.cache.amazonaws.com:6379",
        "redis://:a-password@cache.internal:6380/2",
    ],
)
def test_a_redis_url_puts_the_cache_and_sessions_in_redis(url):
    assert secrets(REDIS_URL=url).caches() == {
        "default": {"BACKEND": "config.cache.RedisCache", "LOCATION": url}
    }
    assert secrets(REDIS_URL=url).session_engine() == CACHED_DB


def test_the_environment_wins_over_the_file_for_redis_url():
    both = Secrets(
        Path("secrets.json"), {"REDIS_URL": "redis://file:6379"}, {"REDIS_URL": "redis://env:1"}
    )
    assert both.caches()["default"]["LOCATION"] == "redis://env:1"


@pytest.mark.parametrize(
    "url",
    [
        "http://:sekrit-password@cache.internal:6379",
        "redis://:sekrit-password@cache.internal:port/0",
        "redis://:sekrit-password@cache.internal:6379/zero",
        "redis:///0",
    ],
)
def test_a_wrong_redis_url_stops_start_up_naming_the_key_but_not_the_password(url):
    with pytest.raises(ImproperlyConfigured, match="key 'REDIS_URL' must look like") as error:
        secrets(REDIS_URL=url).caches()
    assert "sekrit" not in str(error.value)


@pytest.mark.django_db
def test_a_site_migrated_on_redis_still_gets_the_cache_table_to_fall_back_to(redis_cache):
    # Started with REDIS_URL, whose CACHES name no table; REDIS_URL dropped later must work.
    migration = importlib.import_module("config.migrations.0001_cache_table")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE django_cache")

    with connection.schema_editor() as editor:
        migration.cache_table_create(None, editor)

    assert "django_cache" in connection.introspection.table_names()


# The cache and sessions in Redis.


def test_the_cache_is_shared_through_redis(redis_cache):
    cache.set("greeting", {"hello": "world"}, 60)

    assert cache.get("greeting") == {"hello": "world"}
    assert cache.get_many(["greeting", "missing"]) == {"greeting": {"hello": "world"}}
    assert redis_cache.client().exists(cache.make_key("greeting"))


@pytest.mark.django_db
def test_a_session_is_read_from_redis_and_kept_in_the_database(redis_cache, owner):
    client = Client()
    client.force_login(owner)

    page = client.get("/accounts/edit/")

    assert page.status_code == 200
    key = client.session.session_key
    assert Session.objects.filter(session_key=key).exists()
    assert redis_cache.client().exists(cache.make_key(f"django.contrib.sessions.cached_db{key}"))


# Rate counters in Redis.


@pytest.mark.django_db
def test_rate_counters_live_in_redis_not_in_the_database(redis_cache):
    results = [ratelimit.hit("test", "198.51.100.7", limit=2, window=HOUR) for _ in range(3)]

    assert [result.allowed for result in results] == [True, True, False]
    assert results[2].retry_after > 0
    assert not RateCounter.objects.exists()
    assert redis_cache.client().keys("ratelimit:test:*")


@pytest.mark.django_db
def test_a_refusal_of_one_limit_gives_back_the_counts_of_the_others(redis_cache, client, owner):
    # After five wrong passwords the per-account-and-address limit refuses; the address's
    # limit (50 over all accounts) had counted those tries before it, and must give them back.
    for _ in range(7):
        client.post("/accounts/login/", {"username": owner.username, "password": "wrong"})
    redis = redis_cache.client()
    [address_key] = redis.keys("ratelimit:password.address:*")
    assert [int(count) for count in redis.hvals(address_key)] == [5]


# Redis stopping mid-run.


@pytest.fixture
def own_redis(tmp_path, monkeypatch) -> RedisServer:
    """A redis-server of this test's own, to stop and start; the app uses it, and retries it
    a tenth of a second after it failed to answer (5 s in production)."""
    server = RedisServer(tmp_path).start()
    monkeypatch.setattr(redis_cache_module, "RETRY_SECONDS", 0.1)
    with override_settings(**redis_settings(server.url)):
        yield server
    server.stop()


def outage_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == redis_cache_module.__name__]


@pytest.mark.django_db
def test_pages_answer_and_members_stay_logged_in_when_redis_stops(own_redis, owner, caplog):
    client = Client()
    client.force_login(owner)
    assert client.get("/accounts/edit/").status_code == 200

    own_redis.stop()
    with caplog.at_level(logging.WARNING, logger=redis_cache_module.__name__):
        pages = []
        for path in ("/accounts/edit/", "/", "/explore/", "/"):
            pages.append(client.get(path))
            threading.Event().wait(0.15)  # past RETRY_SECONDS: Redis is tried again each time

    assert [page.status_code for page in pages] == [200] * 4
    assert all(page.wsgi_request.user == owner for page in pages)
    assert "olivia@example.com" in pages[0].content.decode()
    [line] = outage_lines(caplog)
    assert line.startswith("Redis does not answer (ConnectionError")


@pytest.mark.django_db
def test_the_cache_misses_while_redis_is_down_and_works_again_after(own_redis, caplog):
    caplog.set_level(logging.WARNING, logger=redis_cache_module.__name__)
    cache.set("card", "before", 60)
    own_redis.stop()

    assert cache.get("card") is None
    threading.Event().wait(0.15)  # past RETRY_SECONDS: tried again, and still down
    assert cache.get_many(["card"]) == {}
    cache.set("card", "during", 60)  # skipped, not an error
    assert cache.add("other", 1) is False
    own_redis.start()
    threading.Event().wait(0.2)  # past RETRY_SECONDS

    cache.set("card", "after", 60)

    assert cache.get("card") == "after"
    down, back = outage_lines(caplog)  # once each, however many calls met the outage
    assert down.startswith("Redis does not answer (ConnectionError")
    assert back == "Redis answers again: the cache, and the rate counters, use it again."


@pytest.mark.django_db
def test_a_member_logged_out_while_redis_hung_stays_logged_out(own_redis, owner):
    # Paused, not stopped: Redis keeps the session's cached copy, which the log-out could not
    # delete. Pages answer meanwhile, and the copy must not log the member back in when Redis
    # answers again.
    client = Client()
    client.force_login(owner)
    assert client.get("/accounts/edit/").status_code == 200
    cookie = client.cookies["sessionid"].value

    own_redis.client().execute_command("CLIENT", "PAUSE", "4000", "ALL")
    started = time.monotonic()
    logged_out = client.post("/accounts/logout/")
    page = Client().get("/explore/")
    hung_for = time.monotonic() - started
    # Redis answers again after 4 s, with the session's old copy still in it.
    threading.Event().wait(4.1 - hung_for)

    # The socket time-outs (0.5 s, one retry), then the guard, keep pages from waiting on it.
    assert (logged_out.status_code, page.status_code) == (302, 200)
    assert hung_for < 3

    returning = Client()
    returning.cookies["sessionid"] = cookie
    page = returning.get("/accounts/edit/")
    assert page.status_code == 302
    assert "/accounts/login/" in page["Location"]


@pytest.mark.django_db
def test_a_full_redis_skips_writes_and_pages_still_answer(own_redis, owner):
    full = own_redis.client()
    full.config_set("maxmemory-policy", "noeviction")
    full.config_set("maxmemory", "1")  # below what it uses: every write is refused (OOM)
    client = Client()
    client.force_login(owner)

    cache.set("card", "x", 60)

    assert cache.get("card") is None
    assert client.get("/accounts/edit/").status_code == 200


@pytest.mark.django_db
def test_rate_counters_fall_back_to_the_database_while_redis_is_down(own_redis):
    assert ratelimit.hit("test", "key", limit=2, window=HOUR).allowed
    own_redis.stop()

    during = [ratelimit.hit("test", "key", limit=2, window=HOUR).allowed for _ in range(3)]

    assert during == [True, True, False]
    assert RateCounter.objects.get(scope="test").count == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_server_on_redis_keeps_its_members_logged_in_when_redis_stops(
    tmp_path, s3_secrets, bucket
):
    redis_server = RedisServer(tmp_path).start()
    factories.server_user(username="olivia")
    config = {**production_secrets(s3_secrets), "REDIS_URL": redis_server.url}
    try:
        with gunicorn(project_copy(tmp_path / "app"), config) as url:
            browser = Browser(url)
            browser.submit(
                "/accounts/login/", {"username": "olivia", "password": factories.PASSWORD}
            )
            assert "olivia@example.com" in browser.page("/accounts/edit/").text
            assert redis_server.client().keys("*cached_db*")

            redis_server.stop()
            pages = [browser.get(url + path, timeout=10) for path in ["/accounts/edit/", "/"] * 3]
    finally:
        redis_server.stop()

    assert [page.status_code for page in pages] == [200] * 6
    assert "olivia@example.com" in pages[0].text
    log = (tmp_path / "app" / "gunicorn.log").read_text()
    assert "Redis does not answer" in log
    assert "Traceback" not in log
