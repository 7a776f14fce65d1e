"""Sign-up, log-in, account settings, profiles and follows. Views validate, call one service,
then redirect."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from config import ratelimit
from config.mail import MailNotSent
from config.media import StorageUnavailable
from members import selectors, services
from members.forms import (
    EmailChangeForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProfileForm,
    SignupForm,
)
from members.limits import Throttled
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


def site_root(request: HttpRequest) -> str:
    """Scheme and host of this site, for links in email."""
    return request.build_absolute_uri("/").rstrip("/")


def signup(request: HttpRequest) -> HttpResponse:
    """The same answer whether or not the address is registered: "check your email"."""
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
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.member_sign_up(user=form.save(commit=False), site=site_root(request))
        except ValidationError as exc:
            form.add_error(None, exc)
        except MailNotSent as exc:
            form.add_error(None, exc.message)
            status = 503
        else:
            return redirect("members:signup_done")
    return render(request, "members/signup.html", {"form": form}, status=status)


def signup_done(request: HttpRequest) -> HttpResponse:
    return render(request, "members/signup_done.html")


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "members/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's own rule since 5.0): a link or an image tag cannot log anyone out."""


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = PasswordChangeForm
    template_name = "members/password.html"
    success_url = reverse_lazy("members:settings")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        messages.success(self.request, "Your password has been changed.")
        return super().form_valid(form)


def password_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link. Known and unknown accounts get the same answer."""
    form = PasswordResetForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_request(
                login=form.cleaned_data["login"],
                client=ratelimit.client_key(request),
                site=site_root(request),
            )
        except Throttled as exc:
            form.add_error(None, str(exc))
            status = 429
        except MailNotSent as exc:
            form.add_error(None, exc.message)
            status = 503
        else:
            return redirect("members:password_reset_sent")
    return render(request, "members/password_reset.html", {"form": form}, status=status)


def password_reset_sent(request: HttpRequest) -> HttpResponse:
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    return render(request, "members/password_reset_sent.html", {"minutes": minutes})


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's: the link works once (its token hashes the password) and expires after
    PASSWORD_RESET_TIMEOUT. The new password ends every other session (the session hash is
    made from it) and logs this one in."""

    template_name = "members/password_reset_confirm.html"
    post_reset_login = True
    post_reset_login_backend = "members.backends.UsernameOrEmailBackend"
    success_url = reverse_lazy("posts:feed")

    def form_valid(self, form):
        # The link came by email: whoever followed it reads that mailbox.
        form.user.email_verified = True
        response = super().form_valid(form)
        messages.success(self.request, "Your new password is set, and you are logged in.")
        return response


@login_required
def account_settings(request: HttpRequest) -> HttpResponse:
    return _settings_page(request, EmailChangeForm(user=request.user, request=request))


def _settings_page(request: HttpRequest, email_form: EmailChangeForm, status: int = 200):
    return render(request, "members/settings.html", {"email_form": email_form}, status=status)


@require_POST
@login_required
def email_change(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST, user=request.user, request=request)
    if not form.is_valid():
        return _settings_page(request, form)
    try:
        services.email_change_request(
            user=request.user, address=form.cleaned_data["email"], site=site_root(request)
        )
    except ValueError as exc:
        form.add_error("email", str(exc))
        return _settings_page(request, form)
    except MailNotSent as exc:
        form.add_error(None, exc.message)
        return _settings_page(request, form, status=503)
    messages.success(
        request,
        f"We sent a link to {request.user.pending_email}. Your address changes when you follow it.",
    )
    return redirect("members:settings")


@require_POST
@login_required
def email_verify_resend(request: HttpRequest) -> HttpResponse:
    try:
        services.email_verification_resend(user=request.user, site=site_root(request))
    except (Throttled, MailNotSent) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    else:
        messages.success(request, f"We sent a new link to {request.user.email}.")
    return redirect(next_url(request, reverse("members:settings")))


def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """A page with a button: mail scanners that open links do not press buttons."""
    if request.method != "POST":
        return render(request, "members/email_confirm.html")
    try:
        user = services.email_confirm(token=token)
    except ValueError as exc:
        return render(request, "members/email_confirm.html", {"error": str(exc)}, status=400)
    messages.success(request, f"Your email address {user.email} is confirmed.")
    if request.user.is_authenticated:
        return redirect("members:settings")
    return redirect("members:login")


@require_POST
@login_required
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    services.sessions_end_others(user=request.user)
    update_session_auth_hash(request, request.user)
    messages.success(request, "You are logged out everywhere else.")
    return redirect("members:settings")


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
