"""Follows, follow requests (asking, cancelling, approving, declining), removing a follower,
and blocks."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from config import ratelimit
from members import services
from members.models import User
from members.views import next_url


def _reachable(request: HttpRequest, username: str) -> User:
    """The member ``username`` names, if the current user may see them: 404 otherwise."""
    return get_object_or_404(User.objects.visible_to(request.user).named(username))


@require_POST
@login_required
@ratelimit.per_member(
    "follow",
    setting="FOLLOW_LIMIT_PER_HOUR",
    window=timedelta(hours=1),
    message="You're following too many accounts too fast. Wait {minutes} minutes and try again.",
)
def follow(request: HttpRequest, username: str) -> HttpResponse:
    """Follow a public account; ask to follow a private one."""
    target = _reachable(request, username)
    try:
        services.follow_create(follower=request.user, following=target)
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect(next_url(request, target.get_absolute_url()))


@require_POST
@login_required
def unfollow(request: HttpRequest, username: str) -> HttpResponse:
    target = _reachable(request, username)
    services.follow_delete(follower=request.user, following=target)
    return redirect(next_url(request, target.get_absolute_url()))


@require_POST
@login_required
def follow_request_cancel(request: HttpRequest, username: str) -> HttpResponse:
    target = _reachable(request, username)
    services.follow_request_cancel(requester=request.user, target=target)
    return redirect(next_url(request, target.get_absolute_url()))


def _request_answer(request: HttpRequest, username: str, answer, done: str) -> HttpResponse:
    requester = get_object_or_404(User.objects.named(username))
    if answer(target=request.user, requester=requester):
        messages.success(request, done.format(username=requester.username))
    return redirect(next_url(request, reverse("activity:activity")))


@require_POST
@login_required
def follow_request_approve(request: HttpRequest, username: str) -> HttpResponse:
    return _request_answer(
        request, username, services.follow_request_approve, "{username} now follows you."
    )


@require_POST
@login_required
def follow_request_decline(request: HttpRequest, username: str) -> HttpResponse:
    return _request_answer(
        request, username, services.follow_request_decline, "Request from {username} declined."
    )


@require_POST
@login_required
def follower_remove(request: HttpRequest, username: str) -> HttpResponse:
    """Remove ``username`` from the current user's followers (from their followers list)."""
    follower = get_object_or_404(User.objects.named(username))
    services.follower_remove(user=request.user, follower=follower)
    messages.success(request, f"{follower.username} no longer follows you.")
    return redirect(next_url(request, reverse("members:followers", args=[request.user.username])))


@require_POST
@login_required
def block(request: HttpRequest, username: str) -> HttpResponse:
    """Block ``username``: their profile and posts are gone for the current user, and the
    current user's for them. Unblocking is in the settings, since the profile is gone too."""
    # Anyone active, even one who blocks the current user already: blocking back is allowed.
    target = get_object_or_404(User.objects.named(username), is_active=True)
    try:
        services.block_create(blocker=request.user, blocked=target)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect(target)
    messages.success(request, f"You blocked {target.username}. Unblock them here.")
    return redirect(reverse("members:settings") + "#blocked")


@require_POST
@login_required
def unblock(request: HttpRequest, username: str) -> HttpResponse:
    target = get_object_or_404(User.objects.named(username))
    services.block_delete(blocker=request.user, blocked=target)
    messages.success(request, f"You unblocked {target.username}.")
    return redirect(next_url(request, reverse("members:settings") + "#blocked"))
