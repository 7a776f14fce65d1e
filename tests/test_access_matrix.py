"""The access matrix: who sees what, on every page and answer that shows content or acts on it.

Rows are personas, columns are targets (posts and comments), one test per URL. Each cell is
asserted: the status code, and the content's text (caption, comment) and photo storage keys
present in the body where the persona may see the target, absent everywhere else.

Three authors: Pia's account is private, Paul's public (he also has a post a moderator hid),
Suzette was suspended. Each persona stands in the same relation to all three (Fern follows
them, Rex asked to follow Pia, Bob is blocked by them, Bea blocks them); "owner" is the target's
author. Cyril, whom no block touches, commented on and liked every post, follows and is
followed by every author, and wrote a comment a moderator hid; Suzette also commented on Paul's
post before she was suspended. Everyone is mentioned in every post and comment, and saved
every post, so the activity and saved pages have an entry for each target.

The world is built once for the module; each cell runs in a savepoint rolled back after it,
so a like, a comment or a block in one cell is gone before the next.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from activity.models import Notification
from members.models import Block, FollowRequest, User
from posts.models import Comment, Like, Post, SavedPost, Tag
from tests import factories

pytestmark = pytest.mark.django_db

PERSONAS = {
    "visitor": None,
    "owner": None,  # the target's author
    "follower": "fern",
    "requester": "rex",
    "outsider": "otto",
    "blocked": "bob",
    "blocker": "bea",
    "moderator": "mo",
    "admin": "ada",
}
# persona → the targets they see. The suspended author's post and comment: nobody, and the
# suspended owner is logged out (an inactive account has no session). The owner of a comment
# is its author, except for Bob's comment on Paul's hidden post: there it is Paul, who blocked
# Bob after Bob commented, and no longer sees it.
SEES = {
    "visitor": {"public"},
    "owner": {"private", "public", "hidden", "hidden comment"},
    "follower": {"private", "public"},
    "requester": {"public"},
    "outsider": {"public"},
    "blocked": set(),
    "blocker": set(),
    "moderator": {"public", "hidden", "hidden comment", "blocked's comment"},
    "admin": {"public", "hidden", "hidden comment", "blocked's comment"},
}
POSTS = ("private", "public", "hidden", "suspended")
AUTHORS = ("private", "public", "suspended")  # one post of each author: pages about the author
# comment → the post it is on. The post's own comment by Cyril is part of each post.
COMMENTS = {
    "hidden comment": "public",
    "suspended comment": "public",
    "blocked's comment": "hidden",
}
EVERYTHING = POSTS + tuple(COMMENTS)
SUSPENDED = "suzette"  # appears in no page that answers 200, to anyone
# member → those in a block with them, whom no page they get links to (the suspended member is
# checked for everyone)
BLOCKS = {"bob": ("pia", "paul"), "bea": ("pia", "paul"), "pia": ("bob", "bea"),
          "paul": ("bob", "bea")}  # fmt: skip
LIKER = "<strong>cyril</strong>"  # Cyril in a list of people: likers, followers, following
LOGIN = "/accounts/login/?next="


@dataclass(frozen=True)
class Target:
    name: str
    owner: str  # the username of whoever is "owner" for this target
    author: str  # the post's author: whose profile and lists the author pages show
    code: str  # the post, or the post the comment is on
    comment: int  # the comment the comment URLs act on: the target, or the post's comment
    comment_author: str
    marks: dict[str, str]  # what the target shows: never in the body of one who may not see it


@dataclass(frozen=True)
class Cell:
    persona: str
    username: str | None
    target: Target
    anonymous: bool  # a visitor, or the suspended owner
    sees: bool  # the target itself
    sees_post: bool  # the post it is, or is on

    @property
    def is_owner(self) -> bool:
        return self.persona == "owner"


def _build() -> tuple[dict[str, Target], dict[str, User]]:
    users = {
        name: factories.user(username=name)
        for name in ("pia", "paul", SUSPENDED, "cyril", "fern", "rex", "otto", "bob", "bea")
    }
    User.objects.filter(username="pia").update(is_private=True)
    users["mo"] = factories.moderator(username="mo")
    users["ada"] = factories.user(username="ada", is_staff=True, is_superuser=True)
    pia, paul, sue, cyril = (users[name] for name in ("pia", "paul", SUSPENDED, "cyril"))
    mentioned = [users[name] for name in PERSONAS.values() if name]
    for author in (pia, paul, sue):
        factories.follow(users["fern"], author)
        factories.follow(cyril, author)
        factories.follow(author, cyril)
        Block.objects.create(blocker=author, blocked=users["bob"])
        Block.objects.create(blocker=users["bea"], blocked=author)
    FollowRequest.objects.create(requester=users["rex"], target=pia)
    authors = {"private": pia, "public": paul, "hidden": paul, "suspended": sue}
    tag = Tag.objects.create(name="matrix")
    targets, posts = {}, {}
    for kind, author in authors.items():
        post = posts[kind] = factories.post(author, f"{kind} post caption #matrix")
        post.tags.add(tag)
        comment = factories.comment(cyril, post, f"cyril on the {kind} post")
        Like.objects.bulk_create([Like(user=cyril, post=post), Like(user=sue, post=post)])
        SavedPost.objects.bulk_create(SavedPost(user=user, post=post) for user in users.values())
        _notify(author, cyril, post, comment, mentioned)
        image = post.images.get()
        targets[kind] = Target(
            name=kind,
            owner=author.username,
            author=author.username,
            code=post.code,
            comment=comment.pk,
            comment_author="cyril",
            marks={
                "caption": f"{kind} post caption",
                "display": image.display.name,
                "thumbnail": image.thumbnail.name,
                "comment": comment.text,
            },
        )
    for kind, writer, text in (
        ("hidden comment", cyril, "a comment a moderator hid"),
        ("suspended comment", sue, "a comment from before the suspension"),
        ("blocked's comment", users["bob"], "a comment from before the block"),
    ):
        post = posts[COMMENTS[kind]]
        comment = factories.comment(writer, post, text)
        _notify(paul, writer, post, comment, mentioned, like=False)
        targets[kind] = Target(
            name=kind,
            owner="paul" if writer.username == "bob" else writer.username,
            author="paul",
            code=post.code,
            comment=comment.pk,
            comment_author=writer.username,
            marks={"comment": text},
        )
        if kind == "hidden comment":
            Comment.objects.filter(pk=comment.pk).update(hidden_at=timezone.now())
    # Suzette followed everyone and asked to follow Pia: her name must show nowhere now.
    Kind = Notification.Kind
    FollowRequest.objects.create(requester=sue, target=pia)
    entries = [Notification(recipient=pia, actor=sue, kind=Kind.FOLLOW_REQUEST)]
    for person in users.values():
        if person not in (sue, pia, cyril):  # she followed Cyril already
            factories.follow(sue, person)
            entries.append(Notification(recipient=person, actor=sue, kind=Kind.FOLLOW))
    Notification.objects.bulk_create(entries)
    Post.objects.filter(pk=posts["hidden"].pk).update(hidden_at=timezone.now())
    User.objects.filter(pk=sue.pk).update(is_active=False, suspension_reason="Spam.")
    return targets, users


def _notify(author, writer, post, comment, mentioned, *, like: bool = True) -> None:
    """The entries a like, a comment and the mentions in the caption and the comment wrote
    (as if before the blocks, the suspension and the hiding)."""
    kind = Notification.Kind
    rows = [Notification(recipient=author, actor=writer, kind=kind.COMMENT, post=post,
                         comment=comment)]  # fmt: skip
    if like:
        rows.append(Notification(recipient=author, actor=writer, kind=kind.LIKE, post=post))
    for person in mentioned:
        if person != author:
            rows.append(Notification(recipient=person, actor=author, kind=kind.MENTION, post=post))
        rows.append(Notification(recipient=person, actor=writer, kind=kind.MENTION, post=post,
                                 comment=comment))  # fmt: skip
    Notification.objects.bulk_create(
        [row for row in rows if row.recipient_id != row.actor_id], ignore_conflicts=True
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The targets, and a client logged in as each member (the suspended one's session is
    refused, as after a suspension); rolled back at the end of the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        targets, users = _build()
        clients = {}
        for name, user in users.items():
            clients[name] = Client()
            clients[name].force_login(user)
        clients[None] = Client()
        yield targets, clients
        transaction.set_rollback(True)


def _cells(kinds):
    for persona in PERSONAS:
        for kind in kinds:
            yield persona, kind


def _open(c: Cell) -> int:
    """Seen: 200; not: 404."""
    return 200 if c.sees_post else 404


def _author(c: Cell) -> int:
    """A page about the author: 404 across a block and for a suspended author."""
    if c.persona in ("blocked", "blocker") or c.target.name == "suspended":
        return 404
    return 200


def _people(c: Cell) -> int:
    """Followers and following lists: as the profile, and 404 for a private account's
    non-followers."""
    if c.target.name == "private" and c.persona not in ("owner", "follower"):
        return 404
    return _author(c)


def _owners_only(success: int) -> Callable[[Cell], int]:
    """An owner's action: others are refused (403) where they see the post, and find nothing
    (404) where they don't."""
    return lambda c: success if c.is_owner else 403 if c.sees_post else 404


