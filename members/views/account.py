"""Sign-up, log-in (with its two-factor step), log-out, and changing or resetting the
password."""

import time
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from config import ratelimit
from config.mail import MailNotSent
from members import services
from members.forms import (
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    SignupForm,
    TwoFactorCodeForm,
)
from members.models import User
from members.views import site_root

SIGNUP_WINDOW = timedelta(hours=1)
# A right password holds the place of a log-in this long while the code is asked for.
TWO_FACTOR_PENDING = "two_factor_pending"
TWO_FACTOR_PENDING_SECONDS = 300


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
