"""Likes, comments, edits and deletes: who may do them, and what they leave behind."""

import re

import pytest
from django.test import Client

from members.models import Block
from posts import services
from posts.forms import Photo
from posts.models import Comment, Like, Post
from tests import factories, imagefactory

pytestmark = pytest.mark.django_db

JSON = {"Accept": "application/json"}


@pytest.fixture
def post(owner):
    return factories.post(owner, "A day at the #beach")


def test_liking_from_a_plain_form_redirects_back(client, follower, post):
    client.force_login(follower)
    response = client.post(f"/p/{post.code}/like/", {"next": "/"})
    assert response.status_code == 302 and response.url == "/"
    assert Like.objects.filter(user=follower, post=post).exists()


def test_liking_from_fetch_answers_the_new_count(client, follower, post):
    client.force_login(follower)
    response = client.post(f"/p/{post.code}/like/", headers=JSON)
    assert response.json() == {"liked": True, "like_count": 1}
    response = client.post(f"/p/{post.code}/like/", {"action": "unlike"}, headers=JSON)
    assert response.json() == {"liked": False, "like_count": 0}


def test_a_double_click_likes_once(client, follower, post):
    client.force_login(follower)
    for _ in range(2):
        assert client.post(f"/p/{post.code}/like/", headers=JSON).status_code == 200
    assert Like.objects.count() == 1


def test_commenting_from_fetch_returns_the_rendered_comment(client, follower, post):
    client.force_login(follower)
    response = client.post(
        f"/p/{post.code}/comments/", {"text": "<b>so</b> nice #sun"}, headers=JSON
    )
    assert response.status_code == 200
    assert response["X-Comment-Count"] == "1"
    html = response.content.decode()
    assert "&lt;b&gt;so&lt;/b&gt; nice" in html
    assert '<a href="/explore/tags/sun/">#sun</a>' in html


def test_a_page_s_comment_form_makes_a_new_comment_each_time_it_is_used(client, follower, post):
    client.force_login(follower)
    page = client.get(f"/p/{post.code}/").content.decode()
    key = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    for text in ("one", "two"):
        response = client.post(
            f"/p/{post.code}/comments/", {"text": text, "submission": key}, headers=JSON
        )
        assert response.status_code == 200
        key = response["X-Next-Submission"]
    assert list(Comment.objects.values_list("text", flat=True)) == ["one", "two"]


def test_an_empty_or_overlong_comment_is_refused(client, follower, post):
    client.force_login(follower)
    assert client.post(f"/p/{post.code}/comments/", {"text": "  "}, headers=JSON).status_code == 400
    long = {"text": "x" * 2201}
    assert client.post(f"/p/{post.code}/comments/", long, headers=JSON).status_code == 400
    response = client.post(f"/p/{post.code}/comments/", long, follow=True)
    assert "at most 2200 characters" in response.content.decode()
    assert not Comment.objects.exists()


@pytest.mark.parametrize("who", ["comment_author", "post_author"])
def test_a_comment_is_deleted_by_its_author_or_the_post_s(client, owner, follower, post, who):
    comment = factories.comment(follower, post)
    client.force_login(follower if who == "comment_author" else owner)
    response = client.post(f"/p/{post.code}/comments/{comment.pk}/delete/")
    assert response.status_code == 302
    assert not Comment.objects.exists()


def test_a_commenter_blocked_by_the_post_s_author_still_deletes_their_comment(
    client, owner, follower, post
):
    comment = factories.comment(follower, post)
    Block.objects.create(blocker=owner, blocked=follower)
    client.force_login(follower)
    assert client.get(f"/p/{post.code}/").status_code == 404
    response = client.post(f"/p/{post.code}/comments/{comment.pk}/delete/", headers=JSON)
    assert response.status_code == 200
    assert not Comment.objects.filter(pk=comment.pk).exists()


def test_nobody_else_deletes_a_comment(client, follower, outsider, post):
    comment = factories.comment(follower, post)
    client.force_login(outsider)
    assert client.post(f"/p/{post.code}/comments/{comment.pk}/delete/").status_code == 403
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_the_owner_edits_the_caption_and_its_tags_follow(client, owner, post):
    image = post.images.get()
    client.force_login(owner)
    response = client.post(
        f"/p/{post.code}/edit/", {"caption": "Now #mountains", f"alt_{image.pk}": "Peaks"}
    )
    assert response.status_code == 302
    post.refresh_from_db()
    image.refresh_from_db()
    assert post.caption == "Now #mountains"
    assert list(post.tags.values_list("name", flat=True)) == ["mountains"]
    assert image.alt_text == "Peaks"


def test_others_cannot_edit_or_delete_a_post(client, outsider, post):
    client.force_login(outsider)
    assert client.get(f"/p/{post.code}/edit/").status_code == 403
    assert client.post(f"/p/{post.code}/edit/", {"caption": "hacked"}).status_code == 403
    assert client.post(f"/p/{post.code}/delete/").status_code == 403
    post.refresh_from_db()
    assert post.caption == "A day at the #beach"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/p/{code}/like/"),
        ("post", "/p/{code}/comments/"),
        ("get", "/p/{code}/edit/"),
        ("post", "/p/{code}/delete/"),
        ("post", "/posts/new/"),
    ],
)
def test_visitors_are_sent_to_log_in(client, post, method, path):
    response = getattr(client, method)(path.format(code=post.code))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    assert Post.objects.filter(pk=post.pk, caption="A day at the #beach").exists()


def test_changes_need_a_csrf_token(follower, post):
    client = Client(enforce_csrf_checks=True)
    client.force_login(follower)
    assert client.post(f"/p/{post.code}/like/").status_code == 403
    assert not Like.objects.exists()


def test_deleting_a_post_removes_its_objects_after_commit(
    client, owner, bucket, django_capture_on_commit_callbacks
):
    source = imagefactory.jpeg(500, 500)
    post = services.post_create(author=owner, photos=[Photo(source, "")] * 2, caption="")
    assert len(bucket.keys()) == 4
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(f"/p/{post.code}/delete/")
        assert len(bucket.keys()) == 4  # still there until the deletion commits
    assert response.status_code == 302 and callbacks
    assert bucket.keys() == []
    assert not Post.objects.exists()


def test_staff_moderate_posts_in_the_admin(client, owner, post):
    staff = factories.user(username="sam", is_staff=True, is_superuser=True)
    client.force_login(staff)
    page = client.get("/admin/posts/post/", {"q": "beach"}).content.decode()
    assert post.code in page
    detail = client.get(f"/admin/posts/post/{post.pk}/change/").content.decode()
    assert post.images.get().thumbnail.name in detail