def _not_ones_own(c: Cell) -> int:
    """A report: 404 for what the reporter cannot see; one's own is refused (400)."""
    return 400 if c.is_owner and c.sees_post else _open(c)


def _comment_deleted(c: Cell) -> int:
    """The comment's author or the post's may delete it; others are refused (403) where they
    see it, and find nothing (404) where they don't."""
    if c.username in (c.target.author, c.target.comment_author):
        return 200
    return 403 if c.sees else 404


def _comment_reported(c: Cell) -> int:
    if not c.sees:
        return 404
    return 400 if c.username == c.target.comment_author else 200


def _activity_shows(c: Cell) -> bool:
    """Nobody is told of their own comment."""
    return c.sees and c.username != c.target.comment_author


POST_PAGE = ("caption", "display", "comment")
GRID = ("thumbnail",)
# A "View earlier comments" cursor later than every comment: the earlier page shows them all.
LATER = f"{10**16}.0"

# (page, method, URL, targets, members only, what shows a seen target, expected status; and
# optionally whether the cell's target shows, when that is not simply "it is seen")
PAGES = [
    ("post page", "get", "/p/{code}/", EVERYTHING, False, POST_PAGE, _open),
    ("earlier comments", "get", "/p/{code}/?before=" + LATER, EVERYTHING, False, POST_PAGE,
     _open),
    ("profile", "get", "/{author}/", POSTS, False, GRID, _author),
    ("feed", "get", "/", EVERYTHING, True, POST_PAGE, lambda c: 200),
    ("explore", "get", "/explore/", POSTS, False, GRID, lambda c: 200),
    ("tag", "get", "/explore/tags/matrix/", POSTS, False, GRID, lambda c: 200),
    ("who liked", "get", "/p/{code}/likes/", POSTS, False, ("liker",), _open),
    ("followers", "get", "/{author}/followers/", AUTHORS, False, ("liker",), _people),
    ("following", "get", "/{author}/following/", AUTHORS, False, ("liker",), _people),
    ("saved", "get", "/{me}/saved/", POSTS, False, GRID,
     lambda c: 404 if c.anonymous else 200),
    ("activity", "get", "/accounts/activity/", EVERYTHING, True, ("thumbnail", "comment"),
     lambda c: 200, _activity_shows),
    ("edit post", "get", "/p/{code}/edit/", POSTS, True, ("caption",), _owners_only(200)),
    ("report post (form)", "get", "/p/{code}/report/", POSTS, True, (), _open),
    ("report comment (form)", "get", "/p/{code}/comments/{comment}/report/", EVERYTHING, True,
     (), lambda c: 200 if c.sees else 404),
    ("report account (form)", "get", "/{author}/report/", AUTHORS, True, (), _author),
    ("like (JSON)", "post", "/p/{code}/like/", POSTS, True, (), _open),
    ("save (JSON)", "post", "/p/{code}/save/", POSTS, True, (), _open),
    ("comment (JSON)", "post", "/p/{code}/comments/", POSTS, True, (), _open),
    ("report post (JSON)", "post", "/p/{code}/report/", POSTS, True, (), _not_ones_own),
    ("report comment (JSON)", "post", "/p/{code}/comments/{comment}/report/", EVERYTHING,
     True, (), _comment_reported),
    ("delete comment (JSON)", "post", "/p/{code}/comments/{comment}/delete/", EVERYTHING,
     True, (), _comment_deleted),
    ("delete post", "post", "/p/{code}/delete/", POSTS, True, (), _owners_only(302)),
    ("report account (JSON)", "post", "/{author}/report/", AUTHORS, True, (),
     lambda c: 404 if _author(c) == 404 else 400 if c.is_owner else 200),
    ("follow", "post", "/{author}/follow/", AUTHORS, True, (),
     lambda c: 404 if _author(c) == 404 else 302),
    ("unfollow", "post", "/{author}/unfollow/", AUTHORS, True, (),
     lambda c: 404 if _author(c) == 404 else 302),
    ("cancel follow request", "post", "/{author}/follow/cancel/", AUTHORS, True, (),
     lambda c: 404 if _author(c) == 404 else 302),
    ("block", "post", "/{author}/block/", AUTHORS, True, (),
     lambda c: 404 if c.target.name == "suspended" else 302),
    ("unblock", "post", "/{author}/unblock/", AUTHORS, True, (), lambda c: 302),
]  # fmt: skip


