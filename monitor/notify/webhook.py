"""Our one channel of our own: POST the structured JSON payload to a web address.

Apprise's json:// wraps every message in its own envelope with the body as a string;
n8n, Zapier, Home Assistant or one's own code want the change as values. The URL is
written the Apprise way: ``json://`` / ``jsons://`` (or ``http://`` / ``https://``),
``+Name=value`` query arguments become request headers (where webhook tokens go).
"""

from __future__ import annotations

from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import httpx

from monitor.errors import NotifyError
from monitor.model import Alert
from monitor.version import __version__

_SCHEMES = {"json": "http", "jsons": "https", "http": "http", "https": "https"}
CONTENT_TYPE = "application/json"


class JsonWebhook:
    """One webhook address; ``send`` posts an alert's payload and raises NotifyError
    unless the receiver answers 2xx."""

    def __init__(self, url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._target, self._headers = _split(url)
        self.masked_url = mask(url)
        self._transport = transport

    async def send(self, channel: str, alert: Alert) -> None:
        if not alert.body_json:
            raise NotifyError(
                f"channel {channel!r} ({self.masked_url}) wants JSON, but this alert was "
                "queued before the channel's format was json",
                reason="no JSON payload queued",
            )
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": f"posting-monitor/{__version__}",
            **self._headers,
        }
        try:
            # The send_timeout around every send is the real bound; this is a backstop.
            async with httpx.AsyncClient(transport=self._transport, timeout=300) as client:
                response = await client.post(
                    self._target, content=alert.body_json.encode(), headers=headers
                )
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise NotifyError(
                f"channel {channel!r} ({self.masked_url}) could not be reached: {reason}",
                reason=reason,
            ) from exc
        if not response.is_success:
            reason = f"HTTP {response.status_code}"
            raise NotifyError(
                f"channel {channel!r} ({self.masked_url}) did not accept the message: {reason}",
                reason=reason,
            )


def _split(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url.strip())
    scheme = _SCHEMES[parts.scheme.lower()]
    headers: dict[str, str] = {}
    query: list[tuple[str, str]] = []
    # Not parse_qsl: it reads "+" as a space, and "+Name" is how a header is written.
    for pair in filter(None, parts.query.split("&")):
        raw_name, _, raw_value = pair.partition("=")
        name, value = unquote(raw_name), unquote(raw_value)
        if name.startswith("+") and len(name) > 1:
            headers[name[1:]] = value
        else:
            query.append((name, value))
    target = urlunsplit((scheme, parts.netloc, parts.path or "/", urlencode(query), ""))
    return target, headers


def mask(url: str) -> str:
    """Scheme and host only: a webhook's path (Zapier, Slack-style hooks), its
    user-info and its query are where the secret lives."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    hidden = "/****" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{'****@' if parts.username else ''}{host}{port}{hidden}"
