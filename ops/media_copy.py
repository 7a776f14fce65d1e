"""Copy a local media/ folder into the S3 media storage under the same names.

Rows name their files relative to media/ (``posts/ab12.jpg``) and the S3 storage keeps the same
name under its location (``media/posts/ab12.jpg``), so existing rows keep working unchanged.
Each object is one PUT, which S3 applies whole or not at all, and a file already there with the
same size and MD5 (the ETag of a single-part upload) is skipped: an interrupted run is simply
run again.
"""

import base64
import hashlib
import mimetypes
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import Storage

CHUNK = 1024 * 1024


@dataclass
class CopyResult:
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False


def media_copy(
    *, root: Path, storage: Storage, dry_run: bool = False, report: Callable[[str], None] = print
) -> CopyResult:
    """Copy every file under ``root`` into ``storage`` (S3); report each file as it goes.

    Ctrl-C stops after the file in flight and is recorded in the result, not raised.
    """
    client = storage.connection.meta.client
    prefix = f"{storage.location}/" if storage.location else ""
    there = _objects(client, storage.bucket_name, prefix)
    files = sorted(_files(root))
    result = CopyResult()
    try:
        for number, name in enumerate(files, 1):
            progress = f"[{number}/{len(files)}]"
            path = root / name
            try:
                size = path.stat().st_size
                md5 = _md5(path)
                if there.get(prefix + name) == (size, md5.hex()):
                    result.skipped += 1
                    report(f"{progress} skipped {name} (already there)")
                    continue
                if not dry_run:
                    _put(client, storage, prefix + name, path, md5)
            except (OSError, ValueError, ClientError, BotoCoreError) as exc:
                result.failed.append((name, _reason(exc)))
                report(f"{progress} FAILED {name}: {_reason(exc)}")
                continue
            result.copied += 1
            result.copied_bytes += size
            report(f"{progress} {'would copy' if dry_run else 'copied'} {name} ({size:,} bytes)")
    except KeyboardInterrupt:
        result.interrupted = True
    return result


def _files(root: Path) -> Iterator[str]:
    """Names of the files under ``root``, relative, with '/' as storage names have."""
    for folder, _, filenames in os.walk(root):
        for filename in filenames:
            yield (Path(folder) / filename).relative_to(root).as_posix()


def _objects(client, bucket: str, prefix: str) -> dict[str, tuple[int, str]]:
    """Size and ETag of every object under ``prefix``: one request per thousand objects."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {
        item["Key"]: (item["Size"], item["ETag"].strip('"'))
        for page in pages
        for item in page.get("Contents", [])
    }


def _md5(path: Path) -> bytes:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.digest()


def _put(client, storage: Storage, key: str, path: Path, md5: bytes) -> None:
    """One single-part PUT, with the headers the storage gives its own objects; S3 checks the
    body against Content-MD5, so a file changed while being read is refused, not stored."""
    with path.open("rb") as body:
        client.put_object(
            Bucket=storage.bucket_name,
            Key=key,
            Body=body,
            ContentMD5=base64.b64encode(md5).decode(),
            ContentType=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            **storage.get_object_parameters(key),
        )


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
