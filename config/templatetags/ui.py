"""Icons and avatars as tags: strings built once, not templates included dozens of times a page."""

import unicodedata
from functools import cache

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

STROKE = 'fill="none" stroke="currentColor" stroke-width="2"'
# Inline SVG: no icon font, no emoji font, nothing fetched from elsewhere.
ICONS = {
    "home": f'<path d="M3 10.5 12 3l9 7.5V21h-6v-6H9v6H3z" {STROKE} stroke-linejoin="round"/>',
    "explore": f'<circle cx="12" cy="12" r="9.5" {STROKE}/>'
    f'<path d="m15.8 8.2-2.2 5.4-5.4 2.2 2.2-5.4z" {STROKE} stroke-linejoin="round"/>',
    "new": f'<rect x="3" y="3" width="18" height="18" rx="5" {STROKE}/>'
    f'<path d="M12 7.5v9M7.5 12h9" {STROKE} stroke-linecap="round"/>',
    "heart": '<path d="M12 20.5s-7.5-4.6-9.3-9.2C1.4 7.9 3.6 4.5 7 4.5c2.1 0 3.5 1.2 5 3 1.5-1.8 '
    '2.9-3 5-3 3.4 0 5.6 3.4 4.3 6.8-1.8 4.6-9.3 9.2-9.3 9.2z" fill="{fill}" '
    'stroke="currentColor" stroke-width="2" stroke-linejoin="round"/>',
    "comment": f'<path d="M20.5 11.7a8.5 8.5 0 0 1-12.6 7.5L3.5 20.5l1.4-4.2A8.5 8.5 0 1 1 20.5 '
    f'11.7z" {STROKE} stroke-linejoin="round"/>',
    "bookmark": '<path d="M5.5 3.5h13v17L12 15l-6.5 5.5z" fill="{fill}" stroke="currentColor" '
    'stroke-width="2" stroke-linejoin="round"/>',
    "photos": '<rect x="7" y="3" width="14" height="14" rx="2" fill="currentColor"/>'
    f'<path d="M4 7v12a2 2 0 0 0 2 2h12" {STROKE}/>',
}


@register.simple_tag
@cache
def icon(name: str, size: int = 24, filled: bool = False) -> SafeString:
    shape = ICONS[name].replace("{fill}", "currentColor" if filled else "none")
    return mark_safe(  # noqa: S308 - constant markup, no user input
        f'<svg class="icon" viewBox="0 0 24 24" width="{size}" height="{size}" '
        f'aria-hidden="true" focusable="false">{shape}</svg>'
    )


@register.simple_tag
def avatar(person, size: int) -> SafeString:
    """The member's profile photo, or their initial on a gradient when they have none."""
    if person.avatar:
        return format_html(
            '<img class="avatar" data-size="{}" src="{}" width="{}" height="{}" '
            'alt="{}\'s profile photo">',
            size,
            person.avatar.url,
            size,
            size,
            person.username,
        )
    return format_html(
        '<span class="avatar avatar--empty" data-size="{}" role="img" '
        'aria-label="{} has no profile photo">{}</span>',
        size,
        person.username,
        person.username[:1].upper(),
    )


@register.filter
def plain(text: str) -> str:
    """``text`` without Unicode format characters (bidi overrides, zero-width joiners): for
    places such as a page title, where no markup can isolate user text from what follows it."""
    return "".join(char for char in text if unicodedata.category(char) != "Cf")
