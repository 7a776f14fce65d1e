"""Saved posts, who liked a post, comment ages and linked bios, through the pages."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members.models import Block, User
from posts.models import Comment, SavedPost
from tests import factories

pytestmark = pytest.mark.django_db


def save_form(page: str, code: str) -> str:
    """The bookmark form of the post ``code`` on ``page``."""
    found = re.search(rf'<form[^>]*action="/p/{code}/save/".*?</form>', page, re.S)
    assert found, "no save form"
    return found.group(0)


def saved_codes(client, username: str) -> list[str]:
    response = client.get(f"/{username}/saved/")
    assert response.status_code == 200
    return [post.code for post in response.context["page"].posts]


# Saved posts.


def test_every_card_and_post_page_has_a_save_button(client, owner, follower):
    post = factories.post(owner, "keep me")
    factories.follow(follower, owner)
    client.force_login(follower)
    for url in ("/", f"/p/{post.code}/"):
        form = save_form(client.get(url).content.decode(), post.code)
        assert 'aria-label="Save"' in form and 'value="save"' in form


def test_saving_and_saving_again_to_unsave(client, owner, follower):
    post = factories.post(owner)
    client.force_login(follower)
    response = client.post(f"/p/{post.code}/save/", {"action": "save"})
    assert response.status_code == 302 and response["Location"] == f"/p/{post.code}/"
    form = save_form(client.get(f"/p/{post.code}/").content.decode(), post.code)
    assert 'aria-label="Remove from saved"' in form and 'value="unsave"' in form
    assert saved_codes(client, "felix") == [post.code]
    client.post(f"/p/{post.code}/save/", {"action": "save"})  # again: still once
    assert SavedPost.objects.count() == 1
    client.post(f"/p/{post.code}/save/", {"action": "unsave"})
    assert saved_codes(client, "felix") == []


def test_saving_answers_json_to_fetch(client, owner, follower):
    post = factories.post(owner)
    client.force_login(follower)
    headers = {"Accept": "application/json"}
    answer = client.post(f"/p/{post.code}/save/", {"action": "save"}, headers=headers)
    assert answer.json() == {"saved": True}
    answer = client.post(f"/p/{post.code}/save/", {"action": "unsave"}, headers=headers)
    assert answer.json() == {"saved": False}


def test_saving_needs_a_post_i_may_see_and_a_log_in(client, owner, follower):
    post = factories.post(owner)
    response = client.post(f"/p/{post.code}/save/", {"action": "save"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    Block.objects.create(blocker=owner, blocked=follower)
    client.force_login(follower)
    assert client.post(f"/p/{post.code}/save/", {"action": "save"}).status_code == 404
    assert SavedPost.objects.count() == 0


def test_the_saved_grid_is_its_owner_s_alone(client, owner, follower):
    SavedPost.objects.create(user=owner, post=factories.post(follower))
    assert client.get("/olivia/saved/").status_code == 404
    client.force_login(follower)
    assert client.get("/olivia/saved/").status_code == 404
    client.force_login(owner)
    page = client.get("/olivia/").content.decode()
    assert 'href="/olivia/saved/"' in page
    assert len(saved_codes(client, "olivia")) == 1


def test_a_saved_post_that_becomes_invisible_leaves_the_grid(client, follower, outsider):
    private, blocked = factories.user(username="pia"), factories.user(username="bea")
    followed = factories.user(username="fay")
    saved = {
        "private": factories.post(private),
        "blocked": factories.post(blocked),
        "hidden": factories.post(outsider),
        "deleted": factories.post(outsider),
        "followed private": factories.post(followed),
        "kept": factories.post(outsider),
    }
    for post in saved.values():
        SavedPost.objects.create(user=follower, post=post)
    client.force_login(follower)
    assert len(saved_codes(client, "felix")) == 6
    User.objects.filter(pk__in=[private.pk, followed.pk]).update(is_private=True)
    factories.follow(follower, followed)
    Block.objects.create(blocker=blocked, blocked=follower)
    Post = type(saved["hidden"])
    Post.objects.filter(pk=saved["hidden"].pk).update(hidden_at=timezone.now())
    saved["deleted"].delete()
    assert sorted(saved_codes(client, "felix")) == sorted(
        [saved["followed private"].code, saved["kept"].code]
    )


# Who liked.


def test_the_like_count_opens_the_list_of_who_liked_with_follow_buttons(
    client, owner, follower, outsider
):
    post = factories.post(owner)
    factories.like(follower, post)
    factories.like(outsider, post)
    factories.follow(outsider, follower)
    client.force_login(outsider)
    page = client.get(f"/p/{post.code}/").content.decode()
    assert re.search(rf'<a href="/p/{post.code}/likes/"><strong data-like-count>2</strong>', page)
    likes = client.get(f"/p/{post.code}/likes/").content.decode()
    assert likes.index(">oscar<") < likes.index(">felix<")  # latest first
    assert 'action="/felix/unfollow/"' in likes
    assert 'action="/oscar/follow/"' not in likes  # no button to follow oneself


def test_who_liked_leaves_out_those_i_may_not_see(client, owner, follower, outsider):
    post = factories.post(owner)
    factories.like(follower, post)
    factories.like(outsider, post)
    Block.objects.create(blocker=outsider, blocked=owner)
    client.force_login(owner)
    likes = client.get(f"/p/{post.code}/likes/").content.decode()
    assert ">felix<" in likes and ">oscar<" not in likes


def test_who_liked_a_post_i_may_not_see_is_a_404(client, owner, outsider):
    post = factories.post(owner)
    User.objects.filter(pk=owner.pk).update(is_private=True)
    client.force_login(outsider)
    assert client.get(f"/p/{post.code}/likes/").status_code == 404
    assert client.get("/p/nope1234567/likes/").status_code == 404


# Comment ages and bios.


@pytest.mark.parametrize(
    ("age", "shown"),
    [
        (timedelta(seconds=20), "now"),
        (timedelta(minutes=5), "5m"),
        (timedelta(hours=3), "3h"),
        (timedelta(days=2), "2d"),
        (timedelta(weeks=5), "5w"),
    ],
)
def test_comments_show_their_age(client, owner, follower, age, shown):
    post = factories.post(owner)
    comment = factories.comment(follower, post, "well said")
    Comment.objects.filter(pk=comment.pk).update(created=timezone.now() - age)
    page = client.get(f"/p/{post.code}/").content.decode()
    assert re.search(rf'<time class="comment__age[^>]*>{shown}</time>', page)


def test_hashtags_and_mentions_in_a_bio_are_links(client, owner):
    User.objects.filter(pk=owner.pk).update(bio="Into #film with @felix <b>bold</b>")
    page = client.get("/olivia/").content.decode()
    bio = re.search(r'<p class="profile__bio">(.*?)</p>', page, re.S).group(1)
    assert '<a href="/explore/tags/film/">#film</a>' in bio
    assert '<a href="/felix/">@felix</a>' in bio
    assert "&lt;b&gt;bold&lt;/b&gt;" in bio


BIO_CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bio=st.text(BIO_CHARACTERS, max_size=150))
def test_any_bio_shows_its_text_escaped(client, owner, bio):
    User.objects.filter(pk=owner.pk).update(bio=bio)
    page = client.get("/olivia/").content.decode()
    shown = re.search(r'<p class="profile__bio">(.*?)</p>', page, re.S)
    if not bio:
        assert shown is None
        return
    text = re.sub(r"<br>", "\n", shown.group(1))
    assert "<" not in re.sub(r"</?a[^>]*>", "", text)


def test_the_saved_grid_shows_the_latest_saved_first_and_pages(client, owner, follower):
    posts = [factories.post(owner, created=timezone.now() - timedelta(days=n)) for n in range(26)]
    client.force_login(follower)
    for post in posts:  # newest post saved first, so the oldest post was saved last
        client.post(f"/p/{post.code}/save/", {"action": "save"})
    first = client.get("/felix/saved/")
    shown = [post.code for post in first.context["page"].posts]
    assert shown == [post.code for post in reversed(posts)][:24]
    cursor = first.context["page"].next_cursor
    assert f'href="?after={cursor}"' in first.content.decode()
    rest = client.get("/felix/saved/", {"after": cursor}).context["page"]
    assert [post.code for post in rest.posts] == [posts[1].code, posts[0].code]
    assert rest.next_cursor is None
