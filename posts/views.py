"""Feed, posts, likes and comments. Views validate, call one service, then redirect or render.

Likes and comments answer JSON to ``fetch`` (Accept: application/json) and redirect a plain
form post, so every action works without JavaScript too.
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from config.errors import wants_json
from config.media import StorageUnavailable
from config.ratelimit import per_member
from members.selectors import user_suggestions
from members.views import next_url
from members.views.profile import PEOPLE_PER_PAGE
from posts import cards, selectors, services, text
from posts.forms import CommentForm, PhotoRefused, PostEditForm, PostForm, new_submission
from posts.models import Comment, Post, SavedPost, Tag, comment_visibility

SUGGESTIONS = 8


def _own_post(request: HttpRequest, code: str) -> Post:
    """The post, if the current user wrote it: 404 if they may not see it (as if there were
    none), 403 if they see another's."""
    post = get_object_or_404(Post.objects.visible_to(request.user), code=code)
    if post.author_id != request.user.pk:
        raise PermissionDenied
    return post


@login_required
def feed(request: HttpRequest) -> HttpResponse:
    page = selectors.post_feed(viewer=request.user, cursor=request.GET.get("after"))
    suggestions = user_suggestions(viewer=request.user, count=SUGGESTIONS)
    context = {
        "page": page,
        "cards": cards.feed_cards(request, page.posts),
        "suggestions": suggestions,
        "suggestions_list": cards.suggestions(request, suggestions),
    }
    return render(request, "posts/feed.html", context)


@login_required
def post_new(request: HttpRequest) -> HttpResponse:
    form = PostForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                post = services.post_create(
                    author=request.user,
                    photos=form.cleaned_data["photos"],
                    caption=form.cleaned_data["caption"],
                    submission=form.cleaned_data["submission"],
                )
            except PhotoRefused as refused:
                form.photo_refused(refused)
            except StorageUnavailable as exc:
                form.add_error(None, exc.message)
                status = 503
            else:
                if wants_json(request):
                    return JsonResponse({"url": post.get_absolute_url()}, status=201)
                messages.success(request, "Your post has been shared.")
                return redirect(post)
        if wants_json(request):
            return JsonResponse(
                {
                    "errors": {name: list(errors) for name, errors in form.errors.items()},
                    "photo_errors": form.photo_errors,
                    "alt_errors": form.alt_errors,
                },
                status=status,
            )
    return render(request, "posts/new.html", {"form": form}, status=status)


def detail(request: HttpRequest, code: str) -> HttpResponse:
    """The post page: its article comes from the cache of rendered posts (posts.cards.detail);
    ``?before=`` (the "View earlier comments" link) shows earlier comments."""
    post = selectors.post_detail(code=code, viewer=request.user, before=request.GET.get("before"))
    article = cards.detail(request, post)
    return render(request, "posts/detail.html", {"post": post, "article": article})


@login_required
def edit(request: HttpRequest, code: str) -> HttpResponse:
    post = _own_post(request, code)
    form = PostEditForm(
        request.POST or None,
        images=post.images.order_by("order"),
        initial={"caption": post.caption},
    )
    if request.method == "POST" and form.is_valid():
        services.post_update(
            post=post, caption=form.cleaned_data["caption"], alt_texts=form.alt_texts()
        )
        messages.success(request, "Your post has been updated.")
        return redirect(post)
    return render(request, "posts/edit.html", {"form": form, "post": post})


@require_POST
@login_required
def delete(request: HttpRequest, code: str) -> HttpResponse:
    post = _own_post(request, code)
    services.post_delete(post=post)
    messages.success(request, "Your post has been deleted.")
    return redirect(request.user)


@require_POST
@login_required
def like(request: HttpRequest, code: str) -> HttpResponse:
    """Like (or, with action=unlike, unlike) a post; repeating either changes nothing."""
    post = get_object_or_404(Post.objects.visible_to(request.user), code=code)
    if request.POST.get("action") == "unlike":
        services.like_delete(user=request.user, post=post)
    else:
        services.like_create(user=request.user, post=post)
    if wants_json(request):
        return JsonResponse(
            {
                "liked": post.likes.filter(user=request.user).exists(),
                "like_count": post.likes.count(),
            }
        )
    return redirect(next_url(request, post.get_absolute_url()))


