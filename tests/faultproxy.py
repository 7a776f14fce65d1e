"""A faulty S3 endpoint for tests: an HTTP proxy in front of the moto server that forwards some
requests and fails the rest, so a test can check what really reached the bucket.

    with FaultProxy(s3_endpoint) as proxy:
        proxy.fail("PUT", after=2)            # S3 goes down after two writes
        proxy.fail("DELETE", action="stall")  # deletions never answer
        ...
        proxy.heal()                          # S3 is back

Actions: ``"error"`` answers 500 with an S3 error body, ``"drop"`` resets the connection without
an answer, ``"stall"`` reads the request and never answers (until ``heal()`` or the end).
Every request is recorded in ``proxy.requests``, so a test can count botocore's attempts.
"""

import http.client
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ACTIONS = ("error", "drop", "stall")
# Hop-by-hop headers and the length: the proxy sends bodies with their own Content-Length.
# Expect: 100-continue is answered here (BaseHTTPRequestHandler does), not upstream.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length", "expect"}


@dataclass
class Rule:
    """Fail requests of ``method`` (any when None) after the first ``after`` of them pass."""

    method: str | None
    action: str
    after: int = 0
    seen: int = 0

    def fails(self, method: str) -> bool:
        if self.method not in (None, method):
            return False
        self.seen += 1
        return self.seen > self.after


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    outcome: str  # "forwarded" or the action taken


class FaultProxy:
    """Forward HTTP requests to ``upstream``, failing those that match a rule."""

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.rules: list[Rule] = []
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> "FaultProxy":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str | None = None, *, action: str = "error", after: int = 0) -> None:
        """From now on, fail every request of ``method`` after the next ``after`` of them."""
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, not {action!r}")
        with self.lock:
            self.rules.append(Rule(method, action, after))

    def heal(self) -> None:
        """Forward everything again, and let stalled requests go (without an answer)."""
        with self.lock:
            self.rules.clear()
        self.released.set()
        self.released = threading.Event()

    def count(self, method: str, outcome: str | None = None) -> int:
        """How many ``method`` requests arrived (with ``outcome``, when given)."""
        with self.lock:
            return sum(
                1
                for request in self.requests
                if request.method == method and outcome in (None, request.outcome)
            )

    def _decide(self, method: str, path: str) -> str:
        with self.lock:
            outcome = next((rule.action for rule in self.rules if rule.fails(method)), "forwarded")
            self.requests.append(Request(method, path, outcome))
            return outcome


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

        def handle_one_request(self):
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or not self.parse_request():
                self.close_connection = True
                return
            body = self._body()
            outcome = proxy._decide(self.command, self.path)
            if outcome == "forwarded":
                self._forward(body)
            elif outcome == "error":
                self._error()
            elif outcome == "drop":
                self._drop()
            else:
                proxy.released.wait()
                self.close_connection = True
            self.wfile.flush()

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _forward(self, body: bytes) -> None:
            upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
            try:
                headers = {
                    key: value
                    for key, value in self.headers.items()
                    if key.lower() not in _NOT_FORWARDED
                }
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
            finally:
                upstream.close()
            self.send_response_only(answer.status, answer.reason)
            for key, value in answer.getheaders():
                if key.lower() not in _NOT_FORWARDED:
                    self.send_header(key, value)
            length = answer.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _error(self) -> None:
            data = (
                b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>InternalError</Code>"
                b"<Message>We encountered an internal error. Please try again.</Message></Error>"
            )
            self.send_response_only(500)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _drop(self) -> None:
            """Reset the connection (RST, not FIN), as a crashed server or a load balancer does."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

        def log_message(self, *args):
            pass

    return Handler


def refused_endpoint() -> tuple[str, socket.socket]:
    """A loopback URL whose connections are refused: a port bound (so no one else takes it)
    but not listening. Close the socket when done."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return f"http://127.0.0.1:{sock.getsockname()[1]}", sock


@contextmanager
def unaccepted_endpoint() -> Iterator[str]:
    """A loopback URL whose connections never complete, as behind a firewall that drops
    packets: a listening socket whose accept queue (backlog 0) is full and never served, so
    the kernel drops new SYNs and a client's connect times out."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as server:
        address = server.getsockname()
        with socket.create_connection(address):  # fills the queue
            yield f"http://127.0.0.1:{address[1]}"
