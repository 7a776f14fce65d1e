"""Send the site's email: each message from templates, with a plain-text and an HTML part.

Whatever the backend (console, file, SMTP or SES), a failure to send raises ``MailNotSent``,
which views turn into a clear message instead of a 500. The log names the message and the
failure, never the body (it holds one-time links) nor the whole address.
"""

import logging
import smtplib
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


class MailNotSent(Exception):
    """The mail server (or SES) could not be reached or refused the message."""

    message = "We could not send the email. Try again in a minute."

    def __init__(self) -> None:
        super().__init__(self.message)


def address_masked(address: str) -> str:
    """``a***@example.com``: enough to tell messages apart in a log or on a page, not to
    harvest the address."""
    local, _, domain = address.rpartition("@")
    if not local:
        return "***"
    return f"{local[0]}***@{domain}"


def mail_send(*, to: str, template: str, context: dict[str, Any]) -> None:
    """Send ``emails/<template>`` (``.subject.txt``, ``.txt``, ``.html``) to ``to``."""
    context = {"site_name": settings.SITE_NAME, **context}
    subject = " ".join(render_to_string(f"emails/{template}.subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        to=[to],
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError, BotoCoreError, ClientError) as exc:
        logger.error(
            "Could not send the %r email to %s: %s", template, address_masked(to), _reason(exc)
        )
        raise MailNotSent from None


def _reason(exc: Exception) -> str:
    """The failure in a few words: a class and a code, never the server's full answer, which
    may quote the address or the message."""
    if isinstance(exc, ClientError):
        return f"SES {exc.response.get('Error', {}).get('Code', 'error')}"
    code = getattr(exc, "smtp_code", None)
    return f"{type(exc).__name__}{f' {code}' if code else ''}"
