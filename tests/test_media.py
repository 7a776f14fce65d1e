"""Objects follow their rows: however a row that names objects goes, they go after the commit.

Deletions through the real admin, querysets, a shell's ``User.delete()``, cascades, a field
replaced on save; a rolled-back deletion keeps everything. Checked against the moto bucket.
"""

import threading

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from members import services as member_services
from members.models import User
from posts.forms import Photo
from posts.images import avatar_rendition
from posts.models import Post, PostImage
from posts.services import post_create
from tests import factories, imagefactory
from tests.test_faults import at_once

pytestmark = pytest.mark.django_db


def keys_of(*users: User) -> set[str]:
    """The bucket keys of every object the users' rows name: avatars and post photos."""
    names = {user.avatar.name for user in users if user.avatar}
    for image in PostImage.objects.filter(post__author__in=users):
        names |= {image.display.name, image.thumbnail.name}
    return {"media/" + name for name in names}


def with_photos(user: User, posts: int = 1) -> User:
    """``user`` with a stored profile photo and ``posts`` posts of two stored photos each."""
    member_services.profile_update(
        user=user, photo=avatar_rendition(imagefactory.jpeg(300, 300)), remove_photo=False
    )
    source = imagefactory.jpeg(400, 400)
    for _ in range(posts):
        post_create(author=user, photos=[Photo(source, "")] * 2, caption="")
    return user


@pytest.fixture
def olivia(owner, bucket):
    with_photos(owner, posts=2)
    assert len(bucket.keys()) == 9
    return owner


@pytest.fixture
def felix(follower, bucket):
    return with_photos(follower)


@pytest.fixture
def staff(client):
    admin = factories.user(username="sam", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return admin


def test_an_admin_bulk_delete_of_members_removes_all_their_objects(
    client, staff, olivia, felix, bucket, django_capture_on_commit_callbacks
):
    kept = keys_of(felix)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/members/user/",
            {"action": "delete_selected", "_selected_action": [olivia.pk], "post": "yes"},
        )
    assert response.status_code == 302
    assert not User.objects.filter(pk=olivia.pk).exists()
    assert set(bucket.keys()) == kept


def test_a_member_deleted_in_the_admin_loses_their_objects_and_their_signed_urls(
    client, staff, olivia, bucket, django_capture_on_commit_callbacks
):
    url = olivia.avatar.url
    assert requests.get(url, timeout=10).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/members/user/{olivia.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert bucket.keys() == []
    assert requests.get(url, timeout=10).status_code == 404


def test_an_admin_bulk_delete_of_posts_removes_their_photos(
    client, staff, olivia, bucket, django_capture_on_commit_callbacks
):
    first, second = Post.objects.filter(author=olivia)
    kept = keys_of(olivia) - {
        "media/" + name
        for image in first.images.all()
        for name in (image.display.name, image.thumbnail.name)
    }
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/posts/post/",
            {"action": "delete_selected", "_selected_action": [first.pk], "post": "yes"},
        )
    assert list(Post.objects.all()) == [second]
    assert set(bucket.keys()) == kept


def test_a_queryset_delete_removes_the_objects_after_the_commit(
    olivia, felix, bucket, django_capture_on_commit_callbacks
):
    kept = keys_of(felix)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Post.objects.filter(author=olivia).delete()
        assert len(bucket.keys()) == 9 + 5  # nothing goes before the commit
    assert set(bucket.keys()) == kept | {"media/" + olivia.avatar.name}


def test_user_delete_in_a_shell_cascades_to_every_object(
    olivia, bucket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        User.objects.get(pk=olivia.pk).delete()
    assert bucket.keys() == []


def test_a_rolled_back_deletion_keeps_every_object(
    olivia, bucket, django_capture_on_commit_callbacks
):
    before, pk = bucket.keys(), olivia.pk
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        User.objects.get(pk=pk).delete()
        raise RuntimeError("changed my mind")
    assert callbacks == []
    assert bucket.keys() == before
    assert User.objects.filter(pk=pk).exists()


def test_a_file_field_replaced_on_save_deletes_the_old_object_after_commit(
    olivia, bucket, django_capture_on_commit_callbacks
):
    old = "media/" + olivia.avatar.name
    new = default_storage.save("avatars/new.jpg", ContentFile(imagefactory.jpeg(320, 320)))
    user = User.objects.get(pk=olivia.pk)
    user.avatar = new  # as a shell or a data migration might
    with django_capture_on_commit_callbacks(execute=True):
        user.save()
    keys = bucket.keys()
    assert old not in keys and "media/" + new in keys


def test_a_save_that_keeps_the_file_keeps_the_object(
    olivia, bucket, django_capture_on_commit_callbacks
):
    before = bucket.keys()
    user = User.objects.get(pk=olivia.pk)
    user.bio = "still me"
    with django_capture_on_commit_callbacks(execute=True):
        user.save()
    assert bucket.keys() == before


@pytest.mark.django_db(transaction=True)
def test_two_profile_photos_uploaded_at_once_leave_only_the_winner_s_object(
    owner, bucket, monkeypatch
):
    # Both uploads have stored their object before either saves its row: the race the issue saw.
    both_stored = threading.Barrier(2)
    store = member_services.rendition_store

    def store_then_wait(**kwargs):
        store(**kwargs)
        both_stored.wait(timeout=30)

    monkeypatch.setattr(member_services, "rendition_store", store_then_wait)
    photos = [imagefactory.jpeg(300, 300), imagefactory.png(300, 300)]

    def upload(client):
        from tests.test_members_photos import upload as send

        return send(client, photos.pop())

    responses = at_once([owner, owner], upload)
    assert [r.status_code for r in responses] == [302, 302]
    owner.refresh_from_db()
    assert bucket.keys() == ["media/" + owner.avatar.name]