def _answer(client: Client, method: str, path: str):
    """The answer to ``path``, undone afterwards."""
    with transaction.atomic():
        if method == "post":
            data = {"text": "hi", "reason": "spam"}
            response = client.post(path, data, headers={"accept": "application/json"})
        else:
            response = client.get(path)
        transaction.set_rollback(True)
    # A message for the next page ("You blocked paul") belongs to this cell only.
    client.cookies.pop("messages", None)
    return response


def _problems(cell: Cell, page, response) -> list[str]:
    _name, _method, _url, _kinds, members_only, shown_by, status, *shows = page
    body = response.content.decode()
    expected = 302 if cell.anonymous and members_only else status(cell)
    problems = []
    if response.status_code != expected:
        problems.append(f"status {response.status_code}, not {expected}")
    elif expected == 302 and cell.anonymous and not response.url.startswith(LOGIN):
        problems.append(f"sent to {response.url}, not to log in")
    shown = shows[0](cell) if shows else cell.sees
    marks = {**cell.target.marks, "liker": LIKER}
    if response.status_code == 200 and shown:
        problems += [f"no {mark}" for mark in shown_by if marks.get(mark, body) not in body]
    if not cell.sees:
        problems += [f"shows the {mark}" for mark, text in cell.target.marks.items()
                     if text in body]  # fmt: skip
    if response.status_code == 200:
        if SUSPENDED in body:
            problems.append(f"names {SUSPENDED}, who is suspended")
        problems += [f"links to {other} across a block" for other in BLOCKS.get(cell.username, ())
                     if f'href="/{other}/"' in body]  # fmt: skip
    return problems


