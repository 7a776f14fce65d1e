"""Slow down password guessing: per account and per address, across every app server."""

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from members.models import LOGIN_MAX_LENGTH, LoginFailure, User, folded

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20


def client_address(request: HttpRequest) -> str:
    """The client's IP address: behind a load balancer (SECURE_PROXY_SSL_HEADER set), the last
    X-Forwarded-For entry, which the balancer itself appended; else the peer's address."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.SECURE_PROXY_SSL_HEADER and forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()
    return request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104 - a value, not a bind


def account_key(login: str) -> str:
    """One key per account, whether it was named by username or by email, in any case.

    A log-in naming no account is its own key, cut to the column: folding can lengthen it.
    """
    login = folded(login)
    username = User.objects.by_login(login).values_list("username", flat=True).first()
    return username or login[:LOGIN_MAX_LENGTH]


def login_blocked(*, account: str, address: str) -> str | None:
    """Why further log-ins are refused for now, or None when they are allowed."""
    recent = LoginFailure.objects.filter(created__gte=timezone.now() - WINDOW)
    minutes = int(WINDOW.total_seconds() // 60)
    if recent.filter(login=account).count() >= ACCOUNT_LIMIT:
        return f"Too many failed log-ins for this account. Wait {minutes} minutes and try again."
    if recent.filter(address=address).count() >= ADDRESS_LIMIT:
        return f"Too many failed log-ins from your network. Wait {minutes} minutes and try again."
    return None


def login_failed(*, account: str, address: str) -> None:
    LoginFailure.objects.filter(created__lt=timezone.now() - WINDOW).delete()
    LoginFailure.objects.create(login=account, address=address)


def login_succeeded(*, account: str) -> None:
    LoginFailure.objects.filter(login=account).delete()
