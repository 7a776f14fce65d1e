"""Copy an existing SQLite database (the embedded default's db.sqlite3) into PostgreSQL.

Table by table with the primary keys kept, so every foreign key, password hash and file name
stays as it was; PostgreSQL's sequences are then moved past the copied keys. Content types and
permissions are not copied but matched by their natural keys, because ``migrate`` has made them
in PostgreSQL already, perhaps with other ids: the clash that trips up dumpdata and loaddata.
Sessions are not copied: members log in again.

Everything happens in one transaction on PostgreSQL, whose foreign keys Django declares
DEFERRABLE INITIALLY DEFERRED, so tables may be filled in any order and are checked at the end.
"""

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path

from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Model
from django.db.utils import load_backend

SOURCE = "sqlite_source"
BATCH = 500
NOT_COPIED = ("sessions.session",)
# Rows a data migration makes (moderation's Moderators group and its permissions): a freshly
# migrated database holds them already, and the copy replaces them with the source's own.
MIGRATION_MADE = ("auth.group", "auth.group_permissions")


class SqliteCopyError(Exception):
    """The source or the target is not fit for a copy; nothing was changed."""


def sqlite_copy(
    *, path: Path, using: str = DEFAULT_DB_ALIAS, report: Callable[[str], None] = print
) -> dict[str, int]:
    """Copy every row of the SQLite database at ``path`` into the (empty) database ``using``;
    return the number of rows copied per model."""
    if not path.is_file():
        raise SqliteCopyError(f"{path} is not a file.")
    # A read-only connection of its own, not in DATABASES; configure_settings fills in Django's
    # defaults (and insists on a "default" entry).
    read_only = {"NAME": f"{path.resolve().as_uri()}?mode=ro", "OPTIONS": {"uri": True}}
    entry = {DEFAULT_DB_ALIAS: {"ENGINE": "django.db.backends.sqlite3", **read_only}}
    source = connections.configure_settings(entry)[DEFAULT_DB_ALIAS]
    connections[SOURCE] = load_backend(source["ENGINE"]).DatabaseWrapper(source, SOURCE)
    try:
        _same_migrations(using)
        models = _copied_models()
        _empty(models, using)
        counts = {}
        with transaction.atomic(using=using):
            ids = _matched_ids(using)
            for model in models:
                if model._meta.label_lower in MIGRATION_MADE:
                    model._base_manager.using(using).all().delete()
            for model in models:
                counts[model._meta.label] = _copy(model, using, ids)
                report(f"copied {counts[model._meta.label]:>7} {model._meta.label}")
            target = connections[using]
            with target.cursor() as cursor:
                for statement in target.ops.sequence_reset_sql(no_style(), models):
                    cursor.execute(statement)
            target.check_constraints()
        return counts
    finally:
        connections[SOURCE].close()
        del connections[SOURCE]


def _same_migrations(using: str) -> None:
    source = MigrationRecorder(connections[SOURCE])
    try:
        if not source.has_table():
            raise SqliteCopyError("The SQLite database has no django_migrations table.")
        in_source = set(source.applied_migrations())
    except DatabaseError as exc:
        raise SqliteCopyError(f"Cannot read the SQLite database: {exc}") from None
    in_target = set(MigrationRecorder(connections[using]).applied_migrations())
    differences = []
    for where, names in (
        ("only in SQLite", in_source - in_target),
        ("only in PostgreSQL", in_target - in_source),
    ):
        if names:
            differences.append(f"{where}: {', '.join(f'{a}.{n}' for a, n in sorted(names))}")
    if differences:
        raise SqliteCopyError(
            "The two databases are at different migrations; run `manage.py migrate` on both "
            f"with the same code first ({'; '.join(differences)})."
        )


def _copied_models() -> list[type[Model]]:
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed
        and not model._meta.proxy
        and model not in (ContentType, Permission)
        and model._meta.label_lower not in NOT_COPIED
    ]


def _empty(models: list[type[Model]], using: str) -> None:
    full = [
        m._meta.label
        for m in models
        if m._meta.label_lower not in MIGRATION_MADE and m._base_manager.using(using).exists()
    ]
    if full:
        raise SqliteCopyError(
            f"The PostgreSQL database already holds rows ({', '.join(full)}): this command only "
            f"fills a freshly migrated, empty database."
        )


def _matched_ids(using: str) -> dict[type[Model], dict[int, int]]:
    """For content types and permissions: the target's id for each of the source's ids."""
    content_types, permissions = {}, {}
    for source_id, app_label, model in ContentType.objects.using(SOURCE).values_list(
        "id", "app_label", "model"
    ):
        found, _ = ContentType.objects.using(using).get_or_create(app_label=app_label, model=model)
        content_types[source_id] = found.pk
    for source_id, content_type_id, codename, name in Permission.objects.using(SOURCE).values_list(
        "id", "content_type_id", "codename", "name"
    ):
        found, _ = Permission.objects.using(using).get_or_create(
            content_type_id=content_types[content_type_id],
            codename=codename,
            defaults={"name": name},
        )
        permissions[source_id] = found.pk
    return {ContentType: content_types, Permission: permissions}


def _copy(model: type[Model], using: str, ids: dict[type[Model], dict[int, int]]) -> int:
    """Insert the model's rows, keys and all, a batch at a time; return how many.

    Plain INSERTs, because bulk_create would stamp auto_now fields with the time of the copy.
    """
    target = connections[using]
    fields = model._meta.concrete_fields
    matched = {f.attname: ids[f.related_model] for f in fields if f.related_model in ids}
    quote = target.ops.quote_name
    # Table and column names come from the models and are quoted; values are parameters.
    insert = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f in fields)}) VALUES "
    )
    row_placeholder = f"({', '.join(['%s'] * len(fields))})"
    rows = (
        model._base_manager.using(SOURCE)
        .order_by("pk")
        .values_list(*(f.attname for f in fields))
        .iterator(chunk_size=BATCH)
    )
    count = 0
    with target.cursor() as cursor:
        for batch in _batches(rows, BATCH):
            params = []
            for row in batch:
                for field, value in zip(fields, row, strict=True):
                    if field.attname in matched and value is not None:
                        value = matched[field.attname][value]
                    params.append(field.get_db_prep_save(value, connection=target))
            cursor.execute(insert + ", ".join([row_placeholder] * len(batch)), params)
            count += len(batch)
    return count


def _batches(rows: Iterable, size: int) -> Iterator[list]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch
