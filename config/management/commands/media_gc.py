"""``python manage.py media_gc``: list, and with ``--delete`` remove, media no row names.

Objects are written before the rows that name them and deleted after those rows are gone
(config/media.py); a deletion that fails (S3 unreachable at that moment) or a process that dies
in between leaves an object nothing references. This lists every object under the media
storage (``media/`` in the S3 bucket, or MEDIA_ROOT) that no FileField of any installed model
names and that is older than a grace period, so an upload whose row is not yet committed is
never taken for an orphan. It deletes them only when asked to.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.apps import apps
from django.core.exceptions import SuspiciousOperation
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import models
from django.utils import timezone
from storages.backends.s3 import S3Storage
from storages.utils import clean_name, safe_join

DEFAULT_GRACE_HOURS = 24.0
DELETE_BATCH = 1000  # the most keys one S3 DeleteObjects request takes


@dataclass(frozen=True)
class StoredObject:
    """One object as a listing shows it."""

    key: str  # the S3 key, or the path under MEDIA_ROOT
    size: int
    modified: datetime


class S3Media:
    """The objects under the storage's location in its bucket, listed a page at a time."""

    def __init__(self, storage: S3Storage):
        self.storage = storage
        self.client = storage.connection.meta.client
        location = storage.location.strip("/")
        self.prefix = f"{location}/" if location else ""
        self.where = f"s3://{storage.bucket_name}/{self.prefix}"

    def key(self, name: str) -> str:
        """The key the storage gives the file ``name``, as its own ``_normalize_name`` does."""
        try:
            return safe_join(self.storage.location, clean_name(name))
        except ValueError:
            raise SuspiciousOperation(f"{name!r} is outside the media location") from None

    def objects(self) -> Iterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.storage.bucket_name, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield StoredObject(item["Key"], item["Size"], item["LastModified"])

    def delete(self, keys: list[str]) -> dict[str, str]:
        """Delete ``keys`` (at most DELETE_BATCH); return the ones that failed, with why.

        A request that fails as a whole (S3 unreachable, answering 500) fails every key in it,
        so the run still names them and ends with its summary instead of a traceback."""
        try:
            response = self.client.delete_objects(
                Bucket=self.storage.bucket_name,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
            )
        except (BotoCoreError, ClientError) as exc:
            return dict.fromkeys(keys, str(exc))
        return {e["Key"]: f"{e['Code']}: {e['Message']}" for e in response.get("Errors", [])}


class LocalMedia:
    """The files under MEDIA_ROOT (the storage's location)."""

    def __init__(self, storage: FileSystemStorage):
        self.storage = storage
        self.root = Path(storage.location)
        self.where = str(self.root)

    def key(self, name: str) -> str:
        """The path of the file ``name`` under the root, with forward slashes (the storage
        raises SuspiciousFileOperation for a name outside it)."""
        return Path(self.storage.path(name)).relative_to(self.root).as_posix()

    def objects(self) -> Iterator[StoredObject]:
        for directory, _, files in os.walk(self.root):
            for file in files:
                path = Path(directory, file)
                stat = path.lstat()
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                yield StoredObject(path.relative_to(self.root).as_posix(), stat.st_size, modified)

    def delete(self, keys: list[str]) -> dict[str, str]:
        failed = {}
        for key in keys:
            try:
                (self.root / key).unlink()
            except FileNotFoundError:
                pass  # gone already: what we wanted
            except OSError as exc:
                failed[key] = str(exc)
        return failed


def referenced_names() -> set[str]:
    """Every file name a FileField (ImageField included) of any installed model holds."""
    names: set[str] = set()
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        for model_field in model._meta.local_concrete_fields:
            if isinstance(model_field, models.FileField):
                column = model_field.attname
                # "> ''" leaves out both NULL and the empty name of a field with no file.
                rows = model._base_manager.filter(**{f"{column}__gt": ""})
                names.update(rows.values_list(column, flat=True).iterator())
    return names


