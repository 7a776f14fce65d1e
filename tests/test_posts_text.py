"""Captions and comments: which tags and mentions they hold, and how they are shown."""

from datetime import timedelta

import pytest
from django.utils import timezone

from posts.templatetags.posts import ago
from posts.text import hashtags, linkify, mentions


def test_tags_are_found_once_lowercase_in_any_script():
    found = hashtags("#Sunset #sunset #café #서울 a#b &#39; #a_b")
    assert found == ["sunset", "café", "서울", "a_b"]


def test_mentions_are_found_once_lowercase_without_a_final_period():
    assert mentions("Hi @Alice. and @alice, @bob_1 but not a@b.com") == ["alice", "bob_1"]


def test_linking_escapes_everything_else():
    html = linkify('<img src=x onerror=alert(1)> "#tag" @al.ice javascript:alert(1)')
    assert html == (
        '&lt;img src=x onerror=alert(1)&gt; &quot;<a href="/explore/tags/tag/">#tag</a>&quot; '
        '<a href="/al.ice/">@al.ice</a> javascript:alert(1)'
    )


def test_zero_width_and_right_to_left_characters_stay_text():
    text = "#to\u200bp @ev\u202eil"
    html = linkify(text)
    assert '<a href="/explore/tags/to/">#to</a>\u200bp' in html
    assert '<a href="/ev/">@ev</a>\u202eil' in html


@pytest.mark.parametrize(
    ("age", "shown"),
    [
        (timedelta(seconds=30), "now"),
        (timedelta(minutes=5), "5m"),
        (timedelta(hours=3), "3h"),
        (timedelta(days=2), "2d"),
        (timedelta(days=15), "2w"),
    ],
)
def test_times_read_as_on_instagram(age, shown):
    assert ago(timezone.now() - age) == shown


def test_a_post_older_than_a_year_shows_its_date():
    assert ago(timezone.now() - timedelta(days=400)).endswith(
        str((timezone.now() - timedelta(days=400)).year)
    )


@pytest.mark.django_db
def test_a_right_to_left_override_in_a_caption_cannot_flip_the_page_title(client, owner):
    from tests import factories

    post = factories.post(owner, "harmless \u202eTXT.EXE")
    page = client.get(post.get_absolute_url()).content.decode()
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "\u202e" not in title and "harmless TXT.EXE" in title
    assert "\u202e" in page  # the caption itself is kept as written, inside its own element


@pytest.mark.parametrize("text", ["@.", "@...", "hi @. there", "@.@."])
def test_an_at_sign_before_periods_only_is_plain_text(text):
    assert linkify(text) == text
    assert mentions(text) == []


@pytest.mark.django_db
def test_a_comment_of_at_and_a_period_leaves_every_page_working(client, owner, follower):
    from posts.models import Comment
    from tests import factories

    post = factories.post(owner, "a caption @.")
    factories.follow(follower, owner)
    client.force_login(follower)
    assert client.post(f"/p/{post.code}/comments/", {"text": "@."}).status_code == 302
    [comment] = Comment.objects.all()
    assert client.get(post.get_absolute_url()).status_code == 200
    assert client.get("/").status_code == 200
    client.force_login(owner)
    assert "@." in client.get(post.get_absolute_url()).content.decode()
    assert client.get("/").status_code == 200
    response = client.post(f"/p/{post.code}/comments/{comment.pk}/delete/")
    assert response.status_code == 302
    assert not Comment.objects.exists()


def test_a_capital_dotted_i_makes_a_tag_no_longer_than_its_word():
    # "İ".lower() is "i" and a combining dot above: two characters for one.
    assert hashtags("#" + "İ" * 60) == ["i" * 60]
    assert hashtags("#İstanbul #istanbul") == ["istanbul"]
    assert linkify("#İstanbul") == '<a href="/explore/tags/istanbul/">#İstanbul</a>'


@pytest.mark.django_db
def test_a_caption_of_dotted_capital_is_stored_and_its_tag_page_found(client, owner, bucket):
    from posts.models import Post, Tag
    from tests.imagefactory import jpeg
    from tests.test_posts_create import share

    client.force_login(owner)
    caption = "#" + "İ" * 60
    assert share(client, jpeg(300, 300), caption=caption).status_code == 302
    post = Post.objects.get()
    assert [tag.name for tag in post.tags.all()] == ["i" * 60]
    edited = "#" + "İ" * 100
    response = client.post(f"/p/{post.code}/edit/", {"caption": edited})
    assert response.status_code == 302
    assert [tag.name for tag in post.tags.all()] == ["i" * 100]
    for tag in Tag.objects.all():
        assert client.get(tag.get_absolute_url()).status_code == 200
    assert client.get("/explore/tags/" + "İ" * 100 + "/").status_code == 200


@pytest.mark.django_db
def test_tags_stored_with_a_combining_dot_are_merged_into_the_tag_now_linked(owner):
    import importlib

    from django.apps import apps

    from posts.models import Tag
    from tests import factories

    migration = importlib.import_module("posts.migrations.0003_tag_names_of_word_characters")
    old, new = factories.post(owner), factories.post(owner)
    old.tags.add(Tag.objects.create(name="i\u0307stanbul"), Tag.objects.create(name="café"))
    new.tags.add(Tag.objects.create(name="istanbul"))
    Tag.objects.create(name="\u0307")
    migration.rename_tags(apps, None)
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["café", "istanbul"]
    assert set(Tag.objects.get(name="istanbul").posts.all()) == {old, new}
