"""Work left for after a response: run once the response is closed, in a thread of its own;
at once outside a request; a failure logged without the task's arguments."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from config.after_response import after_response
from tests.mailserver import after_response_done


@contextmanager
def signals_only() -> Iterator[None]:
    """Send the request signals as Django's test client does: without Django's own receiver
    that closes database connections, which a test's worker may hold."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def test_outside_a_request_a_task_runs_at_once():
    ran = []
    after_response(lambda: ran.append(threading.current_thread()))
    assert ran == [threading.current_thread()]


def test_in_a_request_tasks_wait_for_the_response_to_close_then_run_in_order_elsewhere():
    ran = []
    with signals_only():
        request_started.send(sender=None)
        after_response(lambda: ran.append(("first", threading.current_thread())))
        after_response(lambda: ran.append(("second", threading.current_thread())))
        assert ran == []
        request_finished.send(sender=None)
    after_response_done()
    assert [name for name, _ in ran] == ["first", "second"]
    assert {thread for _, thread in ran} != {threading.current_thread()}


def test_a_failed_task_is_logged_without_its_arguments_and_the_next_still_runs(caplog):
    ran = []

    def fails(link: str) -> None:
        raise RuntimeError("no server")

    link = "https://example.com/secret-token/"  # a traceback shows lines of code, not values
    with signals_only(), caplog.at_level(logging.ERROR, logger="config.after_response"):
        request_started.send(sender=None)
        after_response(lambda: fails(link))
        after_response(lambda: ran.append(True))
        request_finished.send(sender=None)
        after_response_done()
    assert ran == [True]
    assert "Work left for after a response failed" in caplog.text
    assert "RuntimeError: no server" in caplog.text
    assert "secret-token" not in caplog.text
