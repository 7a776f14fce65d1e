"""Media in S3, with photo URLs presigned in microseconds and stable for an hour.

botocore takes 150-200 µs to presign one URL (it builds a request, runs its event hooks and
derives the signing key every time), and a feed page shows dozens. ``MediaStorage`` writes the
same SigV4 query string itself: everything but the object's path is computed once per window,
so a URL costs a quote, a SHA-256 and an HMAC.

URLs are signed as of the start of the current hour and stay valid for two hours: each one works
for at least an hour after it is issued, and a page reloaded within the hour names the same URLs,
so the browser shows the photos it has cached (objects are immutable) instead of downloading
them again. A URL cannot outlive the credentials that signed it: temporary credentials (an EC2
instance role) end its validity when they expire.

Private accounts' photos get URLs of their own (``private_url``): signed as of the start of the
current ten minutes and valid for twenty, so a follower removed (or blocked) keeps what their
open page names for twenty minutes at most, while public photos keep their hour of caching.
"""

import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import ClientError
from storages.backends.s3 import S3Storage
from storages.utils import clean_name, get_available_overwrite_name

URL_WINDOW = 3600  # seconds: URLs issued within one window are identical
URL_EXPIRES = 2 * URL_WINDOW  # seconds from the window's start
PRIVATE_URL_WINDOW = 600  # the same for private accounts' photos: see private_url
PRIVATE_URL_EXPIRES = 2 * PRIVATE_URL_WINDOW
ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PROBE_KEY = "probe"
NAME_ATTEMPTS = 5  # names are random UUIDs: a clash is already all but impossible


class MediaStorage(S3Storage):
    """django-storages' S3 backend whose ``url()`` presigns a GET without botocore."""

    # The clock URLs are signed by; tests replace it.
    clock = staticmethod(time.time)

    # One process-wide lock for the first connection of any storage: cheap, and rare.
    _connecting = threading.Lock()

    @property
    def connection(self):
        """An S3 resource for this thread, as boto3 asks (resources are not thread-safe), all
        of this storage's sharing one client (clients are).

        django-storages makes each thread a boto3 session and client of its own, and each holds
        botocore's S3 models: 13 to 15 MB a thread, so a gunicorn worker's four threads grew by
        40 to 55 MB once each had stored a photo (bench/run memory).
        """
        resource = getattr(self._connections, "connection", None)
        if resource is None:
            with self._connecting:
                if self.__dict__.get("_shared_connection") is None:
                    self._shared_connection = super().connection
            shared = self._shared_connection
            resource = type(shared)(client=shared.meta.client)
            self._connections.connection = resource
        return resource

    def get_available_name(self, name, max_length=None):
        """The name as it is, without django-storages' HEAD request to see if it is taken.

        ``_save`` has S3 refuse to overwrite instead (If-None-Match: *). Besides saving a round
        trip, this matters under the least-privilege policy: it grants s3:ListBucket only under
        media/, with an s3:prefix condition that a HeadObject request does not carry, so S3
        answers a HEAD for a missing key with 403 rather than 404, and every save would fail.
        """
        if self.file_overwrite:
            return super().get_available_name(name, max_length)
        return get_available_overwrite_name(clean_name(name), max_length)

    def _save(self, name, content):
        """Write ``content`` only if nothing has ``name`` yet; if something has, another name."""
        if self.file_overwrite:
            return super()._save(name, content)
        for _ in range(NAME_ATTEMPTS):
            try:
                return self._save_new(name, content)
            except ClientError as error:
                if error.response["Error"]["Code"] != "PreconditionFailed":
                    raise
                name = self.get_alternative_name(*os.path.splitext(name))
        raise FileExistsError(f"no free name found near {name!r}")

    def _save_new(self, name: str, content) -> str:
        cleaned = clean_name(name)
        key = self._normalize_name(cleaned)
        content.seek(0)
        self.connection.meta.client.put_object(
            Bucket=self.bucket_name,
            Key=key,
            Body=content.read(),
            IfNoneMatch="*",
            **self._get_write_parameters(key, content),
        )
        return cleaned

    def url(self, name, parameters=None, expire=None, http_method=None):
        """A GET URL for ``name``, signed for the current window; other requests go to botocore.

        A custom domain (CloudFront) needs no S3 signature, so django-storages builds that URL.
        """
        plain = not (parameters or expire is not None or http_method or self.custom_domain)
        signer = self._url_signer if plain and self.querystring_auth else None
        if signer is None:
            return super().url(name, parameters, expire, http_method)
        return signer.url(self._normalize_name(clean_name(name)), self.clock())

    def private_url(self, name: str) -> str:
        """A GET URL for ``name`` that works for PRIVATE_URL_EXPIRES at most: for photos only
        some members may see. Unsigned (as ``url``) behind a custom domain."""
        signer = self._private_url_signer if self.querystring_auth else None
        if signer is None or self.custom_domain:
            expire = None if self.custom_domain else PRIVATE_URL_EXPIRES
            return super().url(name, expire=expire)
        return signer.url(self._normalize_name(clean_name(name)), self.clock())

    @cached_property
    def _private_url_signer(self) -> "UrlSigner | None":
        signer = self._url_signer
        return signer and signer.with_window(PRIVATE_URL_WINDOW, PRIVATE_URL_EXPIRES)

    @cached_property
    def _url_signer(self) -> "UrlSigner | None":
        """A signer for this bucket's endpoint, or None if botocore signs in another way."""
        client = self.connection.meta.client
        probe = client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket_name, "Key": _PROBE_KEY},
            ExpiresIn=URL_EXPIRES,
        )
        return UrlSigner.matching(probe, self._create_session().get_credentials())

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_url_signer", None)
        state.pop("_private_url_signer", None)
        state.pop("_shared_connection", None)
        return state


