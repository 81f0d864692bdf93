"""URL helpers: canonical form (identity of a page) and a stable key for it."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.addresses import Network, address_refusal

# Parameters that identify a campaign or a click, never the posting.
_TRACKING_PARAMS = frozenset(
    "gclid fbclid msclkid dclid yclid mc_cid mc_eid ref ref_src source src gh_src lever-source "
    "lever-origin trk trackingid refid".split()
)


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, no tracking parameters, sorted query."""
    parts = urlsplit(url.strip())
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    )
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


def shown_url(url: str) -> str:
    """``url`` as it may be shown or logged: credentials in it are masked
    (``https://bob:***@host/x``, ``https://***@host/x`` for a token alone)."""
    try:
        parts = urlsplit(url)
        username, password, host = parts.username, parts.password, parts.hostname
        port = parts.port
    except ValueError:
        return url if "@" not in url else "(a URL with credentials that cannot be read)"
    if username is None and password is None:
        return url
    user = f"{username}:***" if password is not None else "***"
    netloc = f"{user}@{host or ''}" + (f":{port}" if port is not None else "")
    return urlunsplit(parts._replace(netloc=netloc))


def is_web_url(url: str) -> bool:
    """An absolute http(s) URL with a host, and no space or control character: what a
    posting may link to (a board's JSON may just as well say ``javascript:...``)."""
    if not url or any(c.isspace() or not c.isprintable() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def url_problem(url: str, allowed: Sequence[Network] = ()) -> str | None:
    """Why ``url`` can never be fetched, or None: not http(s), no host, a space in the
    host, a port out of range, or an address written in it that is refused."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        return "not an http or https URL"
    return _netloc_problem(parts.netloc, tuple(allowed))


@functools.lru_cache(maxsize=4096)
def _netloc_problem(netloc: str, allowed: tuple[Network, ...]) -> str | None:
    # Cached: a configuration of 10,000 postings names a few hosts, and judging an
    # address literal costs more than reading the rest of the watch.
    if any(c.isspace() for c in netloc):
        return "a space in the host name"
    parts = urlsplit(f"//{netloc}")
    try:
        host, _port = parts.hostname, parts.port
    except ValueError as exc:
        return f"the port is not valid ({exc})"
    if not host:
        return "no host name"
    if _NUMERIC_HOST.fullmatch(host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return f"{host!r} is not a valid IP address (leading zeros, octal or short forms)"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: judged when it resolves
    refusal = address_refusal(host, allowed)
    return f"{host} is {refusal} (allow it with http.allowed_networks)" if refusal else None


_NUMERIC_HOST = re.compile(r"[0-9.]+|0x[0-9a-f.x]+", re.I)
