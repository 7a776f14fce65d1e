"""The moderation queue in the admin: open reports grouped by target, each action through the
admin, the audit log nobody edits, and what the Moderators group may and may not do."""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from moderation import services
from moderation.models import AuditEntry, Report
from moderation.roles import MODERATOR_PERMISSIONS
from posts import services as post_services
from posts.forms import Photo
from posts.models import Comment, Post
from tests import factories, imagefactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/moderation/report/"
ACT = "/admin/moderation/report/act/"
AUDIT = "/admin/moderation/auditentry/"


@pytest.fixture
def moderator(db):
    return factories.moderator(username="mona")


@pytest.fixture
def post(owner):
    return factories.post(owner, "Cheap watches, click the link")


@pytest.fixture
def reported(post, follower, outsider):
    """The post, reported twice for spam and once with words of the reporter's own."""
    third = factories.user(username="tess")
    services.report_create(reporter=follower, target=post, reason="spam")
    services.report_create(reporter=outsider, target=post, reason="spam")
    services.report_create(reporter=third, target=post, reason="other", text="Scam, took my money")
    return post


@pytest.fixture
def mod_client(client, moderator):
    client.force_login(moderator)
    return client


def act(client: Client, target, kind: str, action: str, reason: str = "", confirmed=False):
    data = {"kind": kind, "target": target.pk, "action": action, "reason": reason}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(ACT, data, follow=True)


def case_html(page: str, kind: str, pk: int) -> str:
    match = re.search(rf'<fieldset[^>]*data-case="{kind}-{pk}".*?</fieldset>', page, re.S)
    assert match, f"no case for {kind} {pk}"
    return match.group(0)


def test_the_admin_index_links_to_the_queue(mod_client):
    page = mod_client.get("/admin/").content.decode()
    assert f'href="{QUEUE}"' in page
    assert "Moderation queue" in page
    assert f'href="{AUDIT}"' in page


def test_the_queue_groups_open_reports_by_target(mod_client, reported, outsider, owner):
    comment = factories.comment(owner, reported, "You are all idiots")
    services.report_create(reporter=outsider, target=comment, reason="harassment")
    services.report_create(reporter=outsider, target=owner, reason="spam")

    page = mod_client.get(QUEUE).content.decode()
    post_case = case_html(page, "post", reported.pk)
    assert "3 reports" in post_case
    assert "Spam: 2" in post_case and "Something else: 1" in post_case
    assert "“Scam, took my money”" in post_case
    assert "Cheap watches" in post_case
    assert re.search(r"the first \d+\xa0minutes? ago|the first 0\xa0minutes ago", post_case)
    # The thumbnail is the storage's signed URL, not one built by hand.
    src = re.search(r'<img src="([^"]+)"', post_case).group(1).replace("&amp;", "&")
    thumbnail = reported.images.get().thumbnail
    assert f"/media/{thumbnail.name}?" in src and "X-Amz-Signature=" in src

    comment_case = case_html(page, "comment", comment.pk)
    assert "1 report<" in comment_case and "You are all idiots" in comment_case
    assert "Bullying or harassment: 1" in comment_case
    account_case = case_html(page, "account", owner.pk)
    assert "1 report<" in account_case and owner.username in account_case
    # Most reported first.
    assert page.index('data-case="post-') < page.index('data-case="comment-')


def test_the_queue_costs_the_same_queries_for_more_reports(
    mod_client, reported, outsider, django_assert_max_num_queries
):
    mod_client.get(QUEUE)
    with django_assert_max_num_queries(20) as few:
        mod_client.get(QUEUE)
    for number in range(10):
        other = factories.post(outsider, f"post {number}")
        services.report_create(reporter=factories.user(), target=other, reason="spam")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = mod_client.get(QUEUE).content.decode()
    assert page.count("data-case=") == 11


def test_dismissing_closes_the_reports_and_leaves_the_post(mod_client, moderator, reported):
    response = act(mod_client, reported, "post", "dismiss", "Not spam, a shop")
    assert response.status_code == 200
    assert f'data-case="post-{reported.pk}"' not in response.content.decode()
    assert not Report.objects.open().exists()
    assert set(Report.objects.values_list("resolution", flat=True)) == {"dismissed"}
    assert Client().get(reported.get_absolute_url()).status_code == 200
    entry = AuditEntry.objects.get()
    assert (entry.moderator, entry.action) == (moderator, "dismiss")
    assert entry.reason == "Not spam, a shop"
    assert entry.reports == "Spam: 2, Something else: 1"


