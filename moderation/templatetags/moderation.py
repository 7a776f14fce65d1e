from django import template
from django.db import models
from django.urls import reverse

from moderation.forms import ReportForm
from moderation.models import kind_of

register = template.Library()

_LABELS = {"post": "Report post", "comment": "Report comment", "account": "Report account"}


def report_url(target: models.Model) -> str:
    kind = kind_of(target)
    if kind == "post":
        return reverse("moderation:report_post", args=[target.code])
    if kind == "comment":
        return reverse("moderation:report_comment", args=[target.post.code, target.pk])
    return reverse("moderation:report_account", args=[target.username])


@register.inclusion_tag("moderation/_report_form.html", takes_context=True)
def report_form(context, target: models.Model) -> dict:
    """A folded "Report" form for ``target``, for a logged-in member other than its author."""
    user = context["user"]
    kind = kind_of(target)
    own = target.pk if kind == "account" else target.author_id
    return {
        "shown": user.is_authenticated and own != user.pk,
        "action": report_url(target),
        "label": _LABELS[kind],
        "form": ReportForm(auto_id=f"report-{kind}-{target.pk}-%s"),
        "request": context["request"],
        "csrf_token": context.get("csrf_token"),
    }
