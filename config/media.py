"""Keep rows and their stored objects together: no row without its file, no file without its row.

Objects are written before the rows that name them. If anything fails before the rows are
committed, the objects written so far are deleted again; objects a committed change no longer
needs are deleted only after the commit. A deletion that fails is logged, and ``media_gc``
removes the orphan later.
"""

import logging
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.fields.files import FieldFile

from posts.images import Rendition

logger = logging.getLogger(__name__)

# What a storage raises when S3 (or the disk) cannot take a write: unreachable, timed out,
# refusing, or failing. Each is a passing outage to the user, not a bug.
STORAGE_ERRORS = (BotoCoreError, ClientError, S3UploadFailedError, OSError)


class StorageUnavailable(Exception):
    """The media storage could not store a photo; nothing was saved."""

    message = (
        "We couldn't store your photos just now, so nothing was saved. "
        "Please try again in a moment."
    )


def rendition_store(*, field_file: FieldFile, rendition: Rendition, written: list[str]) -> None:
    """Write ``rendition`` under a fresh UUID name into the field's folder; record the name."""
    content = ContentFile(rendition.data)
    content.content_type = rendition.content_type
    try:
        field_file.save(f"{uuid.uuid4().hex}.{rendition.extension}", content, save=False)
    except STORAGE_ERRORS as exc:
        logger.warning("Media storage refused a write: %r", exc)
        raise StorageUnavailable from exc
    written.append(field_file.name)


@contextmanager
def objects_rolled_back() -> Iterator[list[str]]:
    """Yield a list to record written object names in; delete them if the block fails."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        objects_delete(written)
        raise


def objects_delete_on_commit(names: Iterable[str]) -> None:
    """Delete objects once the current transaction commits (at once outside one)."""
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: objects_delete(names))


def objects_delete(names: Iterable[str]) -> None:
    """Delete objects, logging (not raising) failures: the caller's data is already safe."""
    for name in names:
        try:
            default_storage.delete(name)
        except STORAGE_ERRORS:
            logger.exception("Could not delete media object %s; media_gc will remove it.", name)
