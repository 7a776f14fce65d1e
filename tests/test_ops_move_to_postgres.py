"""sqlite_to_postgres: an existing project on the embedded default (SQLite) moves to PostgreSQL.

The SQLite database is made the way an existing project made it: ``manage.py migrate`` and then
rows, in a copy of the project with no secrets file. The copy runs the command itself against
the test database, so these tests commit (transaction=True).
"""

import datetime
import json
import shutil
import sqlite3
import subprocess
import sys

import pytest
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.test import override_settings

from members.models import Follow, User
from posts.models import Post
from tests import factories
from tests.servers import clean_environ, production_secrets, project_copy

# What an existing project holds: a deleted member (so keys have a gap), members who follow
# each other, posts with photos, tags and mentions, comments, likes, a group and a permission.
SOURCE_ROWS = """
import datetime
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from members.models import Follow, User
from posts.models import Comment, Like, Post, PostImage, Tag

User.objects.create_user("gone", "gone@example.com", "gone-password-0").delete()
alice = User.objects.create_user(
    "alice", "alice@example.com", "alice-password-1", full_name="Alice A", bio="Sunsets",
    avatar="avatars/alice.jpg",
)
bob = User.objects.create_user("bob", "bob@example.com", "bob-password-2")
carol = User.objects.create_superuser("carol", "carol@example.com", "carol-password-3")
for follower, following in [(alice, bob), (bob, alice), (carol, alice)]:
    Follow.objects.create(follower=follower, following=following)
sunset, sea = Tag.objects.create(name="sunset"), Tag.objects.create(name="sea")
first = Post.objects.create(author=alice, caption="Sunset with @bob #sunset")
first.tags.add(sunset)
first.mentions.add(bob)
Post.objects.filter(pk=first.pk).update(
    created=datetime.datetime(2021, 6, 1, 20, 15, tzinfo=datetime.timezone.utc)
)
second = Post.objects.create(author=bob, caption="The #sea")
second.tags.add(sea)
for post, name in [(first, "first"), (second, "second")]:
    PostImage.objects.create(
        post=post, order=0, display=f"posts/{name}.jpg", width=1080, height=1350,
        thumbnail=f"posts/{name}-t.jpg", thumbnail_size=640, alt_text=f"the {name} photo",
    )
Comment.objects.create(author=bob, post=first, text="Lovely!")
Comment.objects.create(author=alice, post=first, text="Thanks, Bob")
for user, post in [(bob, first), (carol, first), (alice, second)]:
    Like.objects.create(user=user, post=post)
editors = Group.objects.create(name="editors")
editors.permissions.add(Permission.objects.get(codename="change_post"))
bob.groups.add(editors)
alice.user_permissions.add(Permission.objects.get(codename="delete_comment"))
LogEntry.objects.create(
    user=carol, content_type=ContentType.objects.get_for_model(Post), object_id=str(first.pk),
    object_repr=str(first), action_flag=ADDITION,
)
"""
DEFAULT_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@pytest.fixture(scope="module")
def existing_project(tmp_path_factory):
    """A copy of the project that ran on its embedded default and holds SOURCE_ROWS."""
    app = project_copy(tmp_path_factory.mktemp("existing") / "app")
    for command in (["migrate", "--no-input"], ["shell", "-c", SOURCE_ROWS]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=app, env=clean_environ(), check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    return app


def sqlite_rows(path, query: str) -> list[tuple]:
    with sqlite3.connect(path) as source:
        return source.execute(query).fetchall()


def give_posts_new_content_type_ids() -> None:
    """Make the PostgreSQL ids of posts' content types and permissions differ from SQLite's,
    as they do when apps were migrated in another order."""
    ContentType.objects.filter(app_label="posts").delete()
    ContentType.objects.clear_cache()
    create_contenttypes(apps.get_app_config("posts"), verbosity=0)
    create_permissions(apps.get_app_config("posts"), verbosity=0)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_members_log_in_and_find_their_posts_after_the_move(
    existing_project, s3_secrets, tmp_path, client
):
    sqlite = existing_project / "db.sqlite3"
    give_posts_new_content_type_ids()
    [(old_post_type,)] = sqlite_rows(
        sqlite, "SELECT id FROM django_content_type WHERE app_label='posts' AND model='post'"
    )
    assert ContentType.objects.get_for_model(Post).pk != old_post_type
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps(production_secrets(s3_secrets)))

    moved = subprocess.run(
        [sys.executable, "manage.py", "sqlite_to_postgres", str(sqlite)],
        cwd=existing_project, env=clean_environ(DJANGO_SECRETS_FILE=str(secrets)),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert moved.returncode == 0, moved.stderr
    assert "copied       3 members.User" in moved.stdout
    ContentType.objects.clear_cache()
    # Members, with their keys and password hashes as they were.
    hashes = dict(sqlite_rows(sqlite, "SELECT username, password FROM members_user"))
    assert dict(User.objects.values_list("username", "password")) == hashes
    alice, bob, carol = (User.objects.get(username=name) for name in ("alice", "bob", "carol"))
    assert (
        alice.pk == 2 and alice.full_name == "Alice A" and alice.avatar.name == "avatars/alice.jpg"
    )
    assert carol.is_superuser
    follows = {(f.follower.username, f.following.username) for f in Follow.objects.all()}
    assert follows == {("alice", "bob"), ("bob", "alice"), ("carol", "alice")}
    # Posts with their photos, tags, mentions, comments, likes and original dates.
    first = Post.objects.get(author=alice)
    assert first.created == datetime.datetime(2021, 6, 1, 20, 15, tzinfo=datetime.UTC)
    assert [i.display.name for i in first.images.all()] == ["posts/first.jpg"]
    assert [t.name for t in first.tags.all()] == ["sunset"]
    assert list(first.mentions.all()) == [bob]
    assert [(c.author, c.text) for c in first.comments.all()] == [
        (bob, "Lovely!"),
        (alice, "Thanks, Bob"),
    ]
    assert {like.user for like in first.likes.all()} == {bob, carol}
    assert [t.name for t in Post.objects.get(author=bob).tags.all()] == ["sea"]
    # Permissions point at PostgreSQL's own content types.
    assert bob.has_perm("posts.change_post") and alice.has_perm("posts.delete_comment")
    assert not alice.has_perm("posts.change_post")
    # Alice logs in with her old password and sees her post and its comments.
    with override_settings(PASSWORD_HASHERS=DEFAULT_HASHERS):
        assert client.login(username="alice", password="alice-password-1")
    page = client.get(first.get_absolute_url())
    assert page.status_code == 200
    assert "Lovely!" in page.text and "Thanks, Bob" in page.text
    # New rows get new keys: the sequences moved past the copied ones.
    assert factories.user().pk > carol.pk
    assert Post.objects.create(author=alice).pk > first.pk


@pytest.mark.slow
@pytest.mark.django_db
def test_a_database_that_already_holds_members_is_left_alone(existing_project):
    factories.user(username="already_here")

    with pytest.raises(CommandError, match=r"already holds rows \(members.User\)"):
        call_command("sqlite_to_postgres", str(existing_project / "db.sqlite3"))

    assert list(User.objects.values_list("username", flat=True)) == ["already_here"]
    assert not Post.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db
def test_a_sqlite_database_at_other_migrations_is_refused(existing_project, tmp_path):
    sqlite = tmp_path / "db.sqlite3"
    shutil.copy(existing_project / "db.sqlite3", sqlite)
    with sqlite3.connect(sqlite) as source:
        [(latest,)] = source.execute(
            "SELECT name FROM django_migrations WHERE app='posts' ORDER BY name DESC LIMIT 1"
        ).fetchall()
        source.execute("DELETE FROM django_migrations WHERE app='posts' AND name=?", [latest])

    with pytest.raises(CommandError, match=f"only in PostgreSQL: posts.{latest}"):
        call_command("sqlite_to_postgres", str(sqlite))

    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_file_that_is_not_a_sqlite_database_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not a database")

    with pytest.raises(CommandError, match="Cannot read the SQLite database"):
        call_command("sqlite_to_postgres", str(tmp_path / "notes.txt"))
