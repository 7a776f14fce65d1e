"""The feed, post pages and grids: what each shows, to whom, and at what query cost."""

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.models import Block
from posts.models import Comment, PostImage
from tests import factories

pytestmark = pytest.mark.django_db


def codes(response) -> list[str]:
    return [post.code for post in response.context["page"].posts]


def test_the_feed_shows_my_posts_and_those_i_follow_newest_first(client, owner, follower, outsider):
    mine = factories.post(follower, "mine")
    theirs = factories.post(owner, "followed")
    factories.post(outsider, "stranger")
    factories.follow(follower, owner)
    client.force_login(follower)
    assert codes(client.get("/")) == [theirs.code, mine.code]


def test_someone_who_follows_no_one_sees_everyone_s_recent_posts(client, owner, outsider):
    posts = [factories.post(owner), factories.post(outsider)]
    client.force_login(factories.user())
    assert codes(client.get("/")) == [p.code for p in reversed(posts)]


def test_the_feed_pages_by_cursor_without_gaps_or_repeats(client, owner):
    start = timezone.now() - timedelta(days=1)
    made = [factories.post(owner, created=start + timedelta(minutes=i)) for i in range(13)]
    # Two posts at the same instant are still ordered, and neither is lost.
    factories.post(owner, created=made[0].created)
    client.force_login(owner)
    first = client.get("/")
    cursor = first.context["page"].next_cursor
    assert len(codes(first)) == 12 and cursor
    assert f'href="?after={cursor}"' in first.content.decode()
    second = client.get("/", {"after": cursor})
    assert second.context["page"].next_cursor is None
    seen = codes(first) + codes(second)
    assert len(seen) == len(set(seen)) == 14


def test_a_malformed_cursor_shows_the_first_page(client, owner):
    factories.post(owner)
    client.force_login(owner)
    assert len(codes(client.get("/", {"after": "garbage.x"}))) == 1


def test_a_feed_card_shows_counts_my_like_and_the_latest_two_comments(
    client, owner, follower, outsider
):
    post = factories.post(owner, photos=3)
    for text in ["first", "second", "third"]:
        factories.comment(outsider, post, text)
    factories.like(follower, post)
    factories.like(outsider, post)
    factories.follow(follower, owner)
    client.force_login(follower)
    response = client.get("/")
    [card] = response.context["page"].posts
    assert (card.like_count, card.comment_count, card.liked) == (2, 3, True)
    page = response.content.decode()
    assert "second" in page and "third" in page and "first" not in page
    assert page.index("second") < page.index("third")
    assert "View all <span>3</span> comments" in page
    assert page.count('class="photos__slide"') == 3


def _feed_queries(client, viewer) -> int:
    client.force_login(viewer)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


def _posts_with_activity(author, people, count: int) -> None:
    for i in range(count):
        post = factories.post(author, f"#tag{i} hello @{people[0].username}", photos=1 + i % 3)
        for person in people:
            factories.comment(person, post)
            factories.like(person, post)


def test_the_feed_costs_the_same_queries_for_3_posts_as_for_30(client, owner, follower, outsider):
    factories.follow(follower, owner)
    _posts_with_activity(owner, [follower, outsider], 3)
    few = _feed_queries(client, follower)
    _posts_with_activity(owner, [follower, outsider], 27)
    assert _feed_queries(client, follower) == few <= 6


def test_grids_cost_the_same_queries_for_3_posts_as_for_30(client, owner, outsider):
    _posts_with_activity(owner, [outsider], 3)
    client.force_login(outsider)
    counts = {}
    for label in ("few", "many"):
        with CaptureQueriesContext(connection) as queries:
            client.get("/olivia/")
            client.get("/explore/")
            client.get("/explore/tags/tag1/")
        counts[label] = len(queries)
        _posts_with_activity(owner, [outsider], 27)
    assert counts["few"] == counts["many"]


def test_the_post_page_shows_every_comment_oldest_first(client, owner, outsider):
    post = factories.post(owner, "hello")
    for text in ["one", "two", "three"]:
        factories.comment(outsider, post, text)
    page = client.get(f"/p/{post.code}/").content.decode()
    assert page.index("one") < page.index("two") < page.index("three")


def test_an_unknown_post_is_a_404(client):
    assert client.get("/p/nope1234567/").status_code == 404


