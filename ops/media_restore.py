"""Bring back the photos deleted since a moment whose rows still exist, by removing delete markers.

In the versioned bucket (``provision_aws`` turns versioning on) deleting an object only puts a
delete marker on top of it; the photo stays behind the marker for ``--keep-deleted-days``.
Which objects to bring back is decided by the rows: every name a FileField of any installed
model holds (posts' renditions, members' avatars). An object no row names stays deleted, so
restoring the database from a snapshot and then running this brings back exactly its photos.
The app's own credentials may not remove delete markers (s3:DeleteObjectVersion is denied to
them), so this runs with an operator's.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
from botocore.exceptions import ClientError
from django.core.exceptions import SuspiciousOperation
from storages.backends.s3 import S3Storage

from config.management.commands.media_gc import S3Media, referenced_names

# "90m", "6h", "2d": that long ago.
RELATIVE = re.compile(r"(\d{1,6})\s*([mhd])")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class MediaRestoreError(Exception):
    """The restore cannot start or finish; the message says what to do."""


def parse_since(text: str, now: datetime) -> datetime:
    """The moment ``text`` names: an ISO 8601 date or time (UTC unless it says otherwise), or a
    span before ``now`` such as ``90m``, ``6h`` or ``2d``."""
    relative = RELATIVE.fullmatch(text.strip())
    if relative:
        amount, unit = relative.groups()
        try:
            since = now - timedelta(**{UNITS[unit]: int(amount)})
        except OverflowError:
            raise MediaRestoreError(f"--since {text!r} reaches back before year 1.") from None
    else:
        try:
            since = datetime.fromisoformat(text.strip())
        except ValueError:
            raise MediaRestoreError(
                f"--since {text!r} is not a time: give one such as 2026-12-01T05:30Z "
                f"(UTC unless an offset is given) or a span before now such as 90m, 6h or 2d."
            ) from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
    if since > now:
        raise MediaRestoreError(f"--since {text!r} is in the future: nothing was deleted then.")
    return since


@dataclass(frozen=True)
class Deleted:
    """A deleted object: its key, its newest delete marker and when that was made."""

    key: str
    marker: str
    when: datetime


@dataclass
class RestorePlan:
    """What a restore finds among the objects deleted now."""

    restorable: list[Deleted] = field(default_factory=list)
    # Named by a row but with no version left behind the marker (expired): gone for good.
    lost: list[Deleted] = field(default_factory=list)
    # Named by a row but deleted before --since.
    earlier: list[Deleted] = field(default_factory=list)
    # Deleted since --since but named by no row: left deleted.
    unreferenced: int = 0


class MediaRestore:
    """Restore the media storage's deleted objects that rows still name."""

    def __init__(self, storage, *, profile: str | None = None):
        """``profile`` names AWS CLI credentials to use instead of the storage's own."""
        if not isinstance(storage, S3Storage):
            raise MediaRestoreError(
                "media_restore needs media in an S3 bucket (AWS_STORAGE_BUCKET_NAME); local "
                "files have no versions to restore."
            )
        self.media = S3Media(storage)
        self.bucket = storage.bucket_name
        self.client = self.media.client
        if profile:
            self.client = boto3.Session(profile_name=profile).client(
                "s3",
                region_name=storage.region_name,
                endpoint_url=storage.endpoint_url,
                config=storage.client_config,
            )

    def plan(self, since: datetime) -> RestorePlan:
        """Find what to restore: objects deleted since ``since`` that a row names."""
        self._check_versioning()
        latest_markers: dict[str, Deleted] = {}
        versioned: set[str] = set()
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=self.media.prefix
        )
        with _explained("s3:ListBucketVersions", self.bucket):
            for page in pages:
                versioned.update(version["Key"] for version in page.get("Versions", []))
                for marker in page.get("DeleteMarkers", []):
                    if marker["IsLatest"]:
                        key, version = marker["Key"], marker["VersionId"]
                        latest_markers[key] = Deleted(key, version, marker["LastModified"])
        named = self._referenced_keys()
        plan = RestorePlan()
        for key, deleted in sorted(latest_markers.items()):
            if key not in named:
                plan.unreferenced += deleted.when >= since
            elif deleted.when < since:
                plan.earlier.append(deleted)
            elif key not in versioned:
                plan.lost.append(deleted)
            else:
                plan.restorable.append(deleted)
        return plan

    def restore(self, deleted: Deleted) -> None:
        """Remove the delete marker, and any marker beneath it, so the photo is current again."""
        marker: str | None = deleted.marker
        while marker:
            with _explained("s3:DeleteObjectVersion", self.bucket):
                self.client.delete_object(Bucket=self.bucket, Key=deleted.key, VersionId=marker)
            marker = self._latest_marker(deleted.key)

    def _latest_marker(self, key: str) -> str | None:
        """The version id of the delete marker that is ``key``'s current version, if one is."""
        listed = self.client.list_object_versions(Bucket=self.bucket, Prefix=key)
        for marker in listed.get("DeleteMarkers", []):
            if marker["Key"] == key and marker["IsLatest"]:
                return marker["VersionId"]
        return None

    def _referenced_keys(self) -> set[str]:
        keys = set()
        for name in referenced_names():
            try:
                keys.add(self.media.key(name))
            except SuspiciousOperation:
                continue  # a name no object of this bucket can have
        return keys

    def _check_versioning(self) -> None:
        with _explained("s3:GetBucketVersioning", self.bucket):
            status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        if status is None:
            raise MediaRestoreError(
                f"S3 bucket {self.bucket} has never had versioning on, so a deleted object is "
                f"gone: run provision_aws to turn it on, which protects deletions from then on."
            )


@contextmanager
def _explained(permission: str, bucket: str) -> Iterator[None]:
    """Explain a refusal: the app's own credentials are meant to lack what restoring needs."""
    try:
        yield
    except ClientError as error:
        if error.response["Error"].get("Code") != "AccessDenied":
            raise
        raise MediaRestoreError(
            f"Access denied: restoring needs {permission} on bucket {bucket}, which the app's "
            f"own role and user are never given. Run it with an administrator's credentials, "
            f"e.g. --profile or AWS_PROFILE."
        ) from None
