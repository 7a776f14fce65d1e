from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from ops.sqlite_copy import SqliteCopyError, sqlite_copy


class Command(BaseCommand):
    help = (
        "Copy every row of an existing SQLite database (e.g. the embedded default's "
        "db.sqlite3) into the configured PostgreSQL database, which must be migrated and empty: "
        "users with their passwords, posts, photos, comments, likes, tags and follows."
    )

    def add_arguments(self, parser):
        parser.add_argument("sqlite", type=Path, help="Path of the SQLite database file.")

    def handle(self, *args, sqlite, **options):
        if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
            raise CommandError(
                "The app's database is not PostgreSQL: set DATABASES in secrets.json (or "
                "DATABASE_URL), run `manage.py migrate`, then run this command."
            )
        try:
            counts = sqlite_copy(path=sqlite, report=self.stdout.write)
        except SqliteCopyError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Copied {sum(counts.values())} rows from {sqlite} to PostgreSQL.")
        )
