"""Sign-up, log-in, profiles and follows. Views validate, call one service, then redirect."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from config import ratelimit
from config.media import StorageUnavailable
from members import selectors, services
from members.forms import LoginForm, PasswordChangeForm, ProfileForm, SignupForm
from members.models import User
from posts import selectors as post_selectors

PEOPLE_PER_PAGE = 50
SIGNUP_WINDOW = timedelta(hours=1)


def next_url(request: HttpRequest, default: str) -> str:
    """The ``next`` parameter if it is a path on this site, else ``default``.

    Only a path (starting with "/") is taken: ``redirect()`` would look any other word up as a
    view name, and a name it cannot find ("next=0") is an error, not a redirect.
    """
    target = request.POST.get("next") or request.GET.get("next")
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return default


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("/")
    if request.method == "POST":
        # Every attempt counts, not only successes: the form's answers tell which usernames
        # and emails are taken, so probing them is limited too.
        hit = ratelimit.hit(
            "signup",
            ratelimit.client_key(request),
            limit=settings.SIGNUP_LIMIT_PER_HOUR,
            window=SIGNUP_WINDOW,
        )
        if not hit.allowed:
            return ratelimit.too_many_requests(
                request,
                message=f"Too many sign-ups from your network. Wait {hit.minutes} minutes.",
                retry_after=hit.retry_after,
            )
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(user=form.instance, password=form.cleaned_data["password1"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, user, backend="members.backends.UsernameOrEmailBackend")
            messages.success(request, f"Welcome, {user.username}! Add a photo so friends know you.")
            return redirect(next_url(request, reverse_lazy("members:edit")))
    return render(request, "members/signup.html", {"form": form})


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "members/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's own rule since 5.0): a link or an image tag cannot log anyone out."""


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = PasswordChangeForm
    template_name = "members/password.html"
    success_url = reverse_lazy("members:edit")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        messages.success(self.request, "Your password has been changed.")
        return super().form_valid(form)


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
                remove_photo=form.cleaned_data["remove_photo"],
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
    page = post_selectors.post_by_author(
        author=owner, viewer=request.user, cursor=request.GET.get("after")
    )
    return render(request, "members/profile.html", {"owner": owner, "page": page})


def _people(request: HttpRequest, username: str, title: str, select) -> HttpResponse:
    owner = selectors.user_profile(username=username, viewer=request.user)
    page = Paginator(select(user=owner), PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "members/people.html", {"owner": owner, "page": page, "title": title})


def followers(request: HttpRequest, username: str) -> HttpResponse:
    return _people(request, username, "Followers", selectors.user_followers)


def following(request: HttpRequest, username: str) -> HttpResponse:
    return _people(request, username, "Following", selectors.user_following)


@require_POST
@login_required
def follow(request: HttpRequest, username: str) -> HttpResponse:
    target = get_object_or_404(User.objects.named(username), is_active=True)
    try:
        services.follow_create(follower=request.user, following=target)
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect(next_url(request, target.get_absolute_url()))


@require_POST
@login_required
def unfollow(request: HttpRequest, username: str) -> HttpResponse:
    target = get_object_or_404(User.objects.named(username), is_active=True)
    services.follow_delete(follower=request.user, following=target)
    return redirect(next_url(request, target.get_absolute_url()))
