"""Run a large decode in a short-lived process of its own: ``python -m posts.isolated NAME``.

A photo decoded at full size (PNG, GIF, HEIC, a lossless WebP) holds four bytes a pixel at
once: 200 MB at 50 megapixels, on top of a gunicorn worker of about 90 MB. In a fresh
interpreter that imports only the image pipeline (about 25 MB), the same decode peaks under
250 MB, the worker itself does not grow, and every byte of the decode goes back to the system
when the process ends, whatever the allocator would have kept. A decoder
that crashes on a hostile file takes only this process with it; the upload is refused as
damaged. The upload is the child's standard input: its file on disk when Django spooled it
there (so neither process holds its bytes), else a pipe; the parent reads the renditions back,
pickled, on standard output; nothing but this module's own output is unpickled.
"""

import logging
import pickle
import subprocess
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TypeVar

from posts import images

T = TypeVar("T")

logger = logging.getLogger(__name__)

# The pipeline's entry points a child may run, by name.
PROCESSES: dict[str, Callable[[images.Source], object]] = {
    "post_renditions": images.post_renditions,
    "avatar_rendition": images.avatar_rendition,
}
# Longer than any decode the limits allow takes on a busy small server.
TIMEOUT_SECONDS = 120
_ROOT = Path(__file__).resolve().parents[1]


def run_isolated(process: Callable[[images.Source], T], upload: images.Source) -> T:
    """``process(upload)`` computed in a child process; ImageError as ``process`` would raise
    it, or as damaged when the child dies or fails.

    An upload Django spooled to disk (``temporary_file_path``) is opened afresh as the child's
    standard input, which decodes from the file; the worker reads none of it. Other uploads are
    sent through a pipe.
    """
    name = process.__name__
    if PROCESSES.get(name) is not process:
        raise ValueError(f"{name} is not a pipeline entry point a child may run")
    command = [sys.executable, "-m", "posts.isolated", name]
    spooled = getattr(upload, "temporary_file_path", None)
    with open(spooled(), "rb") if spooled else nullcontext() as file:
        sent = None if file else _bytes(upload)
        try:
            # Our own interpreter and module, with a name checked above.
            child = subprocess.run(  # noqa: S603
                command,
                stdin=file,
                input=sent,
                capture_output=True,
                cwd=_ROOT,
                timeout=TIMEOUT_SECONDS,
            )
            outcome, value = pickle.loads(child.stdout)  # noqa: S301 (our own child's output)
        except (subprocess.TimeoutExpired, pickle.UnpicklingError, EOFError, ValueError) as error:
            logger.warning("Isolated decode failed: %s", error)
            raise images.ImageError(images.DAMAGED) from None
    if outcome == "refused":
        raise images.ImageError(value)
    return value


def _bytes(upload: images.Source) -> bytes:
    """The whole upload, for the pipe."""
    if isinstance(upload, bytes):
        return upload
    upload.seek(0)
    return upload.read()


def _main() -> None:
    process = PROCESSES[sys.argv[1]]
    stdin = sys.stdin.buffer
    # An upload on disk is decoded from the file itself, a block at a time; one in the worker's
    # memory arrives through a pipe, and is read whole.
    source = stdin if stdin.seekable() else stdin.read()
    try:
        answer = ("done", process(source))
    except images.ImageError as error:
        answer = ("refused", str(error))
    sys.stdout.buffer.write(pickle.dumps(answer))


if __name__ == "__main__":
    _main()
