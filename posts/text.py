"""#hashtags and @mentions in captions and comments: finding them and linking them safely.

Turning text into HTML must never fail, whatever the text: a caption or comment is shown on pages
that everyone, its author included, needs in order to remove it.
"""

import re
from datetime import date, datetime
from functools import lru_cache

from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from members.models import USERNAME_MAX_LENGTH

TAG_MAX_LENGTH = 100
# A tag is letters, digits and '_' in any script; '&#' (an entity) and 'a#b' are not tags.
TAG_RE = re.compile(rf"(?<![\w&#])#(\w{{1,{TAG_MAX_LENGTH}}})")
# Usernames are [a-z0-9._] and end in a letter, digit or '_': a trailing period ends the
# sentence, not the name, so "@." or "@..." mentions no one.
MENTION_RE = re.compile(rf"(?<![\w.@])@([A-Za-z0-9._]{{0,{USERNAME_MAX_LENGTH - 1}}}[A-Za-z0-9_])")
TOKEN_RE = re.compile(f"{TAG_RE.pattern}|{MENTION_RE.pattern}")
NOT_WORD_RE = re.compile(r"\W")


def tag_name(word: str) -> str:
    """The tag that ``#word`` names: lowercase, so #Sunset is #sunset.

    Lowercasing can lengthen a word: "İ" becomes "i" and a combining dot above, which no word
    holds. Keeping word characters only makes the name no longer than the word (so it fits its
    column) and a name that reads back as the same tag.
    """
    return NOT_WORD_RE.sub("", word.lower())


def hashtags(text: str) -> list[str]:
    """The distinct tags in ``text``, lowercase, in order of first use."""
    return list(dict.fromkeys(tag_name(word) for word in TAG_RE.findall(text)))


def mentions(text: str) -> list[str]:
    """The distinct usernames mentioned in ``text``, lowercase, in order of first use."""
    return list(dict.fromkeys(name.lower() for name in MENTION_RE.findall(text)))


def linkify(text: str, unlinked: frozenset[str] = frozenset()) -> SafeString:
    """``text`` as HTML: everything escaped, #tags and @mentions linked, except mentions of the
    (lowercase) usernames in ``unlinked``, which stay plain text.

    As on Instagram, every well-formed @mention is a link; one naming no member leads to the
    profile page's 404. That keeps pages free of a query to look the names up; ``unlinked``
    holds the few names the viewer must not be led to (members.selectors.unreachable_usernames).
    """
    parts: list[str] = []
    position = 0
    for match in TOKEN_RE.finditer(text):
        word, name = match.group(1), match.group(2)
        if word:
            url = reverse("posts:tag", kwargs={"name": tag_name(word)})
            link = format_html('<a href="{}">#{}</a>', url, word)
        elif name.lower() in unlinked:
            link = escape(match.group(0))
        else:
            url = reverse("members:profile", kwargs={"username": name.lower()})
            link = format_html('<a href="{}">@{}</a>', url, name)
        parts.append(escape(text[position : match.start()]))
        parts.append(link)
        position = match.end()
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece above is escaped or format_html


WEEK = 604_800


def ago(moment: datetime) -> str:
    """How long ago, as Instagram writes it: "now", "5m", "3h", "2d", "4w", then the date."""
    seconds = int((timezone.now() - moment).total_seconds())
    if seconds >= 52 * WEEK:
        return _day(moment.date(), get_language())
    for unit, size in (("w", WEEK), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "now"


@lru_cache(maxsize=4096)
def _day(day: date, language: str | None) -> str:
    """The date as ``ago`` writes it, in ``language``: formatted once per day, since Django's
    date formatting (translated month names) cost more than the rest of a page's "ago"s."""
    return date_format(day, "M j, Y")
