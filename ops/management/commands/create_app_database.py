from urllib.parse import urlsplit

import psycopg2
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops.app_database import AppDatabaseError, app_database_create


class Command(BaseCommand):
    help = (
        "Create the app's database (LC_COLLATE 'C', from template0) and its owner role on a "
        "PostgreSQL server, if they do not exist. Name, role and password come from the app's "
        "DATABASES setting; SERVER is the admin's URL, its password in it or in PGPASSWORD."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "server", help="e.g. postgres://postgres@<rds endpoint>:5432/postgres?sslmode=require"
        )

    def handle(self, *args, server, **options):
        database = settings.DATABASES["default"]
        if database["ENGINE"] != "django.db.backends.postgresql":
            raise CommandError("The app's DATABASES is not PostgreSQL: set it in secrets.json.")
        if not database["PASSWORD"]:
            raise CommandError(
                f"The app's DATABASES has no PASSWORD for role {database['USER']}: set one."
            )
        try:
            changes = app_database_create(
                server_url=server,
                name=database["NAME"],
                owner=database["USER"],
                password=database["PASSWORD"],
                report=self.stdout.write,
            )
        except psycopg2.Error as exc:
            host = urlsplit(server).hostname
            raise CommandError(f"PostgreSQL at {host} refused: {exc}".strip()) from None
        except AppDatabaseError as exc:
            raise CommandError(str(exc)) from None
        if not changes:
            self.stdout.write(
                f"No changes: database {database['NAME']} and role {database['USER']} exist."
            )
