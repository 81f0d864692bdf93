"""Delivering one message to one channel: Apprise for every service, plus the console.

One Apprise object is built at start with each channel tagged by its name, so a
message can be routed to exactly one channel and its outcome recorded per row.
Channel URLs hold secrets: they are only ever shown through ``masked_url``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from monitor.config import ChannelConfig
from monitor.errors import ConfigError, NotifyError
from monitor.model import Alert
from monitor.notify.webhook import JsonWebhook
from monitor.safetext import for_terminal

log = logging.getLogger(__name__)
CONSOLE_SCHEME = "console://"


class Notifier(Protocol):
    async def send(self, channel: str, alert: Alert) -> None:
        """Deliver ``alert`` to ``channel``; raise NotifyError if it was not accepted."""
        ...


_PASSED_THROUGH = ("+", "-", ":")
"""Apprise's prefixes for query arguments it sends on as they are: HTTP headers
(``+Authorization=Bearer ...``), query arguments and payload fields. Its privacy
mode shows their values; they are where webhook tokens live."""


def masked(privacy_url: str, written: str | None = None) -> str:
    """Apprise's privacy URL with the values it passes through hidden too; with the
    URL as ``written`` by the user, only the query arguments they wrote are kept
    (Apprise adds its defaults, which make a 250-character line)."""
    parts = urlsplit(privacy_url)
    own = (
        {n for n, _v in parse_qsl(urlsplit(written).query, keep_blank_values=True)}
        if written
        else None
    )
    query = [
        (name, "****" if name.startswith(_PASSED_THROUGH) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if own is None or name in own
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


# Chat services where "@everyone", "@here", "<!channel>" or "<@&role>" in a message
# notify a whole server or channel. Posting text is written by strangers.
_CHAT_SCHEMES = frozenset(
    "discord slack mattermost mmost mmosts rocket rockets zulip msteams matrix matrixs "
    "guilded revolt ryver flock".split()
)
_MENTION = re.compile(r"@(everyone|here|channel|all)\b|<(!|@&?|#)", re.I)
_ZERO_WIDTH_SPACE = "\u200b"


def defuse_mentions(text: str) -> str:
    """'@everyone' -> '@\u200beveryone', '<!channel>' -> '<\u200b!channel>': shown the
    same, but no longer a mention that pings everyone."""
    return _MENTION.sub(
        lambda m: f"@{_ZERO_WIDTH_SPACE}{m[1]}" if m[1] else f"<{_ZERO_WIDTH_SPACE}{m[2]}",
        text,
    )


class ChannelNotifier:
    """Sends through Apprise, or writes to a stream for ``console://`` channels."""

    def __init__(
        self,
        channels: Sequence[ChannelConfig],
        *,
        console: TextIO | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ):
        self._console = console
        self._console_names = set()
        self._masked: dict[str, str] = {}
        self._formats = {channel.name: channel.format for channel in channels}
        self._chat = {
            channel.name
            for channel in channels
            if urlsplit(channel.url.get_secret_value().strip()).scheme.lower() in _CHAT_SCHEMES
        }
        self._apprise: Any = None  # Apprise (a sixth of a second to import), if needed
        self._webhooks: dict[str, JsonWebhook] = {}
        for index, channel in enumerate(channels):
            url = channel.url.get_secret_value()
            if url.strip().lower().startswith(CONSOLE_SCHEME):
                self._console_names.add(channel.name)
                self._masked[channel.name] = CONSOLE_SCHEME
                continue
            if channel.format == "json":
                hook = JsonWebhook(url, transport=webhook_transport)
                self._webhooks[channel.name] = hook
                self._masked[channel.name] = hook.masked_url
                continue
            if self._apprise is None:
                import apprise

                self._apprise = apprise.Apprise()
            service, reason = _instantiate(url, channel.name)
            if service is None:
                raise ConfigError(
                    f"channels[{index}].url: Apprise cannot use the URL of channel "
                    f"{channel.name!r}: {reason}"
                )
            self._masked[channel.name] = masked(str(service.url(privacy=True)), url)
            self._apprise.add(service)

    @property
    def channel_names(self) -> list[str]:
        return list(self._masked)

    def masked_url(self, channel: str) -> str:
        return self._masked.get(channel, "(unknown channel)")

    async def send(self, channel: str, alert: Alert) -> None:
        if channel in self._console_names:
            self._write_console(alert)
            return
        if channel not in self._masked:
            raise NotifyError(f"channel {channel!r} is not configured any more")
        if channel in self._webhooks:
            await self._webhooks[channel].send(channel, alert)
            return
        body, body_format = _body(alert, self._formats.get(channel, "markdown"))
        title = alert.title
        if channel in self._chat:
            body, title = defuse_mentions(body), defuse_mentions(title)
        with _apprise_says() as said:
            result = await self._apprise.async_notify(
                body=body, title=title, body_format=body_format, tag=channel, match_always=False
            )
        if not result:
            reason = said.reason() or "no reason given"
            raise NotifyError(
                f"channel {channel!r} ({self._masked[channel]}) did not accept the message: "
                f"{reason}",
                reason=reason,
            )

    def _write_console(self, alert: Alert) -> None:
        stream = self._console or sys.stdout
        rule = "─" * min(72, max(len(alert.title), 20))
        # Posting text is written by strangers: no escape sequence reaches the terminal.
        stream.write(f"\n{rule}\n{for_terminal(alert.body_text)}\n{rule}\n")
        stream.flush()