def test_hiding_a_post_keeps_it_for_its_author_and_staff_only(
    mod_client, reported, owner, outsider
):
    act(mod_client, reported, "post", "hide", "Scam")
    reported.refresh_from_db()
    assert reported.hidden_at is not None
    assert reported.images.count() == 1  # kept, only hidden
    assert not Report.objects.open().exists()
    visitor, stranger, author = Client(), Client(), Client()
    stranger.force_login(outsider)
    author.force_login(owner)
    assert visitor.get(reported.get_absolute_url()).status_code == 404
    assert stranger.get(reported.get_absolute_url()).status_code == 404
    assert author.get(reported.get_absolute_url()).status_code == 200
    assert mod_client.get(reported.get_absolute_url()).status_code == 200
    assert AuditEntry.objects.get().action == "hide"


def test_hiding_a_comment(mod_client, post, owner, outsider):
    comment = factories.comment(owner, post, "Rude words here")
    services.report_create(reporter=outsider, target=comment, reason="harassment")
    act(mod_client, comment, "comment", "hide")
    stranger = Client()
    stranger.force_login(outsider)
    assert "Rude words here" not in stranger.get(post.get_absolute_url()).content.decode()
    assert "Rude words here" in mod_client.get(post.get_absolute_url()).content.decode()


def test_deleting_a_post_removes_its_photos_after_commit_and_keeps_the_log(
    mod_client, owner, outsider, bucket, django_capture_on_commit_callbacks
):
    source = imagefactory.jpeg(300, 300)
    post = post_services.post_create(author=owner, photos=[Photo(source, "")], caption="")
    services.report_create(reporter=outsider, target=post, reason="violence")
    assert len(bucket.keys()) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = act(mod_client, post, "post", "delete", "Gore", confirmed=True)
    assert response.status_code == 200
    assert not Post.objects.exists() and not Report.objects.exists()
    assert bucket.keys() == []
    entry = AuditEntry.objects.get()
    assert entry.action == "delete" and post.code in entry.target_label
    assert entry.reports == "Violence or dangerous organisations: 1"


def test_delete_asks_first_and_deletes_only_once_confirmed(mod_client, reported, owner, outsider):
    comment = factories.comment(outsider, reported, "Looks legit")
    factories.comment(owner, reported, "It is")
    factories.like(outsider, reported)
    asked = act(mod_client, reported, "post", "delete", "Scam")
    assert asked.redirect_chain == []
    page = asked.content.decode()
    assert f'data-confirm="post-{reported.pk}"' in page and "It cannot be undone" in page
    summary = re.search(r"<h2>Summary</h2>\s*<ul>(.*?)</ul>", page, re.S).group(1)
    assert set(re.findall(r"<li>(.*?)</li>", summary)) == {
        "Posts: 1",
        "Post images: 1",
        "Comments: 2",
        "Likes: 1",
        "Reports: 3",
    }
    for hidden in ('name="confirmed" value="yes"', 'name="action" value="delete"', 'value="Scam"'):
        assert hidden in page
    assert Post.objects.filter(pk=reported.pk).exists() and Comment.objects.filter(pk=comment.pk)
    assert Report.objects.open().count() == 3 and not AuditEntry.objects.exists()

    done = act(mod_client, reported, "post", "delete", "Scam", confirmed=True)
    assert done.redirect_chain == [(QUEUE, 302)]
    assert not Post.objects.exists() and not Comment.objects.exists()
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.reason) == ("delete", "Scam")
    assert entry.moderator_name == "mona" and reported.code in entry.target_label


def test_deleting_a_comment(mod_client, post, owner, outsider):
    comment = factories.comment(owner, post, "spam spam")
    services.report_create(reporter=outsider, target=comment, reason="spam")
    act(mod_client, comment, "comment", "delete", confirmed=True)
    assert not Comment.objects.exists()
    assert AuditEntry.objects.get().target_kind == "comment"


def test_suspending_the_author_from_a_post_s_reports(mod_client, reported, owner, outsider):
    services.report_create(reporter=outsider, target=owner, reason="spam")
    response = act(mod_client, reported, "post", "suspend", "Selling fakes")
    assert response.status_code == 200
    owner.refresh_from_db()
    assert not owner.is_active and owner.suspension_reason == "Selling fakes"
    assert not Report.objects.open().exists()
    assert set(Report.objects.values_list("resolution", flat=True)) == {"suspended"}
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.target_kind, entry.target_id) == ("suspend", "account", owner.pk)
    # Everything they shared is gone, for staff too; the row is kept.
    assert Client().get(reported.get_absolute_url()).status_code == 404
    assert mod_client.get(reported.get_absolute_url()).status_code == 404
    assert Post.objects.filter(pk=reported.pk).exists()
    page = mod_client.get(QUEUE).content.decode()
    assert f'data-acted="account-{owner.pk}"' in page


def test_suspending_needs_a_reason(mod_client, reported, owner):
    response = act(mod_client, reported, "post", "suspend", "  ")
    assert "Say why" in response.content.decode()
    owner.refresh_from_db()
    assert owner.is_active and not AuditEntry.objects.exists()


