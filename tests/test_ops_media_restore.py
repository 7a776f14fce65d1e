"""media_restore against moto: photos deleted through the app's storage are served again, but
only those a row still names."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from config.secrets import Secrets
from config.storage import MediaStorage
from members.services import profile_update
from ops.media_restore import MediaRestore, MediaRestoreError, parse_since
from posts.forms import Photo
from posts.images import avatar_rendition
from posts.models import Post
from posts.services import post_create, post_delete
from tests import imagefactory
from tests.conftest import REGION
from tests.test_ops_check_storage import iam_enforcing_s3  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

VERSIONED = "instagram-test-versioned"


@pytest.fixture
def versioned(s3_client, s3_secrets, tmp_path):
    """Media in a bucket with versioning on, as provision_aws leaves it: yields its client."""
    if VERSIONED not in [b["Name"] for b in s3_client.list_buckets()["Buckets"]]:
        s3_client.create_bucket(
            Bucket=VERSIONED, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    s3_client.put_bucket_versioning(Bucket=VERSIONED, VersioningConfiguration={"Status": "Enabled"})
    secrets = {**s3_secrets, "AWS_STORAGE_BUCKET_NAME": VERSIONED}
    media = Secrets(tmp_path / "secrets.json", secrets, {}).storages()["default"]
    with override_settings(STORAGES={**settings.STORAGES, "default": media}):
        yield s3_client
    _destroy_every_version(s3_client)


def _destroy_every_version(client) -> None:
    for page in client.get_paginator("list_object_versions").paginate(Bucket=VERSIONED):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            client.delete_object(Bucket=VERSIONED, Key=item["Key"], VersionId=item["VersionId"])


def restore(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("media_restore", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def new_post(author) -> Post:
    source = imagefactory.jpeg(800, 600)
    return post_create(
        author=author,
        photos=[Photo(source=source, alt_text="")],
        caption="kept",
    )


def photo_names(post: Post) -> list[str]:
    image = post.images.get()
    return [image.display.name, image.thumbnail.name]


def served(name: str) -> requests.Response:
    """What a browser gets from the app's URL for the photo (presigned by MediaStorage)."""
    return requests.get(default_storage.url(name), timeout=10)


def test_photos_deleted_through_the_apps_storage_are_served_again(versioned, owner):
    post = new_post(owner)
    profile_update(
        user=owner, photo=avatar_rendition(imagefactory.jpeg(400, 400)), remove_photo=False
    )
    names = [*photo_names(post), owner.avatar.name]
    before = {name: served(name).content for name in names}
    # As a wrong media_gc (or a stolen key) would: the rows stay, the objects go.
    for name in names:
        default_storage.delete(name)
    assert [served(name).status_code for name in names] == [404, 404, 404]

    out, err = restore("--since", "1h")

    for name in names:
        assert f"Restoring media/{name} (deleted " in out
        response = served(name)
        assert response.status_code == 200
        assert response.content == before[name]
    assert "3 objects named by rows restored; 0 cannot be" in out
    assert err == ""


def test_objects_whose_rows_are_gone_stay_deleted(
    versioned, owner, django_capture_on_commit_callbacks
):
    kept, gone = new_post(owner), new_post(owner)
    gone_names = photo_names(gone)
    with django_capture_on_commit_callbacks(execute=True):
        post_delete(post=gone)
    for name in photo_names(kept):
        default_storage.delete(name)

    out, _ = restore("--since", "1h")

    assert [served(name).status_code for name in photo_names(kept)] == [200, 200]
    assert [served(name).status_code for name in gone_names] == [404, 404]
    assert "2 objects named by rows restored" in out
    assert "2 deleted since then are named by no row and stay deleted" in out


def test_a_dry_run_lists_and_changes_nothing(versioned, owner):
    post = new_post(owner)
    [display, thumbnail] = photo_names(post)
    default_storage.delete(display)

    out, _ = restore("--since", "30m", "--dry-run")

    assert f"Would restore media/{display} (deleted " in out
    assert thumbnail not in out
    assert "1 objects named by rows would be restored" in out
    assert served(display).status_code == 404


def test_a_photo_deleted_twice_is_restored(versioned, owner):
    [display, _] = photo_names(new_post(owner))
    default_storage.delete(display)
    default_storage.delete(display)

    restore("--since", "1h")

    assert served(display).status_code == 200


def test_a_photo_with_no_version_left_is_reported_and_fails_the_run(versioned, owner):
    [display, thumbnail] = photo_names(new_post(owner))
    key = f"media/{display}"
    [version] = versioned.list_object_versions(Bucket=VERSIONED, Prefix=key)["Versions"]
    default_storage.delete(display)
    default_storage.delete(thumbnail)
    # As the lifecycle rule does after --keep-deleted-days.
    versioned.delete_object(Bucket=VERSIONED, Key=key, VersionId=version["VersionId"])

    with pytest.raises(CommandError, match="1 objects named by rows are gone for good"):
        restore("--since", "1h")

    assert served(thumbnail).status_code == 200


def test_deletions_before_since_are_left_alone(versioned, owner):
    [display, _] = photo_names(new_post(owner))
    default_storage.delete(display)

    plan = MediaRestore(default_storage).plan(datetime.now(UTC) + timedelta(minutes=1))

    assert [deleted.key for deleted in plan.earlier] == [f"media/{display}"]
    assert plan.restorable == [] and plan.lost == []


def test_a_bucket_without_versioning_is_refused_with_what_to_do(owner, bucket):
    with pytest.raises(CommandError, match=r"never had versioning on, .*: run provision_aws"):
        restore("--since", "1h")


def test_local_media_is_refused(tmp_path):
    local = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    with (
        override_settings(STORAGES={**settings.STORAGES, "default": local}),
        pytest.raises(CommandError, match="needs media in an S3 bucket"),
    ):
        restore("--since", "1h")


def test_the_apps_own_credentials_are_told_to_use_an_operators(
    iam_enforcing_s3,  # noqa: F811 (the fixture imported above)
):
    from ops.provision import media_policy_document
    from tests.conftest import BUCKET

    secrets = iam_enforcing_s3.secrets_for(media_policy_document(BUCKET))
    options = Secrets(None, secrets, {}).s3_options()

    with pytest.raises(MediaRestoreError, match=r"needs s3:GetBucketVersioning .* AWS_PROFILE"):
        MediaRestore(MediaStorage(**options)).plan(datetime.now(UTC))


NOW = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)


@hypothesis_settings(max_examples=100, deadline=None)
@given(moment=st.datetimes(max_value=NOW.replace(tzinfo=None), timezones=st.just(UTC)))
def test_an_iso_time_is_read_back_as_itself(moment):
    assert parse_since(moment.isoformat(), NOW) == moment
    assert parse_since(moment.replace(tzinfo=None).isoformat(), NOW) == moment


@hypothesis_settings(max_examples=100, deadline=None)
@given(amount=st.integers(min_value=0, max_value=700_000), unit=st.sampled_from("mhd"))
def test_a_span_is_that_long_before_now(amount, unit):
    span = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}[unit]
    assert parse_since(f"{amount}{unit}", NOW) == NOW - amount * span


@hypothesis_settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=30))
def test_any_text_is_a_moment_not_after_now_or_a_clear_refusal(text):
    try:
        since = parse_since(text, NOW)
    except MediaRestoreError as error:
        assert str(error).startswith("--since ")
    else:
        assert since <= NOW and since.tzinfo is not None


def test_a_span_before_year_one_is_refused():
    with pytest.raises(MediaRestoreError, match="reaches back before year 1"):
        parse_since("999999d", NOW)
