"""Work a request leaves for after its response is sent: ``after_response(task)``.

Why: how long an answer takes must not depend on work whose presence is a secret. A password
reset mails only an account that exists; sent during the request, the mail's fraction of a
second would tell anyone timing the answer whether the account does
(members.services.password_reset_request).

How: Django sends ``request_started`` as a request comes in and ``request_finished`` when the
WSGI server closes the response, once its last byte is written. Tasks queued in between (in
the request's thread) then run in a thread of their own, so that neither the answer nor the
closing of its connection waits for them. Outside a request (a management command, the shell,
a service called directly), a task runs at once. A failed task is logged: nobody is left to
tell.
"""

import logging
import threading
from collections.abc import Callable

from django.core.signals import request_finished, request_started
from django.db import connections

# The name of the threads that run tasks; tests wait for them by it.
THREAD_NAME = "after-response"

logger = logging.getLogger(__name__)
_local = threading.local()


def after_response(task: Callable[[], None]) -> None:
    """Run ``task`` once this thread's current request has its response sent; with no request
    in progress, now."""
    pending = getattr(_local, "pending", None)
    if pending is None:
        task()
    else:
        pending.append(task)


def listen() -> None:
    """Follow requests' starts and ends (SiteConfig.ready)."""
    request_started.connect(_request_started, dispatch_uid="after_response_started")
    request_finished.connect(_request_finished, dispatch_uid="after_response_finished")


def _request_started(**kwargs) -> None:
    _local.pending = []


def _request_finished(**kwargs) -> None:
    pending, _local.pending = getattr(_local, "pending", None), None
    if pending:
        threading.Thread(target=_run, args=(pending,), name=THREAD_NAME).start()


def _run(tasks: list[Callable[[], None]]) -> None:
    try:
        for task in tasks:
            try:
                task()
            except Exception:
                # Not the task itself: its arguments may hold a one-time link or an address.
                logger.exception("Work left for after a response failed")
    finally:
        connections.close_all()  # this thread's own, if a task opened one
