"""The member's activity page."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from activity import selectors, services
from members.selectors import follow_requests_pending

# The oldest pending follow requests shown above the entries; answering them shows the next.
FOLLOW_REQUESTS_SHOWN = 20


@login_required
def activity(request: HttpRequest) -> HttpResponse:
    """Newest first; opening it marks everything read (entries new until now stay marked on
    this page, read from the rows before they were marked)."""
    page = selectors.activity_page(viewer=request.user, cursor=request.GET.get("after"))
    services.activity_seen(user=request.user)
    requests = list(follow_requests_pending(user=request.user)[: FOLLOW_REQUESTS_SHOWN + 1])
    context = {
        "page": page,
        "follow_requests": requests[:FOLLOW_REQUESTS_SHOWN],
        "more_follow_requests": len(requests) > FOLLOW_REQUESTS_SHOWN,
    }
    return render(request, "activity/activity.html", context)
