"""What a search box's text asks for: people, tags or both, and the words to look for.

Pure functions of the text, no ORM: whatever a visitor types (control characters, lone
surrogates, a thousand characters) gives a ``Query``, never an error.
"""

import unicodedata
from dataclasses import dataclass

from posts.text import tag_name

QUERY_MAX_LENGTH = 100
# Characters no name holds and PostgreSQL or the database driver may refuse (NUL, surrogates).
_DROPPED = {"Cc", "Cs"}


@dataclass(frozen=True)
class Query:
    """``people`` and ``tags`` say what to search; ``text`` is folded for people (lowercase,
    trimmed) and ``tag`` as a tag name (posts.text.tag_name). Empty text searches nothing."""

    typed: str
    text: str
    tag: str
    people: bool
    tags: bool

    @property
    def empty(self) -> bool:
        return not (self.people and self.text) and not (self.tags and self.tag)


def query_parse(typed: str) -> Query:
    """A leading ``#`` searches tags only, ``@`` people only; otherwise both."""
    typed = "".join(char for char in typed if unicodedata.category(char) not in _DROPPED)
    typed = typed.strip()[:QUERY_MAX_LENGTH]
    people = tags = True
    words = typed
    if words.startswith("#"):
        people, words = False, words[1:]
    elif words.startswith("@"):
        tags, words = False, words[1:]
    # Lowercasing can lengthen text ("İ"), so the length is capped again afterwards.
    text = " ".join(words.lower().split())[:QUERY_MAX_LENGTH]
    return Query(typed=typed, text=text, tag=tag_name(text), people=people, tags=tags)
