from functools import cache

from django import template
from django.db import models
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from moderation.forms import ReportForm
from moderation.models import kind_of

register = template.Library()

_LABELS = {"post": "Report post", "comment": "Report comment", "account": "Report account"}
_ID = "\x00id\x00"  # where the target's id goes in _fields (no id or label holds a NUL)


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
        "fields": mark_safe(_fields(kind).replace(_ID, str(target.pk))),  # noqa: S308 - an int
        "request": context["request"],
        "csrf_token": context.get("csrf_token"),
    }


def report_form_html(request: HttpRequest, target: models.Model, *, csrf_token: str) -> str:
    """The report form ``{% report_form target %}`` writes, for the viewer of ``request``: a
    per-viewer slot of the cached post page (posts.cards), with the page's ``csrf_token``."""
    context = {"user": request.user, "request": request, "csrf_token": csrf_token}
    found = report_form(context, target)
    return render_to_string("moderation/_report_form.html", found) if found["shown"] else ""


@cache
def _fields(kind: str) -> str:
    """The unbound report form's fields for a ``kind`` of target, rendered once per process:
    they differ from one target to the next only in their ids (``_ID``). Django renders a
    form's widgets through templates, which made the four report forms of a post page a third
    of its time."""
    form = ReportForm(auto_id=f"report-{kind}-{_ID}-%s")
    return "".join(render_to_string("_field.html", {"field": field}) for field in form)
