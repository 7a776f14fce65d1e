"""A member's profile, its editing, and the lists of their followers and following."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from config.media import StorageUnavailable
from members import selectors, services
from members.forms import ProfileForm
from members.models import User
from posts import cards
from posts import selectors as post_selectors

PEOPLE_PER_PAGE = 50


@login_required
def profile_edit(request: HttpRequest) -> HttpResponse:
    # Edit a copy, so a rejected form does not rename the user in the page's header.
    user = get_object_or_404(User, pk=request.user.pk)
    form = ProfileForm(request.POST or None, request.FILES or None, instance=user)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(
                user=form.instance,
                photo=form.cleaned_data["photo"],
                remove_photo=form.cleaned_data.get("remove_photo", False),
            )
        except StorageUnavailable as exc:
            form.add_error(None, exc.message)
            status = 503
        else:
            messages.success(request, "Your profile has been saved.")
            return redirect(form.instance)
    return render(request, "members/edit.html", {"form": form, "profile": user}, status=status)


def profile(request: HttpRequest, username: str) -> HttpResponse:
    owner = selectors.user_profile(username=username, viewer=request.user)
    if owner.username != username:
        return redirect(owner, permanent=True)
    page = grid = None
    if owner.content_visible:
        page = post_selectors.post_by_author(
            author=owner, viewer=request.user, cursor=request.GET.get("after")
        )
        grid = cards.grid(page)
    context = {"owner": owner, "page": page, "grid": grid}
    return render(request, "members/profile.html", context)


def _people(
    request: HttpRequest, username: str, title: str, select, *, removable: bool = False
) -> HttpResponse:
    """A list of people around ``username``; ``removable``: the owner may remove each."""
    owner = selectors.user_people_visible(username=username, viewer=request.user)
    people = select(user=owner, viewer=request.user)
    page = Paginator(people, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    removable = removable and owner.pk == request.user.pk
    context = {"owner": owner, "page": page, "title": title, "removable": removable}
    return render(request, "members/people.html", context)


def followers(request: HttpRequest, username: str) -> HttpResponse:
    return _people(request, username, "Followers", selectors.user_followers, removable=True)


def following(request: HttpRequest, username: str) -> HttpResponse:
    return _people(request, username, "Following", selectors.user_following)
