"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the tests."""

import email
import email.policy
import re
import socket
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from config import after_response

LINK = re.compile(r"https?://\S+")


class Inbox:
    """aiosmtpd's handler: keeps each message; ``refuse`` makes it answer 451 instead."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.refuse = False
        self._received = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 Requested action aborted: local error in processing"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._received:
            self.messages.append(message)
            self._received.notify_all()
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        self.messages.clear()
        self.refuse = False

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, timeout: float = 10) -> EmailMessage:
        """The latest message to ``address``, waiting for it to arrive (from another process)."""
        with self._received:
            self._received.wait_for(lambda: self.to(address), timeout=timeout)
        [*_, message] = self.to(address)
        return message


def after_response_done() -> None:
    """Wait until the work requests left for after their responses (config.after_response),
    such as a password reset's mail, is done."""
    for thread in threading.enumerate():
        if thread.name == after_response.THREAD_NAME:
            thread.join()


def text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def link(message: EmailMessage) -> str:
    """The first link in the plain-text part."""
    return LINK.search(text(message)).group(0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SMTPServer:
    """aiosmtpd on a free loopback port, in a thread of this process."""

    def __init__(self):
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SMTPServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def secrets(self) -> dict:
        """The keys a secrets.json would hold to send mail through this server."""
        return {
            "EMAIL_BACKEND": "smtp",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": self.port,
            "DEFAULT_FROM_EMAIL": "Instagram <hello@example.com>",
        }