def test_the_profile_shows_its_grid_of_thumbnails_and_counts(client, owner, outsider):
    post = factories.post(owner, photos=2)
    factories.follow(outsider, owner)
    response = client.get("/olivia/")
    page = response.content.decode()
    assert response.context["owner"].post_count == 1
    assert f'href="/p/{post.code}/"' in page
    assert "-0-t.jpg" in page  # the first photo's thumbnail, not its display rendition
    assert "<strong>1</strong> follower" in page


def test_the_tag_page_lists_posts_with_that_tag_in_any_case(client, owner, bucket):
    from posts import services
    from posts.forms import Photo
    from tests.imagefactory import jpeg

    source = jpeg(300, 300)
    post = services.post_create(author=owner, photos=[Photo(source, "")], caption="At the #Beach")
    factories.post(owner, "no tags here")
    response = client.get("/explore/tags/BEACH/")
    assert codes(response) == [post.code]
    assert client.get("/explore/tags/nothing/").status_code == 404


def test_the_post_page_costs_the_same_queries_for_3_comments_as_for_30(client, owner, outsider):
    post = factories.post(owner, photos=3)
    counts = []
    for comments in (3, 27):
        for i in range(comments):
            factories.comment(outsider, post, f"comment {i}")
        client.force_login(outsider)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/p/{post.code}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def _comments_on(client, url: str) -> tuple[list[str], str | None]:
    """The comment texts a post page shows, in order, and its "View earlier comments" link."""
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    texts = re.findall(r'<span class="comment__text text">(.*?)</span>', page)
    earlier = re.search(r'<a href="(\?before=[^"]+)" data-earlier-comments>', page)
    return texts, earlier and url + html.unescape(earlier.group(1))


def test_the_post_page_shows_the_latest_50_comments_and_links_to_the_earlier_ones(
    client, owner, outsider
):
    post = factories.post(owner)
    for i in range(60):
        factories.comment(outsider, post, f"comment {i}")
    latest, earlier = _comments_on(client, post.get_absolute_url())
    assert latest == [f"comment {i}" for i in range(10, 60)]
    assert earlier
    texts, further = _comments_on(client, earlier)
    assert texts == [f"comment {i}" for i in range(10)]
    assert further is None
    assert client.get(post.get_absolute_url()).context["post"].comment_count == 60


def test_hidden_and_blocked_members_comments_are_on_neither_page_of_comments(
    client, owner, follower, outsider
):
    post = factories.post(owner)
    hidden = []
    for i in range(60):
        factories.comment(follower, post, f"comment {i}")
        if i in (5, 55):
            factories.comment(outsider, post, f"blocked {i}")
            hidden.append(factories.comment(owner, post, f"hidden {i}"))
    Comment.objects.filter(pk__in=[c.pk for c in hidden]).update(hidden_at=timezone.now())
    Block.objects.create(blocker=follower, blocked=outsider)
    client.force_login(follower)
    latest, earlier = _comments_on(client, post.get_absolute_url())
    texts, further = _comments_on(client, earlier)
    assert texts + latest == [f"comment {i}" for i in range(60)]
    assert further is None


def test_the_earlier_comments_of_a_private_account_s_post_are_a_404_to_outsiders(
    client, owner, follower, outsider
):
    owner.is_private = True
    owner.save(update_fields=["is_private"])
    factories.follow(follower, owner)
    post = factories.post(owner)
    for i in range(51):
        factories.comment(owner, post, f"comment {i}")
    client.force_login(follower)
    _, earlier = _comments_on(client, post.get_absolute_url())
    assert _comments_on(client, earlier)[0] == ["comment 0"]
    client.force_login(outsider)
    assert client.get(earlier).status_code == 404


def test_each_card_and_the_post_page_show_their_own_photos_in_order(client, owner, follower):
    """Photos are read for all of a page's posts in one query (post_images_load) and shared
    out: each post gets its own, in their order, whatever order they were added in."""
    factories.follow(follower, owner)
    posts = [factories.post(owner, photos=count) for count in (3, 1, 2)]
    PostImage.objects.filter(post=posts[0], order=0).update(order=9)  # now the last one
    client.force_login(follower)
    feed = client.get("/").content.decode()
    for post, expected in zip(posts, (["1", "2", "0"], ["0"], ["0", "1"]), strict=True):
        photo = rf"posts/{re.escape(post.code)}-(\d)\.jpg"
        assert re.findall(photo, feed) == expected
        page = client.get(post.get_absolute_url()).content.decode()
        assert re.findall(photo, page) == expected