def likes(request: HttpRequest, code: str) -> HttpResponse:
    """Who liked the post, with follow buttons."""
    post = get_object_or_404(
        Post.objects.visible_to(request.user).select_related("author"), code=code
    )
    likers = selectors.post_likers(post=post, viewer=request.user)
    page = Paginator(likers, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "posts/likes.html", {"post": post, "page": page})


@require_POST
@login_required
def save(request: HttpRequest, code: str) -> HttpResponse:
    """Save (or, with action=unsave, unsave) a post; repeating either changes nothing."""
    post = get_object_or_404(Post.objects.visible_to(request.user), code=code)
    if request.POST.get("action") == "unsave":
        services.saved_post_delete(user=request.user, post=post)
    else:
        services.saved_post_create(user=request.user, post=post)
    if wants_json(request):
        saved = SavedPost.objects.filter(user=request.user, post=post).exists()
        return JsonResponse({"saved": saved})
    return redirect(next_url(request, post.get_absolute_url()))


def saved(request: HttpRequest, username: str) -> HttpResponse:
    """The member's saved posts: theirs alone to see; anyone else gets a 404."""
    if not request.user.is_authenticated or username != request.user.username:
        raise Http404
    page = selectors.post_saved(user=request.user, cursor=request.GET.get("after"))
    context = {"page": page, "grid": cards.grid(page), "title": "Saved"}
    return render(request, "posts/grid.html", context)


@require_POST
@login_required
@per_member(
    "comment",
    setting="COMMENT_LIMIT_PER_MINUTE",
    window=timedelta(minutes=1),
    message="You're commenting too fast. Wait {minutes} minutes and try again.",
)
def comment(request: HttpRequest, code: str) -> HttpResponse:
    post = get_object_or_404(Post.objects.visible_to(request.user), code=code)
    form = CommentForm(request.POST)
    if not form.is_valid():
        if wants_json(request):
            return JsonResponse({"errors": form.errors["text"]}, status=400)
        messages.error(request, " ".join(form.errors["text"]))
        return redirect(next_url(request, post.get_absolute_url()))
    new = services.comment_create(
        author=request.user,
        post=post,
        text=form.cleaned_data["text"],
        submission=form.cleaned_data["submission"],
    )
    if wants_json(request):
        response = render(request, "posts/_comment.html", {"comment": new, "post": post})
        response["X-Comment-Count"] = str(post.comments.count())
        # The form stays on the page for the next comment, which needs a key of its own.
        response["X-Next-Submission"] = str(new_submission())
        return response
    return redirect(next_url(request, post.get_absolute_url()))


@require_POST
@login_required
def comment_delete(request: HttpRequest, code: str, comment_id: int) -> HttpResponse:
    """The comment's author, or the post's, may delete it, even where they no longer see it
    (after a block, say); anyone else is refused where they see it, and finds nothing (404)
    where they don't."""
    theirs = Q(author=request.user) | Q(post__author=request.user)
    found = get_object_or_404(
        Comment.objects.filter(theirs | comment_visibility(request.user)).select_related("post"),
        pk=comment_id,
        post__code=code,
    )
    if request.user.pk not in (found.author_id, found.post.author_id):
        raise PermissionDenied
    services.comment_delete(comment=found)
    if wants_json(request):
        return JsonResponse({"deleted": True})
    return redirect(next_url(request, found.post.get_absolute_url()))


def explore(request: HttpRequest) -> HttpResponse:
    page = selectors.post_explore(viewer=request.user, cursor=request.GET.get("after"))
    context = {"page": page, "grid": cards.grid(page), "title": "Explore"}
    return render(request, "posts/grid.html", context)


def tag(request: HttpRequest, name: str) -> HttpResponse:
    found = get_object_or_404(Tag, name=text.tag_name(name))
    page = selectors.post_by_tag(tag=found, viewer=request.user, cursor=request.GET.get("after"))
    context = {"page": page, "grid": cards.grid(page), "title": f"#{found.name}", "tag": found}
    return render(request, "posts/grid.html", context)
