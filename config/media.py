"""Keep rows and their stored objects together: no row without its file, no file without its row.

Objects are written before the rows that name them are committed (a post's rows are inserted
while its last photos are written). If anything fails before the rows are committed, the objects
written so far are deleted again. Objects a committed change no longer
needs are deleted only after the commit, by receivers connected to every model with a file
field (``files_follow_rows``): however a row goes (a service, the admin, a queryset, a cascade,
a shell) or whatever replaces its file, no caller has to remember. A deletion that fails is
logged, and ``media_gc`` removes the orphan later.
"""

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.db.models.signals import post_delete, post_save, pre_save

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
    name = rendition_name(field_file, rendition)
    field_file.name = rendition_write(
        field_file=field_file, name=name, rendition=rendition, written=written
    )


def rendition_name(field_file: FieldFile, rendition: Rendition) -> str:
    """Give the field a fresh UUID name for ``rendition`` in its folder; return it."""
    fresh = f"{uuid.uuid4().hex}.{rendition.extension}"
    field_file.name = field_file.field.generate_filename(field_file.instance, fresh)
    return field_file.name


def rendition_write(
    *, field_file: FieldFile, name: str, rendition: Rendition, written: list[str]
) -> str:
    """Write ``rendition`` as ``name`` in the field's storage, or under a name near it if that
    one is taken (the storage never overwrites); record and return the name used."""
    content = ContentFile(rendition.data)
    content.content_type = rendition.content_type
    try:
        stored = field_file.storage.save(name, content, max_length=field_file.field.max_length)
    except STORAGE_ERRORS as exc:
        logger.warning("Media storage refused a write: %r", exc)
        raise StorageUnavailable from exc
    written.append(stored)
    return stored


# Writes of one post's renditions run this many at a time: each mostly waits for S3 to answer,
# and a post of ten photos makes twenty. One pool per process, shared by its threads.
STORE_THREADS = 4
_store_pool = ThreadPoolExecutor(max_workers=STORE_THREADS, thread_name_prefix="media-store")


class RenditionWrites:
    """Renditions being written under fresh names, several at once, each started as soon as it
    is made: a photo's display rendition is written while its thumbnail is still being made, and
    a post's first photo while the next is decoded.

    Once one write fails, or the block using them does, the writes that have not started yet
    are skipped: when S3 times out each write takes 15 s, and a post of ten photos would
    otherwise keep the member waiting for all twenty, four at a time, over a minute.
    """

    def __init__(self, written: list[str]):
        self._written = written
        self._pending: list[tuple[FieldFile, str, Future[str | None]]] = []
        self._stopped = False

    def start(self, field_file: FieldFile, rendition: Rendition) -> None:
        """Give the field a fresh name for ``rendition`` now, so that its row can be inserted
        while the object is written, and start writing it."""
        name = rendition_name(field_file, rendition)
        future = _store_pool.submit(
            self._write, field_file=field_file, name=name, rendition=rendition
        )
        self._pending.append((field_file, name, future))

    def into(self, *field_files: FieldFile) -> Callable[[Rendition], None]:
        """A ``made`` callback for the image pipeline: start writing each rendition it makes
        into the next of ``field_files``."""
        fields = iter(field_files)
        return lambda rendition: self.start(next(fields), rendition)

    def check(self) -> None:
        """Raise the first failure among the writes that have ended, without waiting for the
        others: a post stops making renditions S3 would not take."""
        for _, _, future in self._pending:
            if future.done() and future.exception() is not None:
                raise future.exception()

    def stop(self) -> None:
        """Skip the writes that have not started; those already running go on."""
        self._stopped = True

    def wait(self) -> None:
        """Wait until every write has ended (or been skipped), whether or not it succeeded."""
        wait([future for _, _, future in self._pending])

    def finish(self) -> None:
        """Wait for every write; raise the first failed one's StorageUnavailable. A field whose
        name was taken after all is given the one stored, in its row too."""
        self.wait()
        self.check()
        for field_file, name, future in self._pending:
            stored = future.result()
            if stored != name:
                _renamed(field_file, stored)

    def _write(self, *, field_file: FieldFile, name: str, rendition: Rendition) -> str | None:
        """``rendition_write``, unless the writes were stopped before this one began."""
        if self._stopped:
            return None
        try:
            return rendition_write(
                field_file=field_file, name=name, rendition=rendition, written=self._written
            )
        except BaseException:
            self._stopped = True
            raise


