from django import template
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

from posts import cards
from posts.text import ago, linkify

register = template.Library()
register.filter("ago", ago)


@register.simple_tag(takes_context=True)
def linked(context, text: str) -> SafeString:
    """User text, escaped, with #tags and @mentions linked: ``{% linked comment.text %}``.

    Mentions of members the viewer blocks, or is blocked by, are not links. A tag rather than
    a filter because it needs the viewer (posts.cards.unlinked_names: read once per request,
    and only for a viewer in a block at all). In a card rendered for the cache, which sees no
    viewer, the names not to link are those its key names (posts.cards.feed_cards).
    """
    if context.get(cards.SLOTTED):
        return linkify(text, context.get(cards.UNLINKED, frozenset()))
    if "@" not in text:
        return linkify(text)
    return linkify(text, cards.unlinked_names(context.get("request")))


@register.simple_tag(takes_context=True)
def per_viewer(context: template.Context, name: str, comment=None) -> SafeString:
    """What differs per viewer (posts.cards.PER_VIEWER): a slot in a card rendered for the
    cache, the viewer's value itself otherwise."""
    post = context.get("post")
    if context.get(cards.SLOTTED):
        return cards.slot(name, None if comment is None else comment.pk)
    value = cards.PER_VIEWER[name](context.request, post, comment)
    return mark_safe(value)  # noqa: S308 - PER_VIEWER values are escaped HTML


@register.simple_tag(takes_context=True)
def topbar(context: template.Context) -> SafeString:
    """The page's top bar, from the cache of rendered fragments (posts.cards.topbar); rendered
    as it is where a page has no request (an error page rendered without one)."""
    request = context.get("request")
    if request is None:
        html = get_template("_topbar.html").render({"user": context.get("user"), "view_name": ""})
        return mark_safe(html)  # noqa: S308 - a rendered template
    return cards.topbar(request, context["user"])
