"""The settings page and what it holds: the email address, other sessions, two-factor log-in,
the data download and deleting the account."""

from collections.abc import Iterator
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from config import ratelimit
from config.mail import MailNotSent
from members import export, selectors, services, totp
from members.forms import EmailChangeForm, PasswordAndCodeForm, TwoFactorEnableForm
from members.views import next_url, site_root

DOWNLOAD_WINDOW = timedelta(hours=1)
TWO_FACTOR_SETUP = "two_factor_setup"


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