@contextmanager
def renditions_writing(written: list[str]) -> Iterator[RenditionWrites]:
    """Writes to start while the block runs, recording each object stored in ``written``.

    Call ``finish`` inside the rows' transaction, before it commits. However the block ends,
    every write started has ended on leaving, so that ``written`` names every object stored, for
    ``objects_rolled_back`` to delete if the block failed.
    """
    writes = RenditionWrites(written)
    try:
        yield writes
    except BaseException:
        writes.stop()  # nothing will be kept: what has not been written need not be
        raise
    finally:
        writes.wait()


def _renamed(field_file: FieldFile, name: str) -> None:
    """Point the field, and its row if it has one, at ``name``."""
    field_file.name = name
    instance = field_file.instance
    if instance.pk is not None:
        rows = type(instance)._base_manager.filter(pk=instance.pk)
        rows.update(**{field_file.field.attname: name})


def photo_url(field_file: FieldFile, *, private: bool) -> str:
    """The URL of a stored photo; shorter-lived if only some members may see it (a private
    account's), when the storage can sign such URLs (config.storage.MediaStorage)."""
    private_url = getattr(field_file.storage, "private_url", None)
    if private and private_url is not None:
        return private_url(field_file.name)
    return field_file.url


@contextmanager
def objects_rolled_back() -> Iterator[list[str]]:
    """Yield a list to record written object names in; delete them if the block fails."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        objects_delete(written)
        raise


def objects_delete(names: Iterable[str], storage: Storage = default_storage) -> None:
    """Delete objects, logging (not raising) failures: the caller's data is already safe."""
    for name in names:
        try:
            storage.delete(name)
        except STORAGE_ERRORS:
            logger.exception("Could not delete media object %s; media_gc will remove it.", name)


def files_follow_rows() -> None:
    """Connect the receivers below for every installed model that has a file field."""
    for model in apps.get_models():
        if _file_fields(model):
            pre_save.connect(_files_before_save, sender=model, dispatch_uid=f"files:{model}")
            post_save.connect(_replaced_files_delete, sender=model, dispatch_uid=f"files:{model}")
            post_delete.connect(_row_files_delete, sender=model, dispatch_uid=f"files:{model}")


def _file_fields(model: type[models.Model]) -> list[models.FileField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]


def _files_before_save(sender, instance, raw, using, update_fields, **kwargs) -> None:
    """Note the names the row holds in the database now, before this save replaces them.

    Read from the database, not from the instance, which may have been loaded before another
    request changed the row; inside a transaction the row stays locked until the commit, so
    two saves racing each other each see the name the other one left.
    """
    instance._files_before_save = {}
    if raw or instance._state.adding or instance.pk is None:
        return
    fields = [f for f in _file_fields(sender) if update_fields is None or f.name in update_fields]
    if not fields:
        return
    rows = sender._base_manager.using(using).filter(pk=instance.pk)
    if transaction.get_connection(using).in_atomic_block:
        rows = rows.select_for_update()
    names = rows.values_list(*[f.attname for f in fields]).first()
    if names is not None:
        instance._files_before_save = dict(zip(fields, names, strict=True))


def _replaced_files_delete(sender, instance, using, **kwargs) -> None:
    """After the commit, delete the objects this save replaced."""
    before = getattr(instance, "_files_before_save", {})
    instance._files_before_save = {}
    for field, name in before.items():
        if name and name != getattr(instance, field.attname).name:
            _delete_on_commit(field, name, using)


def _row_files_delete(sender, instance, using, **kwargs) -> None:
    """After the commit, delete every object the deleted row named."""
    for field in _file_fields(sender):
        _delete_on_commit(field, getattr(instance, field.attname).name, using)


def _delete_on_commit(field: models.FileField, name: str, using: str) -> None:
    """Delete the object once the current transaction commits (at once outside one)."""
    if name:
        transaction.on_commit(lambda: objects_delete([name], field.storage), using=using)
