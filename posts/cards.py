"""Feed cards: rendered once for every viewer and cached, with what differs per viewer added on
each request.

A card is rendered from ``posts/_card.html`` without the request, the viewer or the CSRF token.
Where the page differs per viewer or per request (the CSRF token, the "next" address, whether
the viewer likes and has saved the post, a comment's delete button, the form's one-time key,
"5m ago" of the post and of each comment), the
template writes a slot, ``{% per_viewer "name" %}``: rendered for the cache it is a marker, NUL
name NUL, which each request replaces with that viewer's value from ``PER_VIEWER``. Rendered
as usual (the post page, the comment answer) the same tag writes the value itself, so one
template serves both. PostgreSQL text cannot hold NUL, so no caption or comment can forge a
marker; anything not written as a slot is the same for every viewer by construction, since
the template sees no ``user`` or ``request`` when it renders for the cache. The post page's
article (``posts/_detail.html``, ``detail``) is cached the same way, with all the comments the
viewer may see; its report forms and the author's Edit and Delete are slots too.

A card is cached under a key made of everything it shows that can change: the post's
``updated`` (caption and alt-text edits) and ``hidden_at``, its like and comment counts, its
author's username, photo and privacy, the ids, authors and hidden marks of the comments this
viewer may see (``Comment.objects.visible_to``, so a block or a hidden comment is a different
card; a comment hidden by a moderator is seen, marked, only by its author and staff), and the
current photo-URL signatures (``config.storage``: URLs are signed per hour, a private
account's photos per ten minutes, ``PostImage.display_url``). All of these come with the
page's own query, so a like, a comment, an edit, a hide or a block makes a new key on the next
load, on every worker; an entry no longer named is never read again and expires. The cards of
a page are fetched with one ``get_many`` from the ``fragments`` cache.

Mentions of members the viewer blocks or is blocked by are not links (``{% linked %}``). Only
a viewer in a block at all (``User.in_blocks``, loaded with the member) has such names; for
them, a card that mentions some of those names has them in its key and is rendered with them
unlinked, so it is the same card for every viewer who must not be led to the same names, and
no one else's.
"""

import hashlib
from collections.abc import Callable, Iterable
from functools import cache

from django.core.cache import caches
from django.core.files.storage import default_storage
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from members.selectors import unreachable_usernames
from moderation.templatetags.moderation import report_form_html
from posts import selectors
from posts.forms import new_submission
from posts.models import Comment, Post
from posts.text import ago, mentions

MARK = "\x00"
# Set in the context of a card rendered for the cache: per_viewer tags then write markers.
SLOTTED = "per_viewer_slots"
# Also set there: the usernames whose mentions the card does not link (see the docstring).
UNLINKED = "unlinked_names"
CACHE = "fragments"
CARD_TIMEOUT = 2 * 3600  # the photo URLs' signing window, after which the key changes anyway
_URL_PROBE = "fragments-url-probe"


def slot(name: str, argument: object = None) -> SafeString:
    """The marker a cached card holds where ``name``'s per-viewer value goes."""
    suffix = "" if argument is None else f":{argument}"
    return mark_safe(f"{MARK}{name}{suffix}{MARK}")  # noqa: S308 - a fixed name and an id


def _next(request: HttpRequest, post: Post, comment: Comment | None) -> str:
    return escape(page_values(request)["next"])


def _csrf(request: HttpRequest, post: Post, comment: Comment | None) -> str:
    return escape(page_values(request)["csrf"])


def _like(request: HttpRequest, post: Post, comment: Comment | None) -> str:
    return _like_button(bool(getattr(post, "liked", False)))


@cache
def _like_button(liked: bool) -> str:
    """The like button in one of its two states: the same for every post, so made once."""
    return get_template("posts/_like_button.html").render({"liked": liked})


def _saved(request: HttpRequest, post: Post, comment: Comment | None) -> str:
    """The save form's button; the form itself is in the cached fragment, for a member who is
    logged in (``signed_in``)."""
    return _save_button(bool(getattr(post, "saved", False)))