def media_for(storage) -> S3Media | LocalMedia:
    if isinstance(storage, S3Storage):
        return S3Media(storage)
    if isinstance(storage, FileSystemStorage):
        return LocalMedia(storage)
    raise CommandError(f"media_gc cannot list a {storage.__class__.__name__}.")


@dataclass
class Tally:
    """What one run found and did."""

    objects: int = 0
    bytes: int = 0
    referenced: int = 0
    fresh: int = 0
    orphans: int = 0
    orphan_bytes: int = 0
    deleted: int = 0
    deleted_bytes: int = 0
    failed: dict[str, str] = field(default_factory=dict)


class Command(BaseCommand):
    help = (
        "List stored media that no row references and that is older than the grace period; "
        "delete it with --delete."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--delete", action="store_true", help="Delete the orphans (default: only list them)."
        )
        parser.add_argument(
            "--grace-hours",
            type=float,
            default=DEFAULT_GRACE_HOURS,
            help=f"Keep unreferenced objects younger than this (default {DEFAULT_GRACE_HOURS:g}); "
            "0 takes every unreferenced object, for a site that is idle.",
        )

    def handle(self, *args, delete: bool, grace_hours: float, **options) -> None:
        if grace_hours < 0:
            raise CommandError("--grace-hours must be 0 or more.")
        media = media_for(default_storage)
        # Fixed before the rows are read, so an object written after that is always fresh.
        cutoff = timezone.now() - timedelta(hours=grace_hours)
        referenced = _keys(media, referenced_names())
        tally = Tally()
        batch: dict[str, int] = {}
        for stored in media.objects():
            tally.objects += 1
            tally.bytes += stored.size
            if stored.key in referenced:
                tally.referenced += 1
                continue
            if stored.modified > cutoff:
                tally.fresh += 1
                continue
            tally.orphans += 1
            tally.orphan_bytes += stored.size
            self.stdout.write(
                f"{'Deleting' if delete else 'Orphan'} {stored.key} ({stored.size:,} bytes, "
                f"modified {stored.modified:%Y-%m-%d %H:%M:%S} UTC)"
            )
            if delete:
                batch[stored.key] = stored.size
                if len(batch) == DELETE_BATCH:
                    _delete(media, batch, tally)
        if batch:
            _delete(media, batch, tally)
        self._report(media, tally, grace_hours, delete)

    def _report(self, media, tally: Tally, grace_hours: float, delete: bool) -> None:
        self.stdout.write(
            f"{media.where}: {tally.objects:,} objects ({tally.bytes:,} bytes); "
            f"{tally.referenced:,} referenced, {tally.fresh:,} unreferenced but younger than "
            f"{grace_hours:g} hours (kept), {tally.orphans:,} orphans "
            f"({tally.orphan_bytes:,} bytes)."
        )
        for key, reason in tally.failed.items():
            self.stderr.write(f"Could not delete {key}: {reason}")
        if tally.failed:
            raise CommandError(f"{len(tally.failed):,} of {tally.orphans:,} orphans not deleted.")
        if delete:
            self.stdout.write(f"Deleted {tally.deleted:,} orphans ({tally.deleted_bytes:,} bytes).")
        elif tally.orphans:
            self.stdout.write("Nothing deleted: run again with --delete to delete them.")


def _keys(media: S3Media | LocalMedia, names: set[str]) -> set[str]:
    """The storage keys of ``names``, leaving out names no object of this storage can have."""
    keys = set()
    for name in names:
        try:
            keys.add(media.key(name))
        except SuspiciousOperation:
            continue
    return keys


def _delete(media: S3Media | LocalMedia, batch: dict[str, int], tally: Tally) -> None:
    """Delete the objects in ``batch`` (key: size), count them in ``tally``, empty it."""
    failed = media.delete(list(batch))
    tally.failed.update(failed)
    done = [size for key, size in batch.items() if key not in failed]
    tally.deleted += len(done)
    tally.deleted_bytes += sum(done)
    batch.clear()
