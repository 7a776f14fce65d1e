from django import template
from django.utils.safestring import SafeString

from posts.text import linkify

register = template.Library()


@register.filter
def linked(text: str) -> SafeString:
    """User text, escaped, with #tags and @mentions linked."""
    return linkify(text)