def test_staff_are_not_suspended_from_the_queue(mod_client, outsider):
    admin = factories.user(username="root", is_staff=True, is_superuser=True)
    services.report_create(reporter=outsider, target=admin, reason="spam")
    response = act(mod_client, admin, "account", "suspend", "Because")
    assert "Staff accounts are not suspended" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active


def test_restoring_a_hidden_post_and_a_suspended_member(mod_client, reported, owner):
    act(mod_client, reported, "post", "hide")
    act(mod_client, reported, "post", "suspend", "Spam")
    page = mod_client.get(QUEUE).content.decode()
    assert f'data-acted="post-{reported.pk}"' in page
    act(mod_client, owner, "account", "restore", "Appeal accepted")
    act(mod_client, reported, "post", "restore")
    owner.refresh_from_db()
    reported.refresh_from_db()
    assert owner.is_active and owner.suspension_reason == ""
    assert reported.hidden_at is None
    assert Client().get(reported.get_absolute_url()).status_code == 200
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "hide",
        "suspend",
        "restore",
        "restore",
    ]


def test_the_audit_log_is_shown_and_editable_by_nobody(mod_client, moderator, reported):
    act(mod_client, reported, "post", "hide", "Scam")
    entry = AuditEntry.objects.get()
    page = mod_client.get(AUDIT).content.decode()
    assert "mona" in page and "Scam" in page and reported.code in page
    root = Client()
    root.force_login(factories.user(username="root", is_staff=True, is_superuser=True))
    assert root.get(AUDIT).status_code == 200
    assert root.get(f"{AUDIT}add/").status_code == 403
    assert root.post(f"{AUDIT}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    root.post(f"{AUDIT}{entry.pk}/change/", {"reason": "Nothing happened"})
    bulk = {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    root.post(AUDIT, bulk)
    entry.refresh_from_db()
    assert entry.reason == "Scam"
    change = root.get(f"{AUDIT}{entry.pk}/change/").content.decode()
    assert 'name="reason"' not in change  # shown read-only
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()


def test_the_moderators_group_has_exactly_the_queue_s_permissions(moderator):
    group = Group.objects.get(name="Moderators")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert codenames == set(MODERATOR_PERMISSIONS)
    assert moderator.is_staff and not moderator.is_superuser


def test_a_moderator_cannot_edit_members_or_posts(mod_client, owner, post):
    for url in (
        "/admin/members/user/",
        f"/admin/members/user/{owner.pk}/change/",
        f"/admin/members/user/{owner.pk}/password/",
        f"/admin/posts/post/{post.pk}/change/",
        f"/admin/posts/post/{post.pk}/delete/",
        "/admin/auth/group/",
    ):
        assert mod_client.get(url).status_code == 403, url
    response = mod_client.post(
        f"/admin/members/user/{owner.pk}/password/",
        {"password1": "taken-over-123", "password2": "taken-over-123"},
    )
    assert response.status_code == 403
    owner.refresh_from_db()
    assert owner.check_password(factories.PASSWORD)


def test_staff_outside_the_group_cannot_use_the_queue(client, reported):
    client.force_login(factories.user(username="intern", is_staff=True))
    assert client.get(QUEUE).status_code == 403
    response = client.post(ACT, {"kind": "post", "target": reported.pk, "action": "hide"})
    assert response.status_code == 403
    reported.refresh_from_db()
    assert reported.hidden_at is None and not AuditEntry.objects.exists()


def test_each_action_needs_its_own_permission(client, reported, owner):
    dismisser = factories.user(username="dan", is_staff=True)
    dismisser.user_permissions.set(
        Permission.objects.filter(codename__in=["view_report", "change_report"])
    )
    client.force_login(dismisser)
    page = client.get(QUEUE).content.decode()
    assert 'value="dismiss"' in page and 'value="delete"' not in page
    for action in ("hide", "delete", "suspend"):
        data = {"kind": "post", "target": reported.pk, "action": action, "reason": "x"}
        assert client.post(ACT, data).status_code == 403
    dismiss = {"kind": "post", "target": reported.pk, "action": "dismiss"}
    assert client.post(ACT, dismiss).status_code == 302


def test_members_cannot_reach_the_queue(client, outsider):
    client.force_login(outsider)
    response = client.get(QUEUE)
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_an_account_is_not_hidden_or_deleted_and_unknown_targets_are_404(mod_client, owner):
    response = act(mod_client, owner, "account", "delete")
    assert "An account is suspended, not hidden or deleted." in response.content.decode()
    owner.refresh_from_db()
    assert owner.is_active
    missing = {"kind": "post", "target": 999_999, "action": "hide"}
    assert mod_client.post(ACT, missing).status_code == 404
    assert mod_client.get(ACT).status_code == 405
    assert not AuditEntry.objects.exists()
