"""#hashtags and @mentions in captions and comments: finding them and linking them safely."""

import re

from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from members.models import USERNAME_MAX_LENGTH

TAG_MAX_LENGTH = 100
# A tag is letters, digits and '_' in any script; '&#' (an entity) and 'a#b' are not tags.
TAG_RE = re.compile(rf"(?<![\w&#])#(\w{{1,{TAG_MAX_LENGTH}}})")
# Usernames are [a-z0-9._]; a trailing period ends the sentence, not the name.
MENTION_RE = re.compile(rf"(?<![\w.@])@([A-Za-z0-9._]{{1,{USERNAME_MAX_LENGTH}}})")
TOKEN_RE = re.compile(f"{TAG_RE.pattern}|{MENTION_RE.pattern}")


def _mention(match_text: str) -> str:
    return match_text.rstrip(".").lower()


def hashtags(text: str) -> list[str]:
    """The distinct tags in ``text``, lowercase, in order of first use."""
    return list(dict.fromkeys(tag.lower() for tag in TAG_RE.findall(text)))


def mentions(text: str) -> list[str]:
    """The distinct usernames mentioned in ``text``, lowercase, in order of first use."""
    names = (_mention(name) for name in MENTION_RE.findall(text))
    return list(dict.fromkeys(name for name in names if name))


def linkify(text: str) -> SafeString:
    """``text`` as HTML: everything escaped, #tags and @mentions linked.

    As on Instagram, every well-formed @mention is a link; one naming no member leads to the
    profile page's 404. That keeps pages free of a query to look the names up.
    """
    parts: list[str] = []
    position = 0
    for match in TOKEN_RE.finditer(text):
        tag, name = match.group(1), match.group(2)
        if tag:
            url = reverse("posts:tag", kwargs={"name": tag.lower()})
            link = format_html('<a href="{}">#{}</a>', url, tag)
        else:
            username = _mention(name)
            url = reverse("members:profile", kwargs={"username": username})
            trailing = name[len(username) :]
            link = format_html('<a href="{}">@{}</a>{}', url, name[: len(username)], trailing)
        parts.append(escape(text[position : match.start()]))
        parts.append(link)
        position = match.end()
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece above is escaped or format_html