@cache
def _save_button(saved: bool) -> str:
    """The save button in one of its two states: the same for every post, so made once."""
    return get_template("posts/_save_button.html").render({"saved": saved})


def _submission(request: HttpRequest, post: Post, comment: Comment | None) -> str:
    return str(new_submission())


def _ago(request: HttpRequest, post: Post, comment: Comment | None) -> str:
    return escape(ago(post.created))


def _comment_ago(request: HttpRequest, post: Post, comment: Comment | None) -> str:
    return "" if comment is None else escape(ago(comment.created))


def _comment_delete(request: HttpRequest, post: Post, comment: Comment | None) -> str:
    """The delete button, for the comment's author and the post's."""
    if comment is None or request.user.pk not in (comment.author_id, post.author_id):
        return ""
    values = page_values(request)
    context = {
        "post": post,
        "comment": comment,
        "csrf_token": values["csrf"],
        "next": values["next"],
    }
    return get_template("posts/_comment_delete.html").render(context)


def _owner_tools(request: HttpRequest, post: Post, comment: Comment | None) -> str:
    """Edit and Delete, for the post's author."""
    if request.user.pk != post.author_id:
        return ""
    context = {"post": post, "csrf_token": page_values(request)["csrf"]}
    return get_template("posts/_owner_tools.html").render(context)


def _report(request: HttpRequest, post: Post, comment: Comment | None) -> str:
    """The report form of the comment (or of the post), for a member other than its author."""
    target = post if comment is None else comment
    return report_form_html(request, target, csrf_token=page_values(request)["csrf"])


# What each slot holds for the viewer of ``request``. Per-viewer parts of a card are added here
# (and written as {% per_viewer "name" %} in the template), never rendered into the cache.
PER_VIEWER: dict[str, Callable[[HttpRequest, Post, Comment | None], str]] = {
    "csrf": _csrf,
    "next": _next,
    "like": _like,
    "saved": _saved,
    "submission": _submission,
    "ago": _ago,
    "comment_ago": _comment_ago,
    "comment_delete": _comment_delete,
    "owner_tools": _owner_tools,
    "report": _report,
}
CSRF_MARK = slot("csrf")


def card_key(post: Post, *, eager: bool, urls: str, unlinked: frozenset[str] = frozenset()) -> str:
    """The cache key of ``post``'s card as this viewer sees it: see the module's docstring.
    ``unlinked``: the names this card mentions that the viewer must not be led to."""
    state = (*_content(post, post.latest_comments), eager, urls, sorted(unlinked))
    return "card:" + hashlib.blake2b(repr(state).encode(), digest_size=18).hexdigest()


def _content(post: Post, comments: Iterable[Comment]) -> tuple:
    """What a card or the post page shows of ``post`` and ``comments`` that can change."""
    author = post.author
    shown = [(c.pk, c.author.username, c.hidden_at and c.hidden_at.timestamp()) for c in comments]
    return (
        post.pk, post.updated.timestamp(), post.hidden_at and post.hidden_at.timestamp(),
        post.like_count, post.comment_count, author.username, author.avatar.name,
        author.is_private, shown,
    )  # fmt: skip


def url_signature(*, private: bool = False) -> str:
    """What photo URLs signed now share: a new signing window or new credentials change it.
    With ``private``, those of a private account's photos too (config.media.photo_url)."""
    public = default_storage.url(_URL_PROBE)
    private_url = getattr(default_storage, "private_url", None)
    if not private or private_url is None:
        return public
    return f"{public} {private_url(_URL_PROBE)}"


