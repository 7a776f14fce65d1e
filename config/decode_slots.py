"""A host-wide bound on large image decodes: DECODE_SLOTS slot files, one ``flock`` each.

Every gunicorn worker on a host decodes photos, and a photo decoded at full size costs four
bytes a pixel (200 MB at 50 megapixels), in the worker or in the process it starts for the
decode (posts/isolated.py). This bounds how many such decodes run at once on the host, so that
a burst of large uploads costs a known amount of memory whatever the number of workers and
threads. A decode of at least DECODE_SLOT_MIN_PIXELS takes a free slot, polling for one for up
to DECODE_WAIT_SECONDS (none by default); if none frees it raises ``DecoderBusy``, which
``DecoderBusyMiddleware`` answers with a 429 and ``Retry-After``, and the page's script sends
the post again by itself.

Why slot files: a lock the kernel holds for an open file description is shared by every
process of the host and released when its holder closes the file or dies, so a worker killed
mid-decode (OOM, time-out) frees its slot. No server, no cleanup, no shared memory to set up.
"""

import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.errors import error_response

POLL_SECONDS = 0.05
BUSY_MESSAGE = (
    "Many photos are being processed right now, so yours waits its turn. Nothing is lost: "
    "it is sent again in a few seconds."
)


class DecoderBusy(Exception):
    """No decode slot freed within DECODE_WAIT_SECONDS."""


def slot_directory() -> Path:
    """Where the slot files live: DECODE_SLOT_DIR, or a folder of the system's temporary one."""
    configured = settings.DECODE_SLOT_DIR
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "instagram-decode"


@contextmanager
def decode_slot(*, pixels: int) -> Iterator[None]:
    """Hold one of the host's decode slots while a decode of ``pixels`` runs, if it is large.

    Raises DecoderBusy when every slot stays taken for DECODE_WAIT_SECONDS.
    """
    if pixels < settings.DECODE_SLOT_MIN_PIXELS:
        yield
        return
    held = _take(slot_directory(), settings.DECODE_SLOTS, settings.DECODE_WAIT_SECONDS)
    try:
        yield
    finally:
        os.close(held)  # releases the lock


def _take(directory: Path, slots: int, wait: float) -> int:
    """The descriptor of a slot file this process now holds locked."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        for number in range(slots):
            # A descriptor of its own each time: flock locks belong to an open file
            # description, and two threads sharing one would both "hold" the slot.
            descriptor = os.open(directory / f"slot-{number}", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue
            return descriptor
        if time.monotonic() >= deadline:
            raise DecoderBusy
        time.sleep(POLL_SECONDS)


class DecoderBusyMiddleware:
    """Answers DecoderBusy, wherever a photo is processed, with the site's 429 page (JSON for a
    script) and a Retry-After of DECODE_RETRY_AFTER_SECONDS: a 4xx, since the request was
    fine and only has to be sent again."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DecoderBusy):
            return None
        response = error_response(request, 429, BUSY_MESSAGE)
        response["Retry-After"] = str(settings.DECODE_RETRY_AFTER_SECONDS)
        return response
