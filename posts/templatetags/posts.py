from django import template
from django.utils.safestring import SafeString, mark_safe

from posts import cards
from posts.text import ago, linkify

register = template.Library()
register.filter("ago", ago)


@register.filter
def linked(text: str) -> SafeString:
    """User text, escaped, with #tags and @mentions linked."""
    return linkify(text)


@register.simple_tag(takes_context=True)
def per_viewer(context: template.Context, name: str, comment=None) -> SafeString:
    """What differs per viewer (posts.cards.PER_VIEWER): a slot in a card rendered for the
    cache, the viewer's value itself otherwise."""
    post = context.get("post")
    if context.get(cards.SLOTTED):
        return cards.slot(name, None if comment is None else comment.pk)
    value = cards.PER_VIEWER[name](context.request, post, comment)
    return mark_safe(value)  # noqa: S308 - PER_VIEWER values are escaped HTML
