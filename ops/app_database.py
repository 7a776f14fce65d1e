"""Create the app's database and its owner role on a PostgreSQL server (RDS), if missing.

The database comes from template0 with LC_COLLATE 'C', so that text sorts byte-wise, the same
on every server whatever its locale, and belongs to the app's role rather than the admin.
"""

from collections.abc import Callable
from contextlib import closing

import psycopg2
from psycopg2 import sql

COLLATION = "C"


class AppDatabaseError(Exception):
    """The database exists, but not as the app needs it."""


def app_database_create(
    *,
    server_url: str,
    name: str,
    owner: str,
    password: str,
    report: Callable[[str], None] = print,
) -> list[str]:
    """Create role ``owner`` (LOGIN, ``password``) and database ``name`` owned by it, connecting
    as the server's admin; return the changes made (none when both exist as they should)."""
    changes: list[str] = []
    with closing(psycopg2.connect(server_url, connect_timeout=10)) as connection:
        connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction.
        with connection.cursor() as cursor:

            def change(description: str, statement: sql.Composable) -> None:
                cursor.execute(statement)
                changes.append(description)
                report(f"+ {description}")

            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [owner])
            if cursor.fetchone() is None:
                change(
                    f"create role {owner} (LOGIN, with the password from the app's settings)",
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(owner), sql.Literal(password)
                    ),
                )
            cursor.execute(
                "SELECT datcollate, pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                [name],
            )
            found = cursor.fetchone()
            if found is None:
                _may_act_as(cursor, owner, change)
                change(
                    f"create database {name} owned by {owner} (LC_COLLATE '{COLLATION}')",
                    sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 LC_COLLATE {}").format(
                        sql.Identifier(name), sql.Identifier(owner), sql.Literal(COLLATION)
                    ),
                )
    if found:
        collation, current_owner = found
        if collation != COLLATION:
            raise AppDatabaseError(
                f"Database {name} exists with LC_COLLATE {collation!r}, not '{COLLATION}', which "
                f"cannot be changed: move its data to a new database made by this command."
            )
        if current_owner != owner:
            raise AppDatabaseError(
                f"Database {name} belongs to {current_owner}, not {owner}: "
                f"ALTER DATABASE {name} OWNER TO {owner}; (as its owner or an admin)."
            )
    return changes


def _may_act_as(cursor, owner: str, change: Callable[[str, sql.Composable], None]) -> None:
    """Let the admin hand a database to ``owner``: RDS's master user is no superuser, and
    PostgreSQL requires it to be able to SET ROLE to the new owner (a membership since 16)."""
    privilege = "SET" if cursor.connection.server_version >= 160000 else "MEMBER"
    cursor.execute("SELECT pg_has_role(current_user, %s, %s)", [owner, privilege])
    if not cursor.fetchone()[0]:
        change(
            f"grant role {owner} to the admin, so it may create the database for it",
            sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(owner)),
        )
