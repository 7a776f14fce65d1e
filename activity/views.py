"""The member's activity page."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from activity import selectors, services
from config import prepared
from members.models import viewer_shape
from members.selectors import follow_requests_pending


@login_required
def activity(request: HttpRequest) -> HttpResponse:
    """Newest first; opening it marks everything read (entries new until now stay marked on
    this page, read from the rows before they were marked)."""
    page = selectors.activity_page(viewer=request.user, cursor=request.GET.get("after"))
    services.activity_seen(user=request.user)
    shape = ("follow_requests_pending", viewer_shape(request.user))
    pending = prepared.run(shape, lambda user: follow_requests_pending(user=user), request.user)
    context = {"page": page, "follow_requests": pending}
    return render(request, "activity/activity.html", context)