@dataclass(frozen=True)
class _Window:
    """What every URL signed in one window with one set of credentials shares."""

    start: int
    credentials: ReadOnlyCredentials
    query: str
    canonical_tail: str
    string_to_sign_head: str
    signing_key: bytes


class UrlSigner:
    """Presigns GET URLs for one bucket, byte for byte as botocore's S3SigV4QueryAuth does."""

    def __init__(
        self,
        *,
        base: str,
        region: str,
        service: str,
        credentials: Credentials,
        window: int = URL_WINDOW,
        expires: int = URL_EXPIRES,
    ):
        """``base`` is the URL an object key is appended to, e.g. ``https://b.s3.amazonaws.com/``;
        URLs are signed as of the start of each ``window`` seconds, valid ``expires`` seconds."""
        parts = urlsplit(base)
        self.base = base
        self.path_prefix = parts.path
        self.host = _host(parts.scheme, parts.hostname, parts.port)
        self.region = region
        self.service = service
        self.credentials = credentials
        self.window = window
        self.expires = expires
        self._window: _Window | None = None

    def with_window(self, window: int, expires: int) -> "UrlSigner":
        """A signer for the same bucket whose URLs have another window and lifetime."""
        return UrlSigner(
            base=self.base,
            region=self.region,
            service=self.service,
            credentials=self.credentials,
            window=window,
            expires=expires,
        )

    @classmethod
    def matching(cls, probe: str, credentials: Credentials) -> "UrlSigner | None":
        """A signer for the endpoint of ``probe``, a URL botocore presigned for the probe key.

        Reading the endpoint off botocore's own URL keeps every addressing rule its (path-style,
        virtual host, a custom endpoint) without repeating them here. None when the probe was
        not signed with SigV4 on the host header alone (e.g. SigV4a or S3 Express).
        """
        parts = urlsplit(probe)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        scope = query.get("X-Amz-Credential", "").split("/")
        if (
            query.get("X-Amz-Algorithm") != ALGORITHM
            or query.get("X-Amz-SignedHeaders") != "host"
            or len(scope) != 5
            or not parts.path.endswith("/" + _PROBE_KEY)
        ):
            return None
        base = probe[: probe.index("?") - len(_PROBE_KEY)]
        return cls(base=base, region=scope[2], service=scope[3], credentials=credentials)

    def url(self, key: str, now: float) -> str:
        """The URL of ``key``, signed as of the start of the window ``now`` falls in."""
        window = self._window_at(int(now // self.window) * self.window)
        path = quote(key, safe="/~")
        canonical_request = f"GET\n{self.path_prefix}{path}\n{window.canonical_tail}"
        digest = hashlib.sha256(canonical_request.encode()).hexdigest()
        string_to_sign = window.string_to_sign_head + digest
        signature = hmac.digest(window.signing_key, string_to_sign.encode(), "sha256").hex()
        return f"{self.base}{path}?{window.query}&X-Amz-Signature={signature}"

    def _window_at(self, start: int) -> _Window:
        # Credentials are read on every URL, so refreshed ones (an instance role's) take effect.
        credentials = self.credentials.get_frozen_credentials()
        window = self._window
        if window is None or window.start != start or window.credentials != credentials:
            window = self._window = self._window_for(start, credentials)
        return window

    def _window_for(self, start: int, credentials: ReadOnlyCredentials) -> _Window:
        timestamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(start))
        scope = f"{timestamp[:8]}/{self.region}/{self.service}/aws4_request"
        params: dict[str, Any] = {
            "X-Amz-Algorithm": ALGORITHM,
            "X-Amz-Credential": f"{credentials.access_key}/{scope}",
            "X-Amz-Date": timestamp,
            "X-Amz-Expires": self.expires,
            "X-Amz-SignedHeaders": "host",
        }
        if credentials.token is not None:
            params["X-Amz-Security-Token"] = credentials.token
        encoded = [(_encode(name), _encode(value)) for name, value in params.items()]
        canonical_query = "&".join(f"{name}={value}" for name, value in sorted(encoded))
        key = f"AWS4{credentials.secret_key}".encode()
        for part in (timestamp[:8], self.region, self.service, "aws4_request"):
            key = hmac.digest(key, part.encode(), "sha256")
        return _Window(
            start=start,
            credentials=credentials,
            query="&".join(f"{name}={value}" for name, value in encoded),
            canonical_tail=f"{canonical_query}\nhost:{self.host}\n\nhost\n{UNSIGNED_PAYLOAD}",
            string_to_sign_head=f"{ALGORITHM}\n{timestamp}\n{scope}\n",
            signing_key=key,
        )


def _encode(value: Any) -> str:
    """Percent-encode a query name or value as SigV4 (and botocore) does."""
    return quote(str(value), safe="-_.~")


def _host(scheme: str, hostname: str, port: int | None) -> str:
    """The Host header botocore signs: the host name, bracketed if IPv6, and a non-default port."""
    host = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return host
