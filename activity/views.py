"""The member's activity page."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from activity import selectors, services
from config import prepared
from members.models import User, viewer_shape
from members.selectors import follow_requests_pending
from posts import cards
from posts.text import ago

# The oldest pending follow requests shown above the entries; answering them shows the next.
FOLLOW_REQUESTS_SHOWN = 20


@login_required
def activity(request: HttpRequest) -> HttpResponse:
    """Newest first; opening it marks everything read (entries new until now stay marked on
    this page, read from the rows before they were marked).

    The entries and follow requests are rendered once for what they show (posts.cards.fragment):
    the same page for this member is served from the cache until something on it changes."""
    page = selectors.activity_page(viewer=request.user, cursor=request.GET.get("after"))
    services.activity_seen(user=request.user)
    shape = ("follow_requests_pending", viewer_shape(request.user))
    pending = prepared.run(shape, _pending, request.user)
    context = {
        "page": page,
        "follow_requests": pending[:FOLLOW_REQUESTS_SHOWN],
        "more_follow_requests": len(pending) > FOLLOW_REQUESTS_SHOWN,
        "user": request.user,
    }
    state = _shown(request.user, page, context["follow_requests"], context["more_follow_requests"])
    body = cards.fragment(request, state, "activity/_activity.html", context)
    return render(request, "activity/activity.html", {**context, "body": body})


def _pending(user: User):
    """The oldest pending follow requests shown, and one more if there are more."""
    return follow_requests_pending(user=user)[: FOLLOW_REQUESTS_SHOWN + 1]


def _shown(viewer: User, page: selectors.Entries, pending: list, more: bool) -> tuple:
    """Everything activity/_activity.html shows that can change: the cache key's content."""
    entries = [_entry(entry) for entry in page.entries]
    asking = [_person(request.requester) for request in pending]
    signatures = cards.url_signature(private=True)
    return ("activity", viewer.pk, entries, page.next_cursor, asking, more, signatures)


def _entry(entry) -> tuple:
    return (
        entry.pk, entry.kind, entry.read, entry.created.timestamp(), ago(entry.created),
        _person(entry.actor), entry.actor.followed_by_viewer,
        [_person(liker) for liker in entry.likers], entry.others,
        entry.post and (entry.post.code, entry.post.author.is_private),
        entry.photo and (entry.photo.thumbnail.name, entry.photo.alt_text),
        entry.comment and (entry.comment.pk, entry.comment.text),
    )  # fmt: skip


def _person(member: User) -> tuple:
    return (member.pk, member.username, member.full_name, member.avatar.name)
