"""Indexes for search (search/selectors.py) on members' and tags' names, PostgreSQL only.

- btree indexes in the "C" collation, so that ``LIKE 'text%'`` walks names in order whatever
  the database's locale: a prefix search reads one page of the index, not every match;
- GIN indexes with pg_trgm's ``gin_trgm_ops``, for the similarity operators (%, %>) that find
  misspelt names.

SQLite, the embedded default, has neither operator classes nor pg_trgm: there the migration
does nothing (TrigramExtension skips other databases itself) and search falls back to LIKE.
The indexes stay out of the models' state, which describes every database alike; they are built
CONCURRENTLY, so a site with many members keeps taking sign-ups while they are made.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models
from django.db.models.functions import Collate, Lower

INDEXES = {
    ("members", "User"): [
        models.Index(Collate("username", "C"), name="search_user_prefix"),
        models.Index(Collate(Lower("full_name"), "C"), name="search_user_name_prefix"),
        GinIndex(fields=["username"], opclasses=["gin_trgm_ops"], name="search_user_trgm"),
        GinIndex(fields=["full_name"], opclasses=["gin_trgm_ops"], name="search_user_name_trgm"),
    ],
    ("posts", "Tag"): [
        models.Index(Collate("name", "C"), name="search_tag_prefix"),
        GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="search_tag_trgm"),
    ],
}


class TrigramExtensionOnPostgreSQL(TrigramExtension):
    """Django's CreateExtension skips other databases going forwards, but its reverse asks
    PostgreSQL's catalogue (pg_extension) whatever the database, which fails on SQLite."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def indexes_create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for (app, model), indexes in INDEXES.items():
        for index in indexes:
            schema_editor.add_index(apps.get_model(app, model), index, concurrently=True)


def indexes_drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for (app, model), indexes in INDEXES.items():
        for index in indexes:
            schema_editor.remove_index(apps.get_model(app, model), index, concurrently=True)


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("members", "0007_private_accounts_follow_requests_blocks"),
        ("posts", "0005_hidden_by_moderation"),
    ]

    operations = [
        TrigramExtensionOnPostgreSQL(),
        migrations.RunPython(indexes_create, indexes_drop, elidable=False),
    ]
