"""Members report a post, a comment or an account. Views validate, call one service, then
redirect or render; the queue moderators work through is in the admin (moderation/admin.py)."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from config.errors import wants_json
from config.ratelimit import per_member
from members.models import User
from members.views import next_url
from moderation import services
from moderation.forms import ReportForm
from moderation.models import kind_of
from posts.models import Comment, Post

THANKS = "Thanks, we'll look at it."


def _report(request: HttpRequest, target: models.Model, back: str) -> HttpResponse:
    """The report form for ``target`` (seen by the member: the caller looked it up through
    ``visible_to``), and what it sends; then back to ``back`` with the thanks."""
    form = ReportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.report_create(
                    reporter=request.user,
                    target=target,
                    reason=form.cleaned_data["reason"],
                    text=form.cleaned_data["text"],
                )
            except ValueError as exc:
                if wants_json(request):
                    return JsonResponse({"error": str(exc)}, status=400)
                messages.error(request, str(exc))
                return redirect(next_url(request, back))
            if wants_json(request):
                return JsonResponse({"message": THANKS})
            messages.success(request, THANKS)
            return redirect(next_url(request, back))
        if wants_json(request):
            return JsonResponse({"errors": form.errors}, status=400)
    context = {"form": form, "target": target, "kind": kind_of(target), "back": back}
    return render(request, "moderation/report.html", context, status=status)


def reported(view):
    """The views' shared guard: logged-in members only, and reports limited per member."""
    return login_required(
        per_member(
            "report",
            setting="REPORT_LIMIT_PER_DAY",
            window=timedelta(days=1),
            message="You've sent a lot of reports today. Wait {minutes} minutes and try again.",
        )(view)
    )


@reported
def report_post(request: HttpRequest, code: str) -> HttpResponse:
    post = get_object_or_404(Post.objects.visible_to(request.user), code=code)
    return _report(request, post, post.get_absolute_url())


@reported
def report_comment(request: HttpRequest, code: str, comment_id: int) -> HttpResponse:
    comment = get_object_or_404(
        Comment.objects.visible_to(request.user).select_related("post", "author"),
        pk=comment_id,
        post__code=code,
    )
    return _report(request, comment, f"{comment.post.get_absolute_url()}#c{comment.pk}")


@reported
def report_account(request: HttpRequest, username: str) -> HttpResponse:
    account = get_object_or_404(User.objects.visible_to(request.user).named(username))
    return _report(request, account, account.get_absolute_url())
