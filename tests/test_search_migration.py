"""Search's migration on SQLite, the embedded default: it runs (and reverses) without pg_trgm,
and search falls back to LIKE there. On PostgreSQL every test database runs it already."""

import subprocess
import sys

import pytest

from tests.servers import clean_environ, project_copy

SEARCH = """
from django.contrib.auth.models import AnonymousUser
from members.models import User
from posts.models import Tag
from search.query import query_parse
from search.selectors import search_results
User.objects.create_user("annabel", "a@example.com", "pw", full_name="Annabel Lee")
User.objects.create_user("joanna", "j@example.com", "pw", full_name="Joanna Ann")
Tag.objects.create(name="sunset")
for typed in ("anna", "#suns", "abel"):
    found = search_results(query=query_parse(typed), viewer=AnonymousUser(), limit=5)
    print(typed, [p.username for p in found.people], [t.name for t in found.tags])
"""


def manage(app, *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=app,
        env=clean_environ(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_the_migration_runs_and_reverses_on_sqlite_and_search_uses_like(tmp_path):
    app = project_copy(tmp_path / "app")
    manage(app, "migrate", "--no-input")
    assert (app / "db.sqlite3").exists()
    assert "[X] 0001_trigram_indexes" in manage(app, "showmigrations", "search")
    found = manage(app, "shell", "-c", SEARCH).splitlines()
    assert found[-3:] == [
        "anna ['annabel', 'joanna'] []",
        "#suns [] ['sunset']",
        "abel ['annabel'] []",
    ]
    manage(app, "migrate", "search", "zero", "--no-input")
    assert "[ ] 0001_trigram_indexes" in manage(app, "showmigrations", "search")