class _Collect(logging.Handler):
    """What Apprise logs about one call: its warnings are the reason a send failed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self.details: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = _URL_IN_TEXT.sub(r"\1://…", record.getMessage())
        if record.levelno >= logging.WARNING:
            self.messages.append(message)
        elif (errno := _ERRNO.search(message)) is not None:
            self.details.append(errno[1].lower())

    def reason(self) -> str:
        """'A Connection error occurred sending JSON notification to 127.0.0.1 (connection
        refused)'; HTTP statuses are in Apprise's own warning."""
        text = "; ".join(m.rstrip(".") for m in self.messages)
        detail = self.details[-1] if self.details else ""
        return f"{text} ({detail})" if text and detail and detail not in text.lower() else text


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^\]\)'\"]+)")


@contextmanager
def _apprise_says() -> Iterator[_Collect]:
    """Collect what Apprise logs meanwhile instead of letting it print its own lines."""
    apprise_log = logging.getLogger("apprise")
    collect = _Collect()
    apprise_log.addHandler(collect)
    level, apprise_log.level = apprise_log.level, logging.DEBUG
    propagate, apprise_log.propagate = apprise_log.propagate, False
    try:
        yield collect
    finally:
        apprise_log.removeHandler(collect)
        apprise_log.propagate = propagate
        apprise_log.setLevel(level)


_URL_IN_TEXT = re.compile(r"([A-Za-z][\w+.-]*)://\S*")


def _instantiate(url: str, tag: str) -> tuple[Any, str]:
    """Apprise's service for ``url``, or None and Apprise's reason (with the URL, which
    may hold a secret, left out). Apprise logs the reason itself; it is kept here
    instead, so the user reads one line."""
    import apprise

    with _apprise_says() as said:
        service = apprise.Apprise.instantiate(url, tag=tag)
    scheme = urlsplit(url.strip()).scheme or "(none)"
    return service, said.reason() or f"unknown or malformed URL (scheme {scheme!r})"


def _body(alert: Alert, wanted: str) -> tuple[str, str]:
    """The alert's body in the channel's format; Apprise converts it for the service."""
    import apprise

    if wanted == "html" and alert.body_html:
        return alert.body_html, apprise.NotifyFormat.HTML
    if wanted == "text":
        return alert.body_text, apprise.NotifyFormat.TEXT
    return alert.body_markdown, apprise.NotifyFormat.MARKDOWN
