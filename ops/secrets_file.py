"""Read and update the secrets file (secrets.json), which only its owner may read (mode 600)."""

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def secrets_read(path: Path) -> dict[str, Any]:
    """The file's settings, or nothing when there is no file yet."""
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def secrets_write(path: Path, updates: dict[str, Any]) -> None:
    """Set ``updates`` in the file, keeping its other keys; the file is replaced atomically and
    never readable by others, not even for a moment."""
    data = {**secrets_read(path), **updates}
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
