"""gunicorn settings: ``gunicorn -c deploy/gunicorn.conf.py``, as deploy.sh and the unit run it.

On a host this file is read through the ``current`` symlink, and ``chdir`` names that symlink
rather than the release behind it: on HUP gunicorn re-reads this file, changes into ``current``
again and forks new workers there, so they import the release deploy.sh has just switched to.
Host-specific values come from the environment (``shared/host.env`` on a deployed host).
"""

import ctypes
import multiprocessing
import os
import socket
import struct
import subprocess
import sys

# The project directory as named, not resolved (abspath keeps symlinks): <dir>/current.
chdir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
wsgi_app = "config.wsgi"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Threads, so that a client that sends its headers and then nothing (or trickles its body)
# holds one thread, not a whole worker: without nginx in front, two such clients stalled both
# sync workers. Each thread keeps its own database connection (CONN_MAX_AGE), so a host holds
# at most workers x threads of them; photos are decoded one at a time per worker, large ones
# in a process of their own and one at a time per host (posts/forms.py, config/decode_slots.py).
# Four threads cost a worker no more memory than two: what grew with them was a boto3 session and
# client per thread (13 to 15 MB each), which the threads now share (config/storage.py). The
# burst of bench/run memory (five workers, fifty 48 MP photos at once) peaked at 647 and 648 MB
# of the app's PSS with four threads, 645 MB with two; two would only leave fewer threads for
# stalled clients and pages.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# Every response closes its connection, as sync workers' did, so a graceful reload never leaves
# a client holding a kept-alive connection to a worker that is going away.
keepalive = 0
# A client that sends or takes nothing for this long is dropped (see post_fork).
READ_TIMEOUT_SECONDS = int(os.environ.get("GUNICORN_READ_TIMEOUT", 15))
# The master restarts a worker whose main thread has been silent this long; with threads, a
# long request (photos are processed during it, posts/images.py) does not silence it.
timeout = 120
# Requests in flight get this long to finish when workers are replaced or stopped.
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
# Only workers import the app, never the master, so each HUP loads the code afresh. (Preloading
# would let the workers share their imported code, about 75 MB each, but a HUP would then fork
# workers of the old release: deploy.sh's switch to a new one relies on this.)
preload_app = False
# No control socket in ~/.gunicorn: two gunicorns on one host would fight over it.
control_socket_disable = True

# Loads the settings as a worker would, in a process of its own: the master must not import the
# app, or workers forked after a HUP would inherit the old release's modules.
CONFIGURATION_CHECK = """
from config.secrets import errors_in_one_line
with errors_in_one_line():
    import config.settings
"""


def on_starting(server):
    """Stop before any worker starts if the configuration is wrong, with the one line that says
    what to fix (config/secrets.py), rather than a traceback from every worker."""
    # The interpreter running gunicorn and our own fixed script: nothing untrusted.
    command = [sys.executable, "-c", CONFIGURATION_CHECK]
    check = subprocess.run(command, cwd=chdir, check=False)  # noqa: S603
    if check.returncode:
        server.halt(reason="The configuration has a mistake (see above).", exit_status=1)


# After a request that carried a file (an upload), glibc's freed memory goes back to the system:
# a worker kept 19 MB more after 20 s of uploads and pages, 1 MB with this. malloc_trim walks
# the whole heap (about 5 ms), too slow to run after every page.
TRIM_AFTER_BODY_BYTES = 64 * 1024
# glibc gives threads that allocate at once arenas of their own (up to eight per core) and keeps
# what each has held: in a burst of uploads a worker's four threads kept up to 57 MB more. Two
# arenas measured no worse than one (bench/run memory), with less waiting for a lock.
MALLOC_ARENAS = int(os.environ.get("GUNICORN_MALLOC_ARENAS", 2))
_M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)


try:
    _libc = ctypes.CDLL("libc.so.6")
    _malloc_trim, _mallopt = _libc.malloc_trim, _libc.mallopt
except (OSError, AttributeError):
    _malloc_trim = _mallopt = None  # not glibc: its allocator has neither


def post_fork(server, worker):
    """Bound every read from and write to a client: SO_RCVTIMEO and SO_SNDTIMEO on the listening
    sockets, which the sockets of accepted connections inherit (Linux). A stalled read then
    fails with EAGAIN and the thread is freed; gunicorn has no setting of its own for this.
    Then bound glibc's arenas, before the worker starts its threads."""
    if _mallopt is not None:
        _mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    timeout = struct.pack("ll", READ_TIMEOUT_SECONDS, 0)
    for listener in worker.sockets:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeout)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeout)


def post_request(worker, req, environ, resp):
    """Hand back what an upload's request left in glibc's free lists (see above)."""
    length = environ.get("CONTENT_LENGTH") or ""
    if _malloc_trim is not None and length.isdigit() and int(length) >= TRIM_AFTER_BODY_BYTES:
        _malloc_trim(0)