def unlinked_names(request: HttpRequest | None) -> frozenset[str]:
    """The usernames whose mentions are not links for the viewer of ``request``: those they
    block or are blocked by. Read once per request, and only for a viewer in a block at all
    (``in_blocks``, which members.backends loads with the member)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not getattr(user, "in_blocks", True):
        return frozenset()
    if not hasattr(request, "_unreachable_usernames"):
        request._unreachable_usernames = unreachable_usernames(user=user)
    return request._unreachable_usernames


def _texts(post: Post, comments: Iterable[Comment] | None = None) -> list[str]:
    """The member-written texts of ``post``'s card (or of ``comments`` with its caption) that
    may mention someone."""
    shown = post.latest_comments if comments is None else comments
    return [post.caption, *(comment.text for comment in shown)]


def _mentioned(texts: list[str], names: frozenset[str]) -> frozenset[str]:
    """Which of ``names`` ``texts`` mention."""
    if not names:
        return frozenset()
    return frozenset(name for text in texts if "@" in text for name in mentions(text)) & names


def feed_cards(request: HttpRequest, posts: list[Post]) -> list[SafeString]:
    """Each post's card as the viewer of ``request`` sees it, rendered only if not cached."""
    signatures = {private: url_signature(private=private) for private in (False, True)}
    mentioning = any("@" in text for post in posts for text in _texts(post))
    names = unlinked_names(request) if mentioning else frozenset()
    unlinked = [_mentioned(_texts(post), names) for post in posts]
    keys = [
        card_key(post, eager=i == 0, urls=signatures[post.author.is_private], unlinked=unlinked[i])
        for i, post in enumerate(posts)
    ]
    fragments = caches[CACHE]
    found = fragments.get_many(keys)
    missing = [(key, i) for i, key in enumerate(keys) if key not in found]
    if missing:
        selectors.post_images_load([posts[i] for _, i in missing])
        # Only members see the feed: a card is always for one signed in (its save form).
        made = {
            key: _rendered(
                "posts/_card.html",
                {"post": posts[i], "eager": i == 0, "signed_in": True, UNLINKED: unlinked[i]},
            )
            for key, i in missing
        }
        fragments.set_many(made, CARD_TIMEOUT)
        found.update(made)
    return [
        _filled(found[key], request, post=post, comments=post.latest_comments)
        for key, post in zip(keys, posts, strict=True)
    ]


def detail(request: HttpRequest, post: Post) -> SafeString:
    """The post page's article (``posts/_detail.html``) as the viewer of ``request`` sees it:
    cached like a card, under what it shows of the post and of the comments shown (and where
    they sit among the others: the links to earlier and latest ones), whether the viewer is
    logged in (the comment form) and the names they must not be led to. The author's Edit and
    Delete and the report forms are slots."""
    texts = _texts(post, post.shown_comments)
    names = unlinked_names(request) if any("@" in text for text in texts) else frozenset()
    unlinked = _mentioned(texts, names)
    signed_in = request.user.is_authenticated
    urls = url_signature(private=post.author.is_private)
    paging = (post.earlier_cursor, post.earlier_page)
    state = (
        "detail",
        *_content(post, post.shown_comments),
        paging,
        signed_in,
        urls,
        sorted(unlinked),
    )
    context = {"post": post, "eager": True, "signed_in": signed_in, UNLINKED: unlinked}
    return fragment(request, state, "posts/_detail.html", context, post=post)


def grid(page: selectors.Page) -> SafeString:
    """A page of thumbnails (profile, explore, tag), the same for every viewer: cached under
    what each tile shows that can change, and rendered only if not cached."""
    tiles = [
        (
            p.pk,
            p.updated.timestamp(),
            p.like_count,
            p.comment_count,
            p.author.username,
            p.author.is_private,
        )
        for p in page.posts
    ]
    private = any(p.author.is_private for p in page.posts)
    state = ("grid", tiles, page.next_cursor, url_signature(private=private))
    key = "grid:" + hashlib.blake2b(repr(state).encode(), digest_size=18).hexdigest()
    fragments = caches[CACHE]
    html = fragments.get(key)
    if html is None:
        selectors.post_images_load(page.posts)
        html = get_template("posts/_grid.html").render({"page": page})
        fragments.set(key, html, CARD_TIMEOUT)
    return mark_safe(html)  # noqa: S308 - a rendered template, cached


