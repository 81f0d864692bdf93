"""Alerts through Apprise to real local peers: SMTP (mailto://) and a webhook (json://)."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest
from pydantic import SecretStr

from monitor.config import ChannelConfig
from monitor.errors import ConfigError, NotifyError
from monitor.model import Alert
from monitor.notify.channels import ChannelNotifier
from tests.peers import free_port, smtp_server, webhook_receiver

ALERT = Alert(
    title="Stripe · Backend Engineer: salary range raised 6.0%",
    body_text="Salary:\n  - salary range 155,700–285,600 USD/yr → 165,000–300,000 (+6.0% / +5.0%)",
    body_markdown="**Salary**\n- salary range 155,700–285,600 USD/yr → 165,000–300,000 (+6.0% / +5.0%)",
)


def channel(name: str, url: str) -> ChannelConfig:
    return ChannelConfig(name=name, url=SecretStr(url))


def test_email_reaches_a_real_smtp_server() -> None:
    with smtp_server() as (inbox, port):
        url = f"mailto://127.0.0.1:{port}?from=monitor@example.com&to=me@example.com&mode=insecure"
        notifier = ChannelNotifier([channel("mail", url)])
        asyncio.run(notifier.send("mail", ALERT))
    (message,) = inbox.messages
    assert message["Subject"] == ALERT.title
    assert message["To"] == "me@example.com"
    body = "".join(
        part.get_content() for part in message.walk() if part.get_content_maintype() == "text"
    )
    assert "165,000–300,000" in body


def test_json_webhook_receives_title_and_body() -> None:
    with webhook_receiver() as receiver:
        notifier = ChannelNotifier([channel("hook", f"json://127.0.0.1:{receiver.port}/alerts")])
        asyncio.run(notifier.send("hook", ALERT))
    (post,) = receiver.posts
    assert post["title"] == ALERT.title
    assert "165,000–300,000" in post["message"]


def test_a_channel_that_refuses_says_why_in_one_short_line() -> None:
    with webhook_receiver() as receiver:
        receiver.status = 500
        notifier = ChannelNotifier(
            [channel("hook", f"json://127.0.0.1:{receiver.port}/alerts?method=POST")]
        )
        with pytest.raises(NotifyError, match="'hook'") as caught:
            asyncio.run(notifier.send("hook", ALERT))
    assert "500" in caught.value.reason
    assert str(caught.value).endswith(caught.value.reason)
    # Only what the user wrote, not Apprise's defaults (overflow=, rto=, cto=, ...).
    assert notifier.masked_url("hook") == f"json://127.0.0.1:{receiver.port}/alerts?method=POST"


def test_a_channel_nobody_listens_on_says_connection_refused() -> None:
    notifier = ChannelNotifier([channel("hook", f"json://127.0.0.1:{free_port()}/alerts")])
    with pytest.raises(NotifyError) as caught:
        asyncio.run(notifier.send("hook", ALERT))
    assert "connection refused" in caught.value.reason.lower()


def test_messages_go_only_to_the_named_channel() -> None:
    with webhook_receiver() as first, webhook_receiver() as second:
        notifier = ChannelNotifier([
            channel("first", f"json://127.0.0.1:{first.port}/"),
            channel("second", f"json://127.0.0.1:{second.port}/"),
        ])  # fmt: skip
        asyncio.run(notifier.send("second", ALERT))
    assert (len(first.posts), len(second.posts)) == (0, 1)


def test_console_channel_writes_the_text_body() -> None:
    out = io.StringIO()
    asyncio.run(
        ChannelNotifier([channel("console", "console://")], console=out).send("console", ALERT)
    )
    assert "165,000–300,000 (+6.0% / +5.0%)" in out.getvalue()


def test_console_channel_writes_no_escape_sequence() -> None:
    hostile = Alert(
        title="Ctl\x1b[2JCo · Engineer",
        body_text="Engineer \x1b[31mRED\x1b[0m \x1b]52;c;ZWNobyBwd25lZA==\x07 end\x00nul\x9b2J",
        body_markdown="",
    )
    out = io.StringIO()
    asyncio.run(
        ChannelNotifier([channel("console", "console://")], console=out).send("console", hostile)
    )
    assert "Engineer RED  endnul" in out.getvalue()
    assert not set(out.getvalue()) & {"\x1b", "\x07", "\x00", "\x9b"}


def test_secrets_are_masked_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with webhook_receiver() as receiver:
        receiver.status = 500
        notifier = ChannelNotifier(
            [channel("hook", f"json://user:s3cr3t-token@127.0.0.1:{receiver.port}/")]
        )
        assert "s3cr3t-token" not in notifier.masked_url("hook")
        with pytest.raises(NotifyError) as caught:
            asyncio.run(notifier.send("hook", ALERT))
    assert "s3cr3t-token" not in str(caught.value)
    assert "s3cr3t-token" not in caplog.text


def test_unusable_apprise_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'broken'"):
        ChannelNotifier([channel("broken", "nosuchservice://x")])


def test_unknown_channel_is_refused() -> None:
    with pytest.raises(NotifyError, match="not configured"):
        asyncio.run(ChannelNotifier([]).send("gone", ALERT))


def test_slack_payload_reaches_a_local_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    from apprise.plugins.slack import NotifySlack

    with webhook_receiver() as receiver:
        receiver.reply = b"ok"
        monkeypatch.setattr(
            NotifySlack, "webhook_url", f"http://127.0.0.1:{receiver.port}/services"
        )
        url = "slack://T1ABCDEFG/B2ABCDEFG/abcdefghijklmnopqrstuvwx/#jobs"
        notifier = ChannelNotifier([channel("slack", url)])
        asyncio.run(notifier.send("slack", ALERT))
    (post,) = receiver.posts
    assert receiver.paths == ["/services/T1ABCDEFG/B2ABCDEFG/abcdefghijklmnopqrstuvwx"]
    text = json.dumps(post, ensure_ascii=False)
    assert "salary range raised 6.0%" in text
    assert "165,000–300,000" in text
    assert "abcdefghijklmnopqrstuvwx" not in notifier.masked_url("slack")


def test_discord_payload_reaches_a_local_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    from apprise.plugins.discord import NotifyDiscord

    with webhook_receiver() as receiver:
        monkeypatch.setattr(
            NotifyDiscord, "notify_url", f"http://127.0.0.1:{receiver.port}/api/webhooks"
        )
        notifier = ChannelNotifier(
            [channel("discord", "discord://1234567890/secret-webhook-token")]
        )
        asyncio.run(notifier.send("discord", ALERT))
    (post,) = receiver.posts
    assert receiver.paths[0].startswith("/api/webhooks/1234567890/secret-webhook-token")
    assert "165,000–300,000" in json.dumps(post, ensure_ascii=False)
    assert "secret-webhook-token" not in notifier.masked_url("discord")


@pytest.mark.parametrize(
    ("fmt", "expected"), [("text", ALERT.body_text), ("markdown", ALERT.body_markdown)]
)
def test_channel_format_picks_the_body(fmt: str, expected: str) -> None:
    with webhook_receiver() as receiver:
        config = ChannelConfig(
            name="hook", url=SecretStr(f"json://127.0.0.1:{receiver.port}/"), format=fmt
        )  # type: ignore[arg-type]
        asyncio.run(ChannelNotifier([config]).send("hook", ALERT))
    assert receiver.posts[0]["message"] == expected


def test_mentions_in_posting_text_never_ping_a_chat_channel() -> None:
    """A posting titled "@everyone apply now" must not notify a whole chat server."""
    hostile = Alert(
        title="Acme · @everyone apply now <!channel>",
        body_text="title changed: @here",
        body_markdown="title changed: @here <@&1234>",
    )
    with webhook_receiver() as chat, webhook_receiver() as hook:
        notifier = ChannelNotifier(
            [
                channel("chat", f"mmost://127.0.0.1:{chat.port}/token123"),
                channel("hook", f"json://127.0.0.1:{hook.port}/"),
            ]
        )
        asyncio.run(notifier.send("chat", hostile))
        asyncio.run(notifier.send("hook", hostile))
    (chat_post,) = chat.posts
    text = json.dumps(chat_post, ensure_ascii=False)
    for mention in ("@everyone", "@here", "<!channel>", "<@&1234>"):
        assert mention not in text
    assert "@\u200beveryone" in text
    (hook_post,) = hook.posts  # a plain webhook gets the text as written
    assert "@everyone" in hook_post["title"]
