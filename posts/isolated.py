"""Run a large decode in a short-lived process of its own: ``python -m posts.isolated NAME``.

A photo decoded at full size (PNG, GIF, HEIC, a lossless WebP) holds four bytes a pixel at
once: 200 MB at 50 megapixels, on top of a gunicorn worker of about 90 MB. In a fresh
interpreter that imports only the image pipeline (about 25 MB), the same decode peaks under
300 MB, the worker itself grows only by the upload's bytes, and every byte of the decode goes
back to the system when the process ends, whatever the allocator would have kept. A decoder
that crashes on a hostile file takes only this process with it; the upload is refused as
damaged. The parent sends the upload on standard input and reads the renditions back, pickled,
on standard output; nothing but this module's own output is unpickled.
"""

import logging
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from posts import images

T = TypeVar("T")

logger = logging.getLogger(__name__)

# The pipeline's entry points a child may run, by name.
PROCESSES: dict[str, Callable[[bytes], object]] = {
    "post_renditions": images.post_renditions,
    "avatar_rendition": images.avatar_rendition,
}
# Longer than any decode the limits allow takes on a busy small server.
TIMEOUT_SECONDS = 120
_ROOT = Path(__file__).resolve().parents[1]


def run_isolated(process: Callable[[bytes], T], data: bytes) -> T:
    """``process(data)`` computed in a child process; ImageError as ``process`` would raise it,
    or as damaged when the child dies or fails."""
    name = process.__name__
    if PROCESSES.get(name) is not process:
        raise ValueError(f"{name} is not a pipeline entry point a child may run")
    command = [sys.executable, "-m", "posts.isolated", name]
    try:
        # Our own interpreter and module, with a name checked above.
        child = subprocess.run(  # noqa: S603
            command, input=data, capture_output=True, cwd=_ROOT, timeout=TIMEOUT_SECONDS
        )
        outcome, value = pickle.loads(child.stdout)  # noqa: S301 (our own child's output)
    except (subprocess.TimeoutExpired, pickle.UnpicklingError, EOFError, ValueError) as error:
        logger.warning("Isolated decode failed: %s", error)
        raise images.ImageError(images.DAMAGED) from None
    if outcome == "refused":
        raise images.ImageError(value)
    return value


def _main() -> None:
    process = PROCESSES[sys.argv[1]]
    data = sys.stdin.buffer.read()
    try:
        answer = ("done", process(data))
    except images.ImageError as error:
        answer = ("refused", str(error))
    sys.stdout.buffer.write(pickle.dumps(answer))


if __name__ == "__main__":
    _main()
