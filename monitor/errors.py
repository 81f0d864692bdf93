"""The one exception tree of Posting Monitor.

Every error the package raises on purpose derives from ``MonitorError``;
third-party errors are translated where those libraries are called, with
``raise ... from exc``, so callers handle one tree::

    MonitorError
    ├── ConfigError                 bad configuration file, field or env override
    ├── FetchError                  anything that went wrong getting a page (carries url)
    │   ├── TransportError          connection refused, DNS, TLS, reset
    │   ├── FetchTimeout            connect or read timed out
    │   ├── HttpStatusError         a status we do not treat as content (carries status)
    │   ├── BodyTooLarge            the body exceeded the configured limit
    │   ├── HostPaused              not fetched: the host asked us to wait or keeps failing
    │   ├── RobotsDisallowed        robots.txt forbids the URL (when respected)
    │   ├── BlockedAddress          private, loopback or link-local address (SSRF guard)
    │   └── UnsupportedContent      not a type this source can read (carries content type)
    ├── ParseError                  the body could not be read as a posting (carries url)
    │   └── ReadLimitExceeded       reading the page took too long or killed its reader
    ├── SourceError                 unknown source kind, URL no source can handle
    ├── StoreError                  the database refused or is unreachable
    │   └── NotFound                no such watch or posting
    ├── NotifyError                 a channel could not be built or refused a message
    ├── Conflict                    a request that does not fit the resource's state
    └── Forbidden                   a form without its CSRF token

Exceptions never log; the code that decides what to do with them does.
"""

from __future__ import annotations

from monitor.urls import shown_url


class MonitorError(Exception):
    """Base of every error Posting Monitor raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        # Pages are read in worker processes, whose errors come back pickled; the
        # default pickling calls __init__ with the formatted message alone, which
        # subclasses taking keyword arguments (url=...) cannot rebuild from.
        return _restore, (type(self), self.args, self.__dict__)


def _restore(
    kind: type[MonitorError], args: tuple[object, ...], state: dict[str, object]
) -> MonitorError:
    error = kind.__new__(kind)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(MonitorError):
    """The configuration is invalid; ``source`` names the file or environment."""

    def __init__(self, message: str, *, source: str = "") -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class FetchError(MonitorError):
    """Getting a page failed."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(f"{message} ({shown_url(url)})")


class TransportError(FetchError):
    """The connection failed: refused, reset, DNS or TLS."""


class FetchTimeout(FetchError):
    """The server did not answer in time."""


class HttpStatusError(FetchError):
    """The server answered with a status we do not read as content."""

    def __init__(self, *, url: str, status: int, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        """Seconds the server asked us to wait (``Retry-After`` on 429/503)."""
        super().__init__(f"HTTP {status}", url=url)


class HostPaused(FetchError):
    """Not fetched: the host asked us to wait, or keeps failing; try again at ``until``."""

    def __init__(self, *, url: str, host: str, seconds: float) -> None:
        self.host = host
        self.seconds = seconds
        super().__init__(f"{host} is paused for {seconds:.0f}s", url=url)


class BlockedAddress(FetchError):
    """The URL's host is (or resolves to) an address fetches may not reach."""

    def __init__(self, *, url: str, host: str, address: str, reason: str) -> None:
        self.host = host
        self.address = address
        where = host if host == address else f"{host} resolves to {address}"
        super().__init__(
            f"refused: {where}, {reason} (allow it with http.allowed_networks)", url=url
        )


class RobotsDisallowed(FetchError):
    """The site's robots.txt disallows our User-Agent from this URL."""


class BodyTooLarge(FetchError):
    """The body exceeded the configured size limit."""

    def __init__(self, *, url: str, limit: int) -> None:
        self.limit = limit
        super().__init__(f"body larger than {limit} bytes", url=url)


class UnsupportedContent(FetchError):
    """The response is not of a type this source can read."""

    def __init__(self, *, url: str, content_type: str) -> None:
        self.content_type = content_type
        super().__init__(f"unsupported content type {content_type or '(none)'!r}", url=url)


class ParseError(MonitorError):
    """The body could not be read as a posting."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(f"{message} ({shown_url(url)})")


class ReadLimitExceeded(ParseError):
    """Reading the page went past the time limit, or its reader process died."""


class SourceError(MonitorError):
    """No source can handle a URL, or a source kind is unknown."""


class StoreError(MonitorError):
    """The database refused an operation or cannot be reached."""


class NotFound(StoreError):
    """No such watch or posting."""


class NotifyError(MonitorError):
    """A notification channel could not be built or refused a message; ``reason`` is
    why, in the service's words where it gave any."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        self.reason = reason
        super().__init__(message)


class Conflict(MonitorError):
    """A request that does not fit the resource's state (retrying a sent alert)."""


class Forbidden(MonitorError):
    """A form without its CSRF token."""
