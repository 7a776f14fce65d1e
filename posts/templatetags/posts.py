from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.safestring import SafeString

from members.selectors import unreachable_usernames
from posts.forms import new_submission
from posts.text import linkify

register = template.Library()
WEEK = 604_800


@register.simple_tag(takes_context=True)
def linked(context, text: str) -> SafeString:
    """User text, escaped, with #tags and @mentions linked: ``{% linked comment.text %}``.

    Mentions of members the viewer blocks, or is blocked by, are not links. A tag rather than
    a filter because it needs the viewer. Their names are read once per request, and only
    when some text mentions anyone and the viewer is in a block at all (``in_blocks``, which
    members.backends loads with the member).
    """
    request = context.get("request")
    user = getattr(request, "user", None)
    if "@" not in text or user is None or not user.is_authenticated:
        return linkify(text)
    if not getattr(user, "in_blocks", True):
        return linkify(text)
    if not hasattr(request, "_unreachable_usernames"):
        request._unreachable_usernames = unreachable_usernames(user=user)
    return linkify(text, request._unreachable_usernames)


register.simple_tag(new_submission, name="new_submission")


@register.filter
def ago(moment: datetime) -> str:
    """How long ago, as Instagram writes it: "now", "5m", "3h", "2d", "4w", then the date."""
    seconds = int((timezone.now() - moment).total_seconds())
    if seconds >= 52 * WEEK:
        return date_format(moment, "M j, Y")
    for unit, size in (("w", WEEK), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "now"
