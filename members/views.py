"""Sign-up, log-in, account settings, profiles and follows. Views validate, call one service,
then redirect."""

import time
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from config import ratelimit
from config.mail import MailNotSent
from config.media import StorageUnavailable
from members import export, selectors, services, totp
from members.forms import (
    EmailChangeForm,
    LoginForm,
    PasswordAndCodeForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProfileForm,
    SignupForm,
    TwoFactorCodeForm,
    TwoFactorEnableForm,
)
from members.models import User
from posts import cards
from posts import selectors as post_selectors

PEOPLE_PER_PAGE = 50
SIGNUP_WINDOW = timedelta(hours=1)
DOWNLOAD_WINDOW = timedelta(hours=1)
# A right password holds the place of a log-in this long while the code is asked for.
TWO_FACTOR_PENDING = "two_factor_pending"
TWO_FACTOR_PENDING_SECONDS = 300
TWO_FACTOR_SETUP = "two_factor_setup"


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
            return hit.answer(
                request, "Too many sign-ups from your network. Wait {minutes} minutes."
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


def two_factor_ask(request: HttpRequest, user: User, *, backend: str, then: str) -> HttpResponse:
    """``user`` gave the right password: ask for a code before logging them in, then send
    them to ``then``. Nothing is logged in (no session, no device cookie) until the code."""
    request.session[TWO_FACTOR_PENDING] = {
        "user": user.pk,
        "backend": backend,
        "next": then,
        "until": time.time() + TWO_FACTOR_PENDING_SECONDS,
    }
    return redirect("members:login_code")


class TwoFactorLoginView(auth_views.LoginView):
    """Django's log-in, which asks a member with two-factor log-in on for a code after the
    password; the site's and the admin's log-in both are one of these."""

    def form_valid(self, form):
        user = form.get_user()
        if user.two_factor_on:
            return two_factor_ask(
                self.request, user, backend=user.backend, then=self.get_success_url()
            )
        return super().form_valid(form)


class LoginView(TwoFactorLoginView):
    form_class = LoginForm
    template_name = "members/login.html"
    redirect_authenticated_user = True


def login_code(request: HttpRequest) -> HttpResponse:
    """The second step of a log-in: the code, for the member whose password was right."""
    pending = request.session.get(TWO_FACTOR_PENDING)
    user = None
    if pending and pending["until"] > time.time():
        user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        request.session.pop(TWO_FACTOR_PENDING, None)
        messages.error(request, "Log in again: the time to enter a code ran out.")
        return redirect("members:login")
    form = TwoFactorCodeForm(request.POST or None, user=user, request=request)
    if request.method == "POST" and form.is_valid():
        del request.session[TWO_FACTOR_PENDING]
        auth_login(request, user, backend=pending["backend"])
        return redirect(pending["next"])
    return render(request, "members/login_code.html", {"form": form})


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
    status, retry_after = 200, None
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_request(
                login=form.cleaned_data["login"],
                client=ratelimit.client_key(request),
                site=site_root(request),
            )
        except ratelimit.Throttled as exc:
            form.add_error(None, exc.message)
            status, retry_after = 429, exc.retry_after
        except MailNotSent as exc:
            form.add_error(None, exc.message)
            status = 503
        else:
            return redirect("members:password_reset_sent")
    response = render(request, "members/password_reset.html", {"form": form}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


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
        if form.user.two_factor_on:
            # The mailbox is one factor: the code is still asked for.
            self.post_reset_login = False
            super().form_valid(form)
            messages.success(self.request, "Your new password is set. Enter a code to log in.")
            return two_factor_ask(
                self.request,
                form.user,
                backend=self.post_reset_login_backend,
                then=str(self.success_url),
            )
        response = super().form_valid(form)
        messages.success(self.request, "Your new password is set, and you are logged in.")
        return response


@login_required
def account_settings(request: HttpRequest) -> HttpResponse:
    return _settings_page(request)


def _settings_page(request: HttpRequest, status: int = 200, **forms) -> HttpResponse:
    """The settings page, with ``forms`` (as the request left them) in place of blank ones."""
    blank = {"user": request.user, "request": request}
    context = {
        "blocked": selectors.blocked_members(user=request.user),
        "email_form": EmailChangeForm(**blank),
        "two_factor_off_form": _two_factor_off_form(request),
        **forms,
    }
    return render(request, "members/settings.html", context, status=status)


@require_POST
@login_required
def email_change(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST, user=request.user, request=request)
    if not form.is_valid():
        return _settings_page(request, email_form=form)
    try:
        services.email_change_request(
            user=request.user, address=form.cleaned_data["email"], site=site_root(request)
        )
    except ValueError as exc:
        form.add_error("email", str(exc))
        return _settings_page(request, email_form=form)
    except MailNotSent as exc:
        form.add_error(None, exc.message)
        return _settings_page(request, status=503, email_form=form)
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
    except (ratelimit.Throttled, MailNotSent) as exc:
        messages.error(request, exc.message)
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
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Turn two-factor log-in on: a secret (kept in the session until then) as a QR code and as
    text, and a first code from the app to prove it holds it; then the backup codes, once."""
    if request.user.two_factor_on:
        return redirect(reverse("members:settings") + "#two-factor")
    secret = request.session.setdefault(TWO_FACTOR_SETUP, totp.new_secret())
    form = TwoFactorEnableForm(
        request.POST or None, user=request.user, secret=secret, request=request
    )
    if request.method == "POST" and form.is_valid():
        codes = services.two_factor_enable(user=request.user, secret=secret, step=form.step)
        del request.session[TWO_FACTOR_SETUP]
        return render(request, "members/two_factor_codes.html", {"codes": codes})
    uri = totp.provisioning_uri(secret, account=request.user.username)
    context = {"form": form, "secret": secret, "qr": totp.qr_svg(uri)}
    return render(request, "members/two_factor_setup.html", context)


def _two_factor_off_form(request: HttpRequest, data=None) -> PasswordAndCodeForm:
    # Ids of its own: the email form on the same page has a password field too.
    return PasswordAndCodeForm(
        data, user=request.user, request=request, auto_id="id_two_factor_off_%s"
    )


@require_POST
@login_required
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    """Turn two-factor log-in off: the password and a code, so an open session alone cannot."""
    form = _two_factor_off_form(request, request.POST)
    if not form.is_valid():
        return _settings_page(request, two_factor_off_form=form)
    services.two_factor_disable(user=request.user)
    messages.success(request, "Two-factor log-in is off.")
    return redirect("members:settings")


@require_POST
@login_required
def account_download(request: HttpRequest) -> HttpResponse:
    """The member's photos and data as a zip, built while it is sent; once an hour, since each
    copies every photo out of storage. A POST, so that no other site can spend the hour."""
    hit = ratelimit.hit("download", str(request.user.pk), limit=1, window=DOWNLOAD_WINDOW)
    if not hit.allowed:
        return hit.answer(
            request, "You can download your data once an hour. Wait {minutes} minutes."
        )
    response = StreamingHttpResponse(
        _refunded_on_failure(export.export_stream(request.user), hit),
        content_type="application/zip",
    )
    filename = export.export_filename(request.user)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _refunded_on_failure(stream: Iterator[bytes], hit: ratelimit.Hit) -> Iterator[bytes]:
    """``stream``; if it fails (storage down mid-way), the broken download does not spend the
    member's hour. The failure still cuts the response, so the client sees it failed."""
    try:
        yield from stream
    except Exception:
        ratelimit.refund(hit)
        raise


@login_required
def account_delete(request: HttpRequest) -> HttpResponse:
    """Delete the account, and everything in it, once the password (and a code) says it is
    the member asking."""
    form = PasswordAndCodeForm(request.POST or None, user=request.user, request=request)
    if request.method == "POST" and form.is_valid():
        services.member_delete(user=request.user)
        auth_logout(request)
        messages.success(request, "Your account, your photos and everything else are deleted.")
        response = redirect("/")
        # Personal still, though the browser is no longer logged in (config.caching cannot tell).
        add_never_cache_headers(response)
        return response
    return render(request, "members/delete.html", {"form": form})


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


def _reachable(request: HttpRequest, username: str) -> User:
    """The member ``username`` names, if the current user may see them: 404 otherwise."""
    return get_object_or_404(User.objects.visible_to(request.user).named(username))


@require_POST
@login_required
@ratelimit.per_member(
    "follow",
    setting="FOLLOW_LIMIT_PER_HOUR",
    window=timedelta(hours=1),
    message="You're following too many accounts too fast. Wait {minutes} minutes and try again.",
)
def follow(request: HttpRequest, username: str) -> HttpResponse:
    """Follow a public account; ask to follow a private one."""
    target = _reachable(request, username)
    try:
        services.follow_create(follower=request.user, following=target)
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect(next_url(request, target.get_absolute_url()))


@require_POST
@login_required
def unfollow(request: HttpRequest, username: str) -> HttpResponse:
    target = _reachable(request, username)
    services.follow_delete(follower=request.user, following=target)
    return redirect(next_url(request, target.get_absolute_url()))


@require_POST
@login_required
def follow_request_cancel(request: HttpRequest, username: str) -> HttpResponse:
    target = _reachable(request, username)
    services.follow_request_cancel(requester=request.user, target=target)
    return redirect(next_url(request, target.get_absolute_url()))


def _request_answer(request: HttpRequest, username: str, answer, done: str) -> HttpResponse:
    requester = get_object_or_404(User.objects.named(username))
    if answer(target=request.user, requester=requester):
        messages.success(request, done.format(username=requester.username))
    return redirect(next_url(request, reverse("activity:activity")))


@require_POST
@login_required
def follow_request_approve(request: HttpRequest, username: str) -> HttpResponse:
    return _request_answer(
        request, username, services.follow_request_approve, "{username} now follows you."
    )


@require_POST
@login_required
def follow_request_decline(request: HttpRequest, username: str) -> HttpResponse:
    return _request_answer(
        request, username, services.follow_request_decline, "Request from {username} declined."
    )


@require_POST
@login_required
def follower_remove(request: HttpRequest, username: str) -> HttpResponse:
    """Remove ``username`` from the current user's followers (from their followers list)."""
    follower = get_object_or_404(User.objects.named(username))
    services.follower_remove(user=request.user, follower=follower)
    messages.success(request, f"{follower.username} no longer follows you.")
    return redirect(next_url(request, reverse("members:followers", args=[request.user.username])))


@require_POST
@login_required
def block(request: HttpRequest, username: str) -> HttpResponse:
    """Block ``username``: their profile and posts are gone for the current user, and the
    current user's for them. Unblocking is in the settings, since the profile is gone too."""
    # Anyone active, even one who blocks the current user already: blocking back is allowed.
    target = get_object_or_404(User.objects.named(username), is_active=True)
    try:
        services.block_create(blocker=request.user, blocked=target)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect(target)
    messages.success(request, f"You blocked {target.username}. Unblock them here.")
    return redirect(reverse("members:settings") + "#blocked")


@require_POST
@login_required
def unblock(request: HttpRequest, username: str) -> HttpResponse:
    target = get_object_or_404(User.objects.named(username))
    services.block_delete(blocker=request.user, blocked=target)
    messages.success(request, f"You unblocked {target.username}.")
    return redirect(next_url(request, reverse("members:settings") + "#blocked"))
