"""create_app_database against the local PostgreSQL, as RDS's master user (no superuser)."""

import os
import uuid
from contextlib import closing
from urllib.parse import urlsplit

import psycopg2
import pytest
from psycopg2 import sql

from ops.app_database import AppDatabaseError, app_database_create
from tests.test_secrets import start

SERVER = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def run_sql(url: str, statement: sql.Composable | str, params=()) -> list[tuple]:
    with closing(psycopg2.connect(url)) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []


def url_as(user: str, password: str = "", database: str = "postgres") -> str:
    """SERVER's URL with another user and database."""
    parts = urlsplit(SERVER)
    login = f"{user}:{password}" if password else user
    return f"postgres://{login}@{parts.hostname}:{parts.port or 5432}/{database}"


@pytest.fixture
def names():
    """Fresh names for the admin, the app's role and its database; all dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    made = {"admin": f"ops_admin_{suffix}", "owner": f"ops_app_{suffix}", "db": f"ops_db_{suffix}"}
    # Like RDS's master user: may create roles and databases, but is no superuser.
    run_sql(
        SERVER,
        sql.SQL("CREATE ROLE {} LOGIN CREATEDB CREATEROLE").format(sql.Identifier(made["admin"])),
    )
    yield made
    run_sql(
        SERVER,
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(made["db"])),
    )
    for role in (made["owner"], made["admin"]):
        run_sql(SERVER, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def create(names) -> list[str]:
    return app_database_create(
        server_url=url_as(names["admin"]),
        name=names["db"],
        owner=names["owner"],
        password="app-password-1234",
        report=lambda line: None,
    )


def test_the_database_sorts_byte_wise_and_belongs_to_the_apps_role(names):
    changes = create(names)

    [(collation, owner)] = run_sql(
        SERVER,
        "SELECT datcollate, pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
        [names["db"]],
    )
    assert (collation, owner) == ("C", names["owner"])
    [(can_login, password)] = run_sql(
        SERVER,
        "SELECT rolcanlogin, rolpassword FROM pg_authid WHERE rolname = %s",
        [names["owner"]],
    )
    assert can_login and password.startswith("SCRAM-SHA-256$")
    # The app's role can make its tables there, and text sorts by bytes.
    app = url_as(names["owner"], "app-password-1234", names["db"])
    run_sql(app, "CREATE TABLE words (word text)")
    run_sql(app, "INSERT INTO words VALUES ('b'), ('a'), ('_'), ('Z'), ('B'), ('é')")
    assert [word for (word,) in run_sql(app, "SELECT word FROM words ORDER BY word")] == [
        "B",
        "Z",
        "_",
        "a",
        "b",
        "é",
    ]
    assert len(changes) == 3  # the role, the admin's membership in it, the database


def test_a_second_run_changes_nothing(names):
    create(names)

    assert create(names) == []


def test_a_database_that_does_not_sort_byte_wise_is_reported(names):
    run_sql(
        SERVER,
        sql.SQL("CREATE DATABASE {} TEMPLATE template0 LC_COLLATE 'C.UTF-8'").format(
            sql.Identifier(names["db"])
        ),
    )

    with pytest.raises(AppDatabaseError, match=r"exists with LC_COLLATE 'C\.UTF-8', not 'C'"):
        create(names)


def test_the_command_takes_name_role_and_password_from_the_apps_settings(names, tmp_path):
    app = url_as(names["owner"], "from-the-settings-99", names["db"])

    first = start(
        tmp_path, {"DEBUG": True}, "create_app_database", url_as(names["admin"]), DATABASE_URL=app
    )
    second = start(
        tmp_path, {"DEBUG": True}, "create_app_database", url_as(names["admin"]), DATABASE_URL=app
    )

    assert first.returncode == 0, first.stderr
    assert f"+ create database {names['db']} owned by {names['owner']}" in first.stdout
    assert "from-the-settings-99" not in first.stdout + first.stderr
    assert second.returncode == 0, second.stderr
    assert "No changes" in second.stdout
    assert run_sql(app, "SELECT current_user, current_database()") == [
        (names["owner"], names["db"])
    ]