@pytest.mark.parametrize("page", PAGES, ids=[page[0] for page in PAGES])
def test_each_persona_sees_each_target_exactly_where_the_rule_allows(world, page):
    """Every cell of personas by targets on this page: its status; the content and photo keys
    in the body where the target is seen, none of them where it is not."""
    targets, clients = world
    name, method, url, kinds = page[:4]
    wrong, answers = [], {}
    for persona, kind in _cells(kinds):
        target = targets[kind]
        username = target.owner if persona == "owner" else PERSONAS[persona]
        anonymous = username in (None, SUSPENDED)
        # The suspended owner has no session: they see what a visitor sees.
        seen = SEES["visitor" if anonymous else persona]
        cell = Cell(
            persona=persona,
            username=username,
            target=target,
            anonymous=anonymous,
            sees=kind in seen,
            sees_post=COMMENTS.get(kind, kind) in seen,
        )
        path = url.format(
            code=target.code, author=target.author, comment=target.comment, me=username or "fern"
        )
        # A page that names no target (the feed, explore) is the same for each target: read
        # once per viewer. Nothing persists between cells, so the second read would match.
        key = (username, path) if method == "get" else object()
        if key not in answers:
            answers[key] = _answer(clients[username], method, path)
        problems = _problems(cell, page, answers[key])
        if problems:
            wrong.append(f"{persona} on the {kind}: {', '.join(problems)}")
    assert not wrong, f"{name} ({url}):\n" + "\n".join(wrong)
