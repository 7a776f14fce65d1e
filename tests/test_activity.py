"""The activity page and its badge: what members are told, grouped, in what order, at what cost."""

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activity import services as activity
from activity.models import Notification
from members import services as member_services
from members.models import Block, User
from moderation import services as moderation
from posts import services as post_services
from tests import factories

pytestmark = pytest.mark.django_db

ACTIVITY = "/accounts/activity/"


def entries(client) -> list[str]:
    """The activity page's entries as text, one line each, newest first."""
    page = client.get(ACTIVITY)
    assert page.status_code == 200
    found = re.findall(r'<p class="activity__text">(.*?)</p>', page.content.decode(), re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", entry).split()) for entry in found]


def badge(client) -> str | None:
    """The unread count in the navigation of an ordinary page, or None without one."""
    page = client.get("/explore/").content.decode()
    found = re.search(r'<span class="badge" data-unread>([^<]*)<', page)
    return found.group(1) if found else None


def like(user, post) -> None:
    post_services.like_create(user=user, post=post)


def test_a_like_shows_in_the_author_s_activity_with_a_badge_until_opened(client, owner, follower):
    post = factories.post(owner, "sunset")
    like(follower, post)
    client.force_login(owner)
    assert badge(client) == "1"
    page = client.get(ACTIVITY).content.decode()
    assert "felix liked your post." in " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert f'href="/p/{post.code}/"' in page
    assert f"media/posts/{post.code}-0-t.jpg?" in page
    assert "activity__entry--new" in page
    assert badge(client) is None
    assert "activity__entry--new" not in client.get(ACTIVITY).content.decode()


def test_likes_of_one_post_are_one_entry_naming_the_latest_two(client, owner):
    post = factories.post(owner)
    likers = [factories.user(username=name) for name in ["ann", "ben", "cat", "dan", "eve"]]
    for liker in likers:
        like(liker, post)
    client.force_login(owner)
    [entry] = entries(client)
    assert entry.startswith("eve, dan and 3 others liked your post.")
    assert badge(client) is None


def test_two_likers_are_named_with_and(client, owner, follower, outsider):
    post = factories.post(owner)
    like(follower, post)
    like(outsider, post)
    client.force_login(owner)
    assert entries(client)[0].startswith("oscar and felix liked your post.")


def test_a_new_like_brings_a_read_entry_back_to_the_top_unread(client, owner, follower, outsider):
    old, new = factories.post(owner, "old"), factories.post(owner, "new")
    like(follower, old)
    like(follower, new)
    client.force_login(owner)
    assert len(entries(client)) == 2
    like(outsider, old)
    assert badge(client) == "1"
    first, second = entries(client)
    assert first.startswith("oscar and felix liked") and second.startswith("felix liked")


def test_my_own_likes_comments_and_mentions_tell_me_nothing(client, owner):
    post = factories.post(owner)
    like(owner, post)
    post_services.comment_create(author=owner, post=post, text="me, @olivia")
    post_services.post_update(post=post, caption="@olivia again", alt_texts={})
    client.force_login(owner)
    assert badge(client) is None
    assert entries(client) == []
    assert Notification.objects.count() == 0


def test_an_unlike_takes_the_entry_and_the_badge_away(client, owner, follower):
    post = factories.post(owner)
    like(follower, post)
    post_services.like_delete(user=follower, post=post)
    client.force_login(owner)
    assert badge(client) is None
    assert entries(client) == []


def test_an_unlike_leaves_the_entry_to_the_other_likers(client, owner, follower, outsider):
    post = factories.post(owner)
    like(follower, post)
    like(outsider, post)
    post_services.like_delete(user=outsider, post=post)
    client.force_login(owner)
    assert badge(client) == "1"
    assert entries(client)[0].startswith("felix liked your post.")


def test_liking_twice_tells_the_author_once(client, owner, follower):
    post = factories.post(owner)
    like(follower, post)
    like(follower, post)
    client.force_login(owner)
    assert badge(client) == "1"


def test_a_comment_shows_with_its_text_and_goes_when_deleted(client, owner, follower):
    post = factories.post(owner)
    comment = post_services.comment_create(author=follower, post=post, text="Lovely <light>")
    client.force_login(owner)
    assert badge(client) == "1"
    page = client.get(ACTIVITY).content.decode()
    assert "commented:" in page and "Lovely &lt;light&gt;" in page
    assert f'href="/p/{post.code}/#c{comment.pk}"' in page

    second = post_services.comment_create(author=follower, post=post, text="again")
    assert badge(client) == "1"
    post_services.comment_delete(comment=second)
    assert badge(client) is None
    post_services.comment_delete(comment=comment)
    assert entries(client) == []


def test_a_comment_mentioning_someone_tells_them_once(client, owner, follower, outsider):
    post = factories.post(owner)
    post_services.comment_create(author=follower, post=post, text="@oscar @olivia look @oscar")
    client.force_login(outsider)
    [entry] = entries(client)
    assert entry.startswith("felix mentioned you in a comment: @oscar @olivia look @oscar")
    client.force_login(owner)
    [entry] = entries(client)
    assert "commented:" in entry


def test_mentioning_20_people_writes_20_entries_in_one_statement(client, owner):
    people = [factories.user(username=f"friend{number}") for number in range(20)]
    caption = " ".join(f"@{person.username}" for person in people)
    with CaptureQueriesContext(connection) as queries:
        post = post_services.post_create(author=owner, photos=[], caption=caption)
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "activity_notification"')]
    assert len(inserts) == 1
    assert Notification.objects.filter(post=post, kind="mention").count() == 20
    assert set(User.objects.filter(unread_activity=1)) == set(people)
    client.force_login(people[7])
    assert entries(client)[0].startswith("olivia mentioned you in a post.")


def test_editing_a_caption_tells_only_the_newly_mentioned_and_forgets_the_dropped(
    client, owner, follower, outsider
):
    post = factories.post(owner)
    post_services.post_update(post=post, caption="with @felix", alt_texts={})
    post_services.post_update(post=post, caption="with @felix and @oscar", alt_texts={})
    post_services.post_update(post=post, caption="with @oscar", alt_texts={})
    client.force_login(outsider)
    assert badge(client) == "1"
    client.force_login(follower)
    assert badge(client) is None
    assert entries(client) == []


def test_a_post_by_someone_with_many_followers_writes_nothing_per_follower(owner):
    for _ in range(30):
        factories.follow(factories.user(), owner)
    with CaptureQueriesContext(connection) as many:
        post_services.post_create(author=owner, photos=[], caption="hello everyone")
    assert Notification.objects.count() == 0
    loner = factories.user()
    with CaptureQueriesContext(connection) as none:
        post_services.post_create(author=loner, photos=[], caption="hello everyone")
    assert len(many) == len(none)


def test_a_follow_shows_with_a_follow_back_button_and_goes_on_unfollow(client, owner, follower):
    member_services.follow_create(follower=follower, following=owner)
    client.force_login(owner)
    page = client.get(ACTIVITY).content.decode()
    assert "started following you." in page
    assert 'action="/felix/follow/"' in page
    member_services.follow_create(follower=owner, following=follower)
    assert 'action="/felix/unfollow/"' in client.get(ACTIVITY).content.decode()
    member_services.follow_delete(follower=follower, following=owner)
    assert entries(client) == []


def private(member: User) -> User:
    member.is_private = True
    member.save()
    return member


def test_follow_requests_and_approvals_are_told_to_each_side(client, owner, follower):
    member_services.follow_create(follower=follower, following=private(owner))
    client.force_login(owner)
    assert badge(client) == "1"
    assert entries(client)[0].startswith("felix asked to follow you.")
    member_services.follow_request_approve(target=owner, requester=follower)
    assert entries(client) == []  # they approved it themselves: nothing more to tell them
    client.force_login(follower)
    assert badge(client) == "1"
    assert entries(client)[0].startswith("olivia accepted your follow request.")


def test_the_page_shows_the_oldest_20_follow_requests_and_the_next_once_one_is_answered(
    client, owner
):
    private(owner)
    askers = [factories.user() for _ in range(21)]
    for asker in askers:
        member_services.follow_create(follower=asker, following=owner)
    client.force_login(owner)
    page = client.get(ACTIVITY).content.decode()
    asked = re.findall(r'aria-label="Approve (\w+)"', page)
    assert asked == [asker.username for asker in askers[:20]]
    assert "More requests appear as you answer these." in page
    member_services.follow_request_decline(target=owner, requester=askers[0])
    page = client.get(ACTIVITY).content.decode()
    assert re.findall(r'aria-label="Approve (\w+)"', page)[-1] == askers[20].username
    assert "More requests appear" not in page


def public(member: User) -> None:
    member.is_private = False
    member_services.profile_update(user=member, photo=None, remove_photo=False)


@pytest.mark.parametrize(
    "answer",
    [
        lambda owner, follower: member_services.follow_request_decline(
            target=owner, requester=follower
        ),
        lambda owner, follower: member_services.follow_request_cancel(
            requester=follower, target=owner
        ),
        lambda owner, follower: member_services.block_create(blocker=owner, blocked=follower),
        lambda owner, follower: public(owner),
    ],
    ids=["declined", "cancelled", "blocked", "went public"],
)
def test_an_answered_request_leaves_the_activity_and_the_badge(client, owner, follower, answer):
    member_services.follow_create(follower=follower, following=private(owner))
    answer(owner, follower)
    client.force_login(owner)
    assert [e for e in entries(client) if "asked to follow" in e] == []
    assert badge(client) is None


def test_nothing_shows_from_someone_i_blocked(client, owner, follower, outsider):
    post = factories.post(owner)
    like(follower, post)
    post_services.comment_create(author=follower, post=post, text="hi")
    member_services.follow_create(follower=follower, following=owner)
    like(outsider, post)
    Block.objects.create(blocker=owner, blocked=follower)
    client.force_login(owner)
    [entry] = entries(client)
    assert entry.startswith("oscar liked your post.")
    # Once blocked, they cannot reach me: mentions write nothing.
    post_services.post_create(author=follower, photos=[], caption="@olivia")
    assert [e for e in entries(client) if "mentioned" in e] == []


def test_a_block_takes_the_blocked_member_s_entries_off_the_count(client, owner, follower):
    member_services.follow_create(follower=follower, following=owner)
    activity.between_withdraw(one=owner, other=follower)
    client.force_login(owner)
    assert badge(client) is None


def test_a_hidden_or_deleted_post_takes_its_entries_away(client, owner, follower, outsider):
    hidden, deleted = factories.post(owner, "hidden"), factories.post(owner, "deleted")
    for post in (hidden, deleted):
        post_services.comment_create(author=follower, post=post, text="hey @oscar")
    type(hidden).objects.filter(pk=hidden.pk).update(hidden_at=timezone.now())
    post_services.post_delete(post=deleted)
    client.force_login(outsider)
    assert entries(client) == []
    client.force_login(owner)
    assert badge(client) == "1"
    [entry] = entries(client)
    assert "commented:" in entry


def test_a_deleted_account_leaves_no_count_behind(client, owner, follower):
    like(follower, factories.post(owner))
    member_services.member_delete(user=follower)
    client.force_login(owner)
    assert badge(client) is None


def test_the_page_is_newest_first_and_pages_by_cursor(client, owner):
    start = timezone.now() - timedelta(days=1)
    people = [factories.user() for _ in range(25)]
    for minutes, person in enumerate(people):
        member_services.follow_create(follower=person, following=owner)
        Notification.objects.filter(actor=person).update(created=start + timedelta(minutes=minutes))
    client.force_login(owner)
    first = client.get(ACTIVITY)
    shown = [entry.actor.username for entry in first.context["page"].entries]
    assert shown == [person.username for person in reversed(people)][:20]
    cursor = first.context["page"].next_cursor
    second = client.get(ACTIVITY, {"after": cursor})
    assert [entry.actor.username for entry in second.context["page"].entries] == [
        person.username for person in reversed(people[:5])
    ]
    assert second.context["page"].next_cursor is None


def test_the_page_asks_anonymous_visitors_to_log_in(client):
    response = client.get(ACTIVITY)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def _activity_of(owner, count: int) -> None:
    """``count`` entries of every kind for ``owner``, likes grouped over several likers."""
    for _ in range(count // 5):
        post = factories.post(owner, photos=2)
        people = [factories.user() for _ in range(3)]
        for person in people:
            like(person, post)
        post_services.comment_create(author=people[0], post=post, text=f"nice @{owner.username}")
        member_services.follow_create(follower=people[1], following=owner)
        activity.follow_request_notify(requester=people[2], target=owner)
        post_services.post_create(author=people[2], photos=[], caption=f"@{owner.username}")


def test_the_page_costs_the_same_queries_for_10_entries_as_for_100(
    client, owner, django_assert_num_queries
):
    _activity_of(owner, 10)
    client.force_login(owner)
    client.get("/explore/")  # the session is read and saved once, as on any later page
    assert Notification.objects.filter(recipient=owner).count() == 10
    with django_assert_num_queries(9):  # with the pending follow requests
        assert len(client.get(ACTIVITY).context["page"].entries) == 10
    _activity_of(owner, 100)
    with django_assert_num_queries(9):  # with the pending follow requests
        assert len(client.get(ACTIVITY).context["page"].entries) == 20
    with django_assert_num_queries(4):  # read, nothing new to mark
        client.get(ACTIVITY)


def test_the_badge_costs_no_query(client, owner, follower):
    post = factories.post(owner)
    client.force_login(owner)
    with CaptureQueriesContext(connection) as before:
        client.get("/explore/")
    like(follower, post)
    with CaptureQueriesContext(connection) as after:
        assert badge(client) == "1"
    assert len(after) == len(before)


def badges(client, *members) -> list[str | None]:
    """Each member's badge, logged in as them in turn."""
    found = []
    for member in members:
        client.force_login(member)
        found.append(badge(client))
    return found


def test_a_post_hidden_by_a_moderator_leaves_the_badges_of_those_who_no_longer_see_it(
    client, owner, follower, outsider
):
    post = post_services.post_create(author=owner, photos=[], caption="hi @felix")
    post_services.comment_create(author=outsider, post=post, text="look @felix")
    assert badges(client, owner, follower) == ["1", "2"]
    moderation.content_hide(moderator=factories.moderator(), target=post)
    # The author still sees their hidden post, and the comment on it.
    assert badges(client, owner, follower) == ["1", None]
    assert entries(client) == []
    moderation.content_restore(moderator=factories.moderator(), target=post)
    assert badge(client) is None
    assert len(entries(client)) == 2  # back, as read


def test_a_comment_hidden_by_a_moderator_leaves_the_badges_of_its_post_s_author_and_mentioned(
    client, owner, follower, outsider
):
    post = factories.post(owner)
    comment = post_services.comment_create(author=follower, post=post, text="hey @oscar")
    moderation.content_hide(moderator=factories.moderator(), target=comment)
    assert badges(client, owner, outsider) == [None, None]
    assert entries(client) == []


def test_a_suspended_member_s_entries_leave_the_badge(client, owner, follower):
    post = factories.post(owner)
    member_services.follow_create(follower=follower, following=owner)
    post_services.comment_create(author=follower, post=post, text="hello")
    like(follower, post)
    moderation.member_suspend(moderator=factories.moderator(), member=follower, reason="Spam")
    client.force_login(owner)
    assert badge(client) is None
    assert entries(client) == []


def test_a_post_deleted_by_a_moderator_leaves_the_badges_of_those_it_mentioned(
    client, owner, follower
):
    post = post_services.post_create(author=owner, photos=[], caption="hi @felix")
    moderation.content_delete(moderator=factories.moderator(), target=post)
    client.force_login(follower)
    assert badge(client) is None


def test_a_mention_in_a_private_account_s_post_counts_only_for_those_who_see_it(
    client, owner, follower, outsider
):
    member_services.follow_create(follower=follower, following=private(owner))
    member_services.follow_request_approve(target=owner, requester=follower)
    post_services.post_create(author=owner, photos=[], caption="hi @felix @oscar")
    assert badges(client, follower, outsider) == ["2", None]
    assert entries(client) == []
    member_services.follow_create(follower=outsider, following=owner)
    member_services.follow_request_approve(target=owner, requester=outsider)
    assert len(entries(client)) == 2  # the mention, read, and the approval


@pytest.mark.parametrize("how", ["delete page", "delete action"])
def test_a_post_or_comment_deleted_in_the_admin_leaves_the_badges(client, owner, follower, how):
    post = post_services.post_create(author=owner, photos=[], caption="hi @felix")
    comment = post_services.comment_create(author=follower, post=post, text="hello @olivia")
    other = factories.post(owner)
    like(follower, other)
    assert badges(client, owner, follower) == ["2", "1"]
    client.force_login(factories.user(username="root", is_staff=True, is_superuser=True))
    for model, row in (("comment", comment), ("post", post)):
        if how == "delete page":
            url = f"/admin/posts/{model}/{row.pk}/delete/"
            answer = client.post(url, {"post": "yes"})
        else:
            data = {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
            answer = client.post(f"/admin/posts/{model}/", data)
        assert answer.status_code == 302
        assert not type(row).objects.filter(pk=row.pk).exists()
    # The like of the other post still counts; the comment and the mention no longer do.
    assert badges(client, owner, follower) == ["1", None]


def _form_data(page: str) -> dict[str, str]:
    """The values a browser would send from an admin change form as it is."""
    data = {}
    for tag in re.findall(r"<(?:input|textarea)[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if (
            name is None
            or 'type="submit"' in tag
            or ('type="checkbox"' in tag and "checked" not in tag)
        ):
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        data[name] = html.unescape(text.strip("\n"))
    return data


def test_a_member_made_inactive_in_the_admin_leaves_the_badge(client, owner, follower):
    like(follower, factories.post(owner))
    assert badges(client, owner) == ["1"]
    client.force_login(factories.user(username="root", is_staff=True, is_superuser=True))
    url = f"/admin/members/user/{follower.pk}/change/"
    data = _form_data(client.get(url).content.decode())
    del data["is_active"]  # unticked
    assert client.post(url, data).status_code == 302
    follower.refresh_from_db()
    assert not follower.is_active
    assert badges(client, owner) == [None]


def test_a_comment_deleted_from_its_post_in_the_admin_leaves_the_badge(client, owner, follower):
    post = factories.post(owner)
    post_services.comment_create(author=follower, post=post, text="hello")
    assert badges(client, owner) == ["1"]
    client.force_login(factories.user(username="root", is_staff=True, is_superuser=True))
    url = f"/admin/posts/post/{post.pk}/change/"
    data = _form_data(client.get(url).content.decode())
    data["comments-0-DELETE"] = "on"
    assert client.post(url, data).status_code == 302
    assert not post.comments.exists()
    assert badges(client, owner) == [None]