def suggestions(request: HttpRequest, people: list) -> SafeString:
    """The "Suggested for you" list, cached for this viewer and these people as they are now."""
    shown = [
        (
            p.pk,
            p.username,
            p.full_name,
            p.avatar.name,
            getattr(p, "followed_by_viewer", None),
            getattr(p, "requested_by_viewer", None),
        )
        for p in people
    ]
    state = ("suggestions", request.user.pk, shown, url_signature())
    context = {"suggestions": people, "user": request.user}
    return fragment(request, state, "posts/_suggestions.html", context)


# The top bar's tabs, each marked as the current page on its own page; the search page has no
# search box in it (templates/_topbar.html).
TABS = frozenset({"posts:feed", "posts:explore", "activity:activity", "posts:new", "search:search"})


def topbar(request: HttpRequest, user) -> SafeString:
    """The top bar of every page (``templates/_topbar.html``) for ``user``, cached under what it
    shows: the member's id, name, photo and unread count, and which tab is this page's; its
    CSRF token is a slot. Its links, icons and search box were rendered on every request."""
    match = request.resolver_match
    tab = match.view_name if match is not None and match.view_name in TABS else ""
    shown = None
    if user.is_authenticated:
        signature = url_signature() if user.avatar else None
        shown = (user.pk, user.username, user.avatar.name, signature, user.unread_activity)
    state = ("topbar", tab, shown)
    return fragment(request, state, "_topbar.html", {"user": user, "view_name": tab})


def fragment(
    request: HttpRequest, state: tuple, template: str, context: dict, *, post: Post | None = None
) -> SafeString:
    """``template`` rendered with ``context`` for the cache (its slots filled for the viewer of
    ``request``; ``post``'s and its ``shown_comments``' slots too), cached under ``state``:
    everything it shows that can change, the viewer's id too if it shows anything of theirs.
    Rendered only if not cached."""
    key = "fragment:" + hashlib.blake2b(repr(state).encode(), digest_size=18).hexdigest()
    fragments = caches[CACHE]
    parts = fragments.get(key)
    if parts is None:
        parts = _rendered(template, context)
        fragments.set(key, parts, CARD_TIMEOUT)
    comments = getattr(post, "shown_comments", ())
    return _filled(parts, request, post=post, comments=comments)


def page_values(request: HttpRequest) -> dict[str, str]:
    """What is the same all over a page, unescaped: one CSRF token per page, as Django's own
    tag gives, and the address forms come back to. Made once per request and used by every
    slot with a form: each ``get_token`` masks the secret anew, which cost a feed page more
    than its like buttons."""
    values = getattr(request, "_page_values", None)
    if values is None:
        token, path = get_token(request), request.get_full_path()
        values = request._page_values = {"csrf": token, "next": path}
    return values


def _rendered(template: str, context: dict) -> tuple[str, ...]:
    """``template`` rendered for the cache, split at its markers: text, slot, text, ..., text."""
    html = get_template(template).render({**context, SLOTTED: True, "csrf_token": CSRF_MARK})
    return tuple(html.split(MARK))


def _filled(
    parts: Iterable[str],
    request: HttpRequest,
    *,
    post: Post | None = None,
    comments: Iterable[Comment] = (),
) -> SafeString:
    """The fragment with each slot filled for the viewer of ``request``. The page's CSRF token
    is made only if a slot asks for it: a visitor's page without a form sets no cookie and may
    be stored (config/caching.py)."""
    by_pk = {str(comment.pk): comment for comment in comments}
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(part)
        else:
            name, _, argument = part.partition(":")
            out.append(PER_VIEWER[name](request, post, by_pk.get(argument)))
    return mark_safe("".join(out))  # noqa: S308 - cached escaped HTML and escaped values
