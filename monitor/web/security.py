"""Who may use the dashboard and API, and what a page may do in the browser.

- Beyond loopback, credentials are required: ``web.token`` (API: ``Authorization:
  Bearer``; dashboard: its sign-in form, which sets a signed session cookie) or
  ``web.username`` / ``web.password`` (HTTP Basic). Start-up refuses otherwise.
- Forms carry a CSRF token that must match a cookie (double submit; the cookie is
  SameSite=Strict and HttpOnly), and a cross-site ``Origin`` is refused outright.
- The JSON API takes writes as ``application/json`` only, which a cross-site form
  cannot send without a CORS preflight we never answer.
- Every response forbids inline script, framing and sniffing (Content-Security-Policy).
- A session cookie names a random session id; signing out ends that id on the server.
- Feed readers get ``web.feed_token``, which opens the feeds only.
- Wrong credentials from one client make it wait, longer after each further failure.
- Cookies are Secure, and HSTS is sent, when the dashboard is reached over https.
- A request naming a host we do not answer to (``HostAllowList``) is refused before
  routing, so a page that rebinds its own name to 127.0.0.1 cannot use the dashboard.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from monitor.config import WebConfig, check_host_name, is_loopback_host
from monitor.errors import ConfigError

SESSION_COOKIE = "pm_session"
CSRF_COOKIE = "pm_csrf"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 7 * 24 * 3600
SESSION_PREFIX = "session:"
HSTS = "max-age=31536000"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def is_loopback(host: str) -> bool:
    return is_loopback_host(host.strip("[]"))


def check_exposure(settings: WebConfig, host: str) -> None:
    """Refuse to listen beyond loopback without credentials: the dashboard adds and
    removes watches and sends alerts."""
    if not is_loopback(host) and not settings.has_credentials:
        raise ConfigError(
            f"the dashboard would listen on {host}, beyond this machine, with no sign-in: "
            "set web.token (or web.username and web.password), or listen on 127.0.0.1",
            source="web.listen",
        )


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the configuration accepts, compared in constant time."""

    token: str | None
    username: str | None
    password: str | None
    feed_token: str | None = None

    @classmethod
    def from_config(cls, settings: WebConfig) -> Credentials:
        return cls(
            token=settings.token.get_secret_value() if settings.token else None,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            feed_token=settings.feed_token.get_secret_value() if settings.feed_token else None,
        )

    @property
    def required(self) -> bool:
        return self.token is not None or self.username is not None

    def bearer_ok(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or self.token is None:
            return False
        return hmac.compare_digest(value.strip().encode(), self.token.encode())

    def basic_ok(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic" or self.username is None or self.password is None:
            return False
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        same_user = hmac.compare_digest(user.encode(), self.username.encode())
        same_password = hmac.compare_digest(password.encode(), self.password.encode())
        return same_user and same_password

    def header_ok(self, header: str | None) -> bool:
        if not header:
            return False
        return self.bearer_ok(header) or self.basic_ok(header)

    def token_ok(self, token: str) -> bool:
        return self.token is not None and hmac.compare_digest(token.encode(), self.token.encode())

    def feed_token_ok(self, token: str) -> bool:
        """The read-only feed token; the API token is not taken in a URL."""
        known = self.feed_token
        return known is not None and hmac.compare_digest(token.encode(), known.encode())


def new_session() -> str:
    """The value a session cookie signs: a random id that signing out can end."""
    return SESSION_PREFIX + secrets.token_urlsafe(16)


def session_id(value: str | None) -> str | None:
    """The id in a verified session value; None for anything else (an old cookie)."""
    if value is None or not value.startswith(SESSION_PREFIX):
        return None
    return value.removeprefix(SESSION_PREFIX) or None


@dataclass
class _Failures:
    count: int = 0
    until: float = 0.0


@dataclass
class Throttle:
    """Failed sign-ins per client (address): the first ``free`` cost nothing, then
    each one makes the client wait twice as long as the last (at most ``longest``
    seconds) before credentials from it are looked at again. A success forgets it.
    At most ``size`` clients are remembered, the oldest dropped first."""

    free: int = 5
    longest: float = 300.0
    size: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _clients: dict[str, _Failures] = field(default_factory=dict)

    def wait(self, client: str) -> float:
        """Seconds ``client`` must wait before its next attempt (0: it may try)."""
        failures = self._clients.get(client)
        return max(0.0, failures.until - self.clock()) if failures else 0.0

    def failed(self, client: str) -> None:
        failures = self._clients.pop(client, None) or _Failures()
        failures.count += 1
        if failures.count > self.free:
            delay = min(self.longest, 2.0 ** (failures.count - self.free - 1))
            failures.until = self.clock() + delay
        self._clients[client] = failures  # now the newest
        while len(self._clients) > self.size:
            del self._clients[next(iter(self._clients))]

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)


class Signer:
    """HMAC-signed values (the session cookie) with an expiry."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, value: str, *, now: float | None = None) -> str:
        expires = int((now or time.time()) + SESSION_SECONDS)
        payload = f"{value}|{expires}"
        return f"{payload}|{self._mac(payload)}"

    def verify(self, signed: str, *, now: float | None = None) -> str | None:
        payload, _, mac = signed.rpartition("|")
        value, _, expires = payload.rpartition("|")
        if not mac or not expires.isdigit() or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        return value if int(expires) > (now or time.time()) else None

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())


def same_origin(origin: str | None, host: str | None) -> bool:
    """A missing Origin is allowed (non-browser clients); a present one must be ours."""
    if not origin:
        return True
    if origin == "null" or host is None:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()


@dataclass(frozen=True, slots=True)
class HostAllowList:
    """The names a ``Host`` header may carry: loopback (names and addresses), the listen
    address, ``web.public_url``'s host and ``web.allowed_hosts`` (``*.`` and a domain:
    any name under it). The port is not compared."""

    names: frozenset[str]
    domains: tuple[str, ...]

    @classmethod
    def from_config(cls, settings: WebConfig, listen_host: str | None = None) -> HostAllowList:
        names = set(settings.allowed_hosts)
        if listen_host:
            names.add(check_host_name(listen_host))
        public = urlsplit(settings.public_url).hostname if settings.public_url else None
        if public:
            names.add(check_host_name(public))
        domains = tuple(name[1:] for name in names if name.startswith("*."))
        return cls(names=frozenset(n for n in names if not n.startswith("*.")), domains=domains)

    def allows(self, header: str | None) -> bool:
        if not header:
            return False
        name = host_of(header)
        if not name:
            return False
        return is_loopback(name) or name in self.names or name.endswith(self.domains)


def host_of(header: str) -> str:
    """The host name of a ``Host`` header, lower-cased, without port or brackets; ""
    for anything that is not a host name or address (``*.corp.example`` included,
    which would otherwise end like a name under an allowed domain, and an IPv6 address
    without the brackets RFC 3986 asks for)."""
    value = header.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_ok = not rest or (rest[0] == ":" and rest[1:].isdigit())
        return host if port_ok and _IPV6_CHARS.fullmatch(host) else ""
    host, colon, port = value.rpartition(":")
    if not colon:
        host = value
    elif not port.isdigit():
        return ""
    host = host.removesuffix(".")
    return host if _NAME_CHARS.fullmatch(host) else ""


_NAME_CHARS = re.compile(r"[a-z0-9_.-]+")
_IPV6_CHARS = re.compile(r"[0-9a-f:.]+")
