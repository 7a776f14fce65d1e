"""Reads for the moderation queue, in a fixed number of queries however many reports are open."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models, router
from django.db.models import Count, Max, Min, Prefetch
from django.db.models.deletion import Collector

from members.models import User
from moderation.models import KINDS, Reason, Report
from posts.models import Comment, Post, PostImage

QUEUE_SIZE = 50
ACTED_SIZE = 50
TEXTS_SHOWN = 3


@dataclass
class Case:
    """The open reports of one target, as the queue shows them."""

    kind: str
    target: models.Model
    count: int
    first_reported: datetime
    last_reported: datetime
    reasons: list[tuple[str, int]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


def _targets(ids: dict[str, set[int]]) -> dict[str, dict[int, models.Model]]:
    """The posts (with their photos), comments (with post and author) and members named."""
    images = Prefetch("images", queryset=PostImage.objects.order_by("order"))
    rows = {
        "post": Post.objects.select_related("author").prefetch_related(images),
        "comment": Comment.objects.select_related("author", "post"),
        "account": User.objects.all(),
    }
    return {
        kind: {row.pk: row for row in rows[kind].filter(pk__in=ids[kind])} if ids[kind] else {}
        for kind in KINDS
    }


def report_queue(*, size: int = QUEUE_SIZE) -> list[Case]:
    """Open reports grouped by what they name, the most reported first, then the oldest."""
    open_reports = Report.objects.open()
    groups = list(
        open_reports.values(*KINDS)
        .annotate(count=Count("pk"), first=Min("created"), last=Max("created"))
        .order_by("-count", "first")[:size]
    )
    ids: dict[str, set[int]] = {kind: set() for kind in KINDS}
    for group in groups:
        kind = next(kind for kind in KINDS if group[kind] is not None)
        ids[kind].add(group[kind])
    targets = _targets(ids)
    named = open_reports.filter(
        models.Q(post__in=ids["post"])
        | models.Q(comment__in=ids["comment"])
        | models.Q(account__in=ids["account"])
    )
    cases: dict[tuple[str, int], Case] = {}
    for group in groups:
        kind = next(kind for kind in KINDS if group[kind] is not None)
        target = targets[kind].get(group[kind])
        if target is not None:  # deleted since the first query
            cases[kind, target.pk] = Case(
                kind, target, group["count"], group["first"], group["last"]
            )
    for row in named.values(*KINDS, "reason").annotate(n=Count("pk")).order_by("-n", "reason"):
        case = _case_of(cases, row)
        if case:
            case.reasons.append((Reason(row["reason"]).label, row["n"]))
    # Bounded: a target reported a thousand times shows three texts, not a thousand.
    texts = named.exclude(text="").order_by("-created").values(*KINDS, "text")[: size * 20]
    for row in texts:
        case = _case_of(cases, row)
        if case and len(case.texts) < TEXTS_SHOWN:
            case.texts.append(row["text"])
    return list(cases.values())


def _case_of(cases: dict[tuple[str, int], Case], row: dict) -> Case | None:
    kind = next(kind for kind in KINDS if row[kind] is not None)
    return cases.get((kind, row[kind]))


@dataclass
class Acted:
    """What moderators hid or suspended, for restoring."""

    posts: list[Post]
    comments: list[Comment]
    accounts: list[User]


def moderation_acted_on(*, size: int = ACTED_SIZE) -> Acted:
    """The most recently hidden posts and comments, and the suspended members."""
    images = Prefetch("images", queryset=PostImage.objects.order_by("order"))
    return Acted(
        posts=list(
            Post.objects.filter(hidden_at__isnull=False)
            .select_related("author")
            .prefetch_related(images)
            .order_by("-hidden_at")[:size]
        ),
        comments=list(
            Comment.objects.filter(hidden_at__isnull=False)
            .select_related("author", "post")
            .order_by("-hidden_at")[:size]
        ),
        accounts=list(
            User.objects.filter(is_active=False)
            .exclude(suspension_reason="")
            .order_by("username")[:size]
        ),
    )


def deletion_counts(target: Post | Comment) -> dict[str, int]:
    """What deleting ``target`` takes with it, as the confirmation page counts it: rows per
    kind, the target's own included. Rows a plain DELETE removes (a post's likes, maybe
    thousands) are counted in the database, not loaded."""
    collector = Collector(using=router.db_for_write(type(target)))
    collector.collect([target])
    counts: Counter[str] = Counter()
    for model, rows in collector.data.items():
        counts[_plural(model)] += len(rows)
    for rows in collector.fast_deletes:
        counts[_plural(rows.model)] += rows.count()
    return {name: count for name, count in counts.items() if count}


def _plural(model: type[models.Model]) -> str:
    # Report's plural names the queue on the admin's index; here they are reports.
    return "reports" if model is Report else str(model._meta.verbose_name_plural)
