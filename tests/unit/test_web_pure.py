"""The dashboard's pure parts: charts, open-per-day counts, the webhook payload and
address, sign-in and CSRF checks, change percentages and cursors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from monitor.config import MonitorConfig, WebConfig
from monitor.errors import ConfigError
from monitor.model import (
    ChangeKind,
    FieldChange,
    PayPeriod,
    Posting,
    RemoteKind,
    RemotePolicy,
    Salary,
)
from monitor.notify.payload import change_payload, digest_payload, dumps, with_identity
from monitor.notify.webhook import _split, mask
from monitor.store.readmodels import ChangeRow, change_fields, open_counts
from monitor.web.charts import (
    nice_ticks,
    pay_chart,
    pay_distribution,
    pay_series,
    unit_label,
)
from monitor.web.cursors import decode_cursor, encode_cursor
from monitor.web.filters import change_percent
from monitor.web.security import (
    SESSION_PREFIX,
    SESSION_SECONDS,
    Credentials,
    Signer,
    Throttle,
    check_exposure,
    csrf_ok,
    new_session,
    same_origin,
    session_id,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _posting(*salaries: Salary, remote: RemoteKind = RemoteKind.HYBRID) -> Posting:
    return Posting(
        source_kind="html",
        source_id="x",
        url="https://example.com/x",
        title="Engineer",
        company="Acme",
        salaries=salaries,
        remote=RemotePolicy(kind=remote),
    )


def _pay(low: int, high: int, label: str = "", currency: str = "USD") -> Salary:
    return Salary(
        min=Decimal(low), max=Decimal(high), currency=currency, period=PayPeriod.YEAR, label=label
    )


# -- charts --------------------------------------------------------------------------


def test_pay_series_per_label_held_until_the_next_version() -> None:
    versions = [
        (T0, _posting(_pay(100, 120, "Berlin"), _pay(90, 110, "Remote"))),
        (T0 + timedelta(days=10), _posting(_pay(105, 125, "Berlin"), _pay(90, 110, "Remote"))),
    ]
    series = pay_series(versions, T0 + timedelta(days=30))
    assert [s.label for s in series] == ["Berlin", "Remote"]
    berlin = series[0]
    assert [(b.low, b.high) for b in berlin.bands] == [(100, 120), (105, 125)]
    assert berlin.bands[0].end == T0 + timedelta(days=10)  # held until the next version
    assert berlin.bands[1].end == T0 + timedelta(days=30)  # the last until now
    chart = str(pay_chart(series, title="Pay"))
    assert _wide(chart).count("<rect ") == 4
    assert "Berlin" in chart
    assert "Remote" in chart
    assert "USD per year" in chart


def test_pay_chart_one_chart_per_currency_and_escaped_labels() -> None:
    versions = [(T0, _posting(_pay(100, 120, "<b>x</b>"), _pay(80, 90, "DE", "EUR")))]
    chart = str(pay_chart(pay_series(versions, T0 + timedelta(days=1)), title="Pay"))
    assert chart.count("<figure") == 2
    assert "EUR per year" in chart
    assert "<b>x</b>" not in chart
    assert "&lt;b&gt;x&lt;/b&gt;" in chart
    assert str(pay_chart([], title="Pay")) == ""


def test_a_range_with_one_end_is_still_drawn_and_no_pay_draws_nothing() -> None:
    one_end = Salary(min=None, max=Decimal(50), currency="USD", period=PayPeriod.HOUR)
    series = pay_series([(T0, _posting(one_end)), (T0 + timedelta(days=1), _posting())], T0)
    assert [(b.low, b.high) for b in series[0].bands] == [(50, 50)]
    assert unit_label("USD", "hour") == "USD per hour"
    assert unit_label("", "") == "(no currency)"


def _wide(chart: str) -> str:
    """The desktop drawing of the first chart (each is drawn at two widths)."""
    return chart.split('<svg class="wide"', 1)[1].split("</svg>", 1)[0]


def _numbers(chart: str, attribute: str) -> list[float]:
    return [float(v) for v in re.findall(rf'<rect [^>]*{attribute}="([0-9.]+)"', chart)]


def test_pay_distribution_one_chart_per_currency_most_common_first() -> None:
    postings = [_posting(_pay(100, 120)) for _ in range(3)] + [
        _posting(_pay(80, 90, currency="EUR"))
    ]
    chart = str(pay_distribution(postings, title="Spread"))
    assert chart.count("<figure") == 2  # no currency hidden behind the most common one
    assert chart.index("USD per year (3)") < chart.index("EUR per year (1)")
    assert str(pay_distribution([_posting()], title="Spread")) == ""


def test_pay_chart_draws_each_version_as_an_equal_step_with_its_percent() -> None:
    # The demo's case: the first version lived seconds, the second runs for weeks.
    versions = [
        (T0, _posting(_pay(155_700, 280_000))),
        (T0 + timedelta(seconds=5), _posting(_pay(165_000, 300_000))),
    ]
    series = pay_series(versions, T0 + timedelta(days=30))
    wide = _wide(str(pay_chart(series, title="Pay")))
    widths = _numbers(wide, "width")
    assert len(widths) == 2
    assert widths[0] == widths[1]  # in order, not by time: the raise is not a sliver
    assert "+7.1%" in wide  # the larger move of its two ends, as pay changes are stored
    assert "v1" in wide
    assert "v2" in wide
    timed = _wide(str(pay_chart(series, title="Pay", in_time=True)))
    first, second = _numbers(timed, "width")
    assert 6 <= first < second  # spread over time when asked, still visible


def test_axis_ticks_are_round_numbers() -> None:
    assert nice_ticks(155_700, 300_000) == [150_000, 200_000, 250_000, 300_000]
    assert nice_ticks(0, 7) == [0, 2, 4, 6, 8]
    assert nice_ticks(12.5, 47.2) == [10, 20, 30, 40, 50]
    versions = [(T0, _posting(_pay(132_345, 151_111)))]
    wide = _wide(str(pay_chart(pay_series(versions, T0 + timedelta(days=1)), title="Pay")))
    ticks = re.findall(r'text-anchor="end">([^<]+)</text>', wide)
    assert ticks
    assert all(t.endswith(("0k", "5k")) for t in ticks), ticks


def test_open_counts_per_day() -> None:
    base = T0 + timedelta(hours=1)
    firsts = [base, base, base + timedelta(days=1), base + timedelta(days=2, hours=3)]
    events = [(base + timedelta(days=2), "closed"), (base + timedelta(days=3), "reopened")]
    counts = open_counts(firsts, events, baselined_at=base)
    assert [(c.day, c.open, c.new, c.closed, c.reopened) for c in counts] == [
        ("2026-01-01", 2, 0, 0, 0),  # present at the first read: not new
        ("2026-01-02", 3, 1, 0, 0),
        ("2026-01-03", 3, 1, 1, 0),
        ("2026-01-04", 4, 0, 0, 1),
    ]
    # Seen on the baseline's day but after the baseline read: new.
    later = open_counts([base, base + timedelta(hours=2)], [], baselined_at=base)
    assert [(c.open, c.new) for c in later] == [(2, 1)]


# -- the webhook payload and address -------------------------------------------------


def test_change_payload_carries_pay_as_numbers_and_remote_as_values() -> None:
    before = _posting(_pay(155700, 285600))
    after = _posting(_pay(165000, 300000), remote=RemoteKind.REMOTE)
    changes = [
        FieldChange(
            field="salary",
            kind=ChangeKind.CHANGED,
            old="155,700–285,600 USD/yr",
            new="165,000–300,000 USD/yr",
            summary="salary range … (+6.0% / +5.0%)",
            percent=Decimal("6.0"),
            direction="up",
        ),
        FieldChange(
            field="remote", kind=ChangeKind.CHANGED, old="hybrid", new="remote", summary="…"
        ),
        FieldChange(field="title", kind=ChangeKind.CHANGED, old="a", new="b", summary="…"),
    ]
    payload = change_payload(posting_id=None, posting=after, before=before, changes=changes)
    pay, remote, title = payload["changes"]
    assert pay["old_value"] == [
        {"min": 155700, "max": 285600, "currency": "USD", "period": "year", "label": ""}
    ]
    assert pay["new_value"][0]["max"] == 300000
    assert (pay["percent"], pay["direction"]) == (6.0, "up")
    assert (remote["old_value"]["kind"], remote["new_value"]["kind"]) == ("hybrid", "remote")
    assert "old_value" not in title
    stamped = json.loads(with_identity(dumps(payload), posting_id=7, detected_at=T0))
    assert stamped["posting"]["id"] == 7
    assert stamped["detected_at"] == "2026-01-01T00:00:00+00:00"
    digest = json.loads(
        with_identity(dumps(digest_payload([payload, payload])), posting_id=8, detected_at=T0)
    )
    assert [a["posting"]["id"] for a in digest["alerts"]] == [8, 8]


def test_new_posting_payload_has_no_old_values() -> None:
    change = FieldChange(field="salary", kind=ChangeKind.CHANGED, old=None, new="x", summary="x")
    payload = change_payload(
        posting_id=None, posting=_posting(_pay(1, 2)), before=None, changes=[change]
    )
    assert payload["changes"][0]["old_value"] is None
    half = Salary(min=Decimal("12.5"), max=None, currency="EUR", period=PayPeriod.HOUR)
    assert change_payload(posting_id=1, posting=_posting(half), before=None, changes=[])["posting"][
        "pay"
    ] == [{"min": 12.5, "max": None, "currency": "EUR", "period": "hour", "label": ""}]


@pytest.mark.parametrize(
    ("url", "target", "headers"),
    [
        ("json://hooks.example.com/in", "http://hooks.example.com/in", {}),
        ("jsons://hooks.example.com/a?x=1", "https://hooks.example.com/a?x=1", {}),
        (
            "https://h.example.com/p?+Authorization=Bearer%20abc&+X-Key=k+v",
            "https://h.example.com/p",
            {"Authorization": "Bearer abc", "X-Key": "k+v"},
        ),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123/", {}),
    ],
)
def test_webhook_address_and_headers(url: str, target: str, headers: dict[str, str]) -> None:
    assert _split(url) == (target, headers)


def test_webhook_address_is_shown_without_its_secret_parts() -> None:
    assert mask("https://hooks.zapier.com/hooks/catch/123/abc/") == "https://hooks.zapier.com/****"
    assert mask("jsons://user:pw@h.example.com:8443/x?+Authorization=t") == (
        "jsons://****@h.example.com:8443/****"
    )
    assert mask("json://h.example.com") == "json://h.example.com"


# -- sign-in and CSRF ----------------------------------------------------------------


def test_bearer_and_basic_credentials() -> None:
    both = Credentials.from_config(
        WebConfig(
            token=SecretStr("t" * 20), username="ann", password=SecretStr("pw:with:colons:and:more")
        )
    )
    assert both.required
    assert both.header_ok("Bearer " + "t" * 20)
    assert not both.header_ok("Bearer " + "t" * 19)
    basic = base64.b64encode(b"ann:pw:with:colons:and:more").decode()
    assert both.header_ok(f"Basic {basic}")
    assert not both.header_ok("Basic " + base64.b64encode(b"ann:pw").decode())
    assert not both.header_ok("Basic !!!not-base64")
    assert not both.header_ok(None)
    assert not Credentials.from_config(WebConfig()).required


def test_credentials_are_read_under_their_own_scheme_only() -> None:
    token = "t" * 20
    both = Credentials.from_config(
        WebConfig(token=SecretStr(token), username="ann", password=SecretStr("p" * 16))
    )
    basic = base64.b64encode(b"ann:" + b"p" * 16).decode()
    # RFC 7235: one or more spaces after the scheme, which is case-insensitive.
    assert both.header_ok(f"Bearer  {token}")
    assert both.header_ok(f"bearer {token}")
    assert both.header_ok(f"Basic  {basic}")
    # The right secret under another scheme is refused.
    for scheme in ("Token", "Basic", "Digest"):
        assert not both.header_ok(f"{scheme} {token}"), scheme
    for scheme in ("Bearer", "Token", "Digest"):
        assert not both.header_ok(f"{scheme} {basic}"), scheme
    assert not both.header_ok("")
    # Only a token: no user name or password to compare a Basic header with.
    only_token = Credentials(token=token, username=None, password=None)
    assert not only_token.header_ok(f"Basic {basic}")
    # Only a user name (never from the configuration, which asks for both): refused.
    user_only = Credentials(token=None, username="ann", password=None)
    assert not user_only.header_ok(f"Basic {basic}")
    assert not user_only.header_ok(f"Bearer {token}")


def test_sessions_ids_are_random_and_read_back_whole() -> None:
    first, second = new_session(), new_session()
    assert first != second
    assert first.startswith(SESSION_PREFIX)
    assert session_id(first) == first.removeprefix(SESSION_PREFIX)
    assert session_id(SESSION_PREFIX + "abc") == "abc"
    assert session_id(None) is None
    assert session_id("signed-in") is None  # an old cookie's value
    assert session_id(SESSION_PREFIX) is None


def test_throttle_forgets_on_success_and_remembers_its_size() -> None:
    now = [0.0]
    throttle = Throttle(free=1, size=2, clock=lambda: now[0])
    throttle.failed("a")
    assert throttle.wait("a") == 0  # the free miss
    throttle.failed("a")
    assert throttle.wait("a") == 1.0
    throttle.failed("a")
    assert throttle.wait("a") == 2.0
    throttle.succeeded("a")
    assert throttle.wait("a") == 0
    for client in ("b", "c"):
        throttle.failed(client)
        throttle.failed(client)
    assert (throttle.wait("b"), throttle.wait("c")) == (1.0, 1.0)  # both remembered
    throttle.failed("d")  # the oldest, b, is dropped
    assert (throttle.wait("b"), throttle.wait("c")) == (0, 1.0)


def test_signed_session_expires_and_cannot_be_forged() -> None:
    signer = Signer(b"k" * 32)
    value = signer.sign("signed-in", now=1000.0)
    assert signer.verify(value, now=1001.0) == "signed-in"
    assert signer.verify(value, now=1000.0 + 15 * 24 * 3600) is None  # after 14 days
    assert signer.verify(value.replace("signed-in", "admin"), now=1001.0) is None
    assert Signer(b"other" * 8).verify(value, now=1001.0) is None
    assert signer.verify("garbage", now=1001.0) is None
    # A value may hold the separator; the expiry is the last field.
    piped = signer.sign("a|b", now=1000.0)
    assert signer.verify(piped, now=1001.0) == "a|b"
    # Valid until its expiry, not at it.
    expires = 1000.0 + SESSION_SECONDS
    assert signer.verify(value, now=expires - 1) == "signed-in"
    assert signer.verify(value, now=expires) is None
    # Signed with the right key but with no time in it: refused, not a crash.
    payload = "signed-in|soon"
    mac = hmac.new(b"k" * 32, payload.encode(), hashlib.sha256).hexdigest()
    assert signer.verify(f"{payload}|{mac}", now=1001.0) is None
    assert signer.verify(f"{value.rpartition('|')[0]}|", now=1001.0) is None


def test_csrf_token_and_origin_checks() -> None:
    assert csrf_ok("abc", "abc")
    assert not csrf_ok("abc", "abd")
    assert not csrf_ok(None, "abc")
    assert not csrf_ok("abc", None)
    assert same_origin(None, "127.0.0.1:8080")
    assert same_origin("http://127.0.0.1:8080", "127.0.0.1:8080")
    assert not same_origin("https://evil.example", "127.0.0.1:8080")
    assert not same_origin("null", "127.0.0.1:8080")
    assert not same_origin("null", "")  # an opaque origin matches no host, even none
    assert not same_origin("http://127.0.0.1:8080", None)
    assert same_origin("http://Dash.Example:8080", "dash.example:8080")
    assert same_origin("http://dash.example:8080", "DASH.example:8080")


# -- API helpers ---------------------------------------------------------------------


def _change(field: str, summary: str, percent: Decimal | None = None) -> ChangeRow:
    return ChangeRow(
        id=1,
        posting_id=1,
        snapshot_id=1,
        detected_at=T0,
        field=field,
        kind="changed",
        old=None,
        new=None,
        summary=summary,
        percent=percent,
        title="t",
        company="c",
        url="u",
        watch_id=1,
    )


def test_change_percent_is_the_stored_move_not_the_summarys() -> None:
    assert change_percent(_change("salary", "range … (+6.0% / +5.0%)", Decimal("6.0"))) == 6.0
    assert change_percent(_change("salary", "range … (-3.5% / -10.0%)", Decimal("-10.0"))) == -10.0
    assert change_percent(_change("salary", "range … (+6.0% / +5.0%)")) is None
    assert change_percent(_change("salary", "currency changed")) is None


def test_cursors_round_trip_and_reject_anything_else() -> None:
    assert decode_cursor(encode_cursor(12345)) == 12345
    assert encode_cursor(None) is None
    assert decode_cursor(None) is None
    assert decode_cursor("v2.99999999999999999999"[:22]) == 2**63 - 1
    for bad in ("12345", "djE6YWJj", "!!!", "v2.", "v2.1x"):
        with pytest.raises(ConfigError):
            decode_cursor(bad)


def test_field_groups_map_to_stored_fields() -> None:
    assert change_fields(["pay"]) == ("salary",)
    assert change_fields(["requirements", "remote"]) == (
        "requirements.minimum",
        "requirements.preferred",
        "remote",
    )
    assert change_fields(["title", "title"]) == ("title",)


# -- the loopback-only rule, on every way of writing an address ----------------------

BEYOND = [
    "0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0",  # every address
    "192.168.1.10", "10.0.0.5", "172.16.0.1", "100.64.0.1", "169.254.1.1",  # LAN v4
    "fd00::1", "[fd00::1]", "fe80::1", "2001:db8::1", "203.0.113.7",  # LAN v6, global
    "::ffff:192.168.1.10", "::ffff:0.0.0.0", "[::ffff:10.0.0.5]",  # v4 mapped into v6
    "Xlocalhost", "myhost", "example.com", "localhost.example.com", "localhost.", "LOCALHOST",
    "127.0.0.1.nip.io", "evil-localhost", "localhost:80", "",
]  # fmt: skip
LOOPBACK = ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "[::1]",
            "0:0:0:0:0:0:0:1", "localhost"]  # fmt: skip


@pytest.mark.parametrize("host", BEYOND)
def test_listening_beyond_loopback_is_refused_without_credentials(host: str) -> None:
    with pytest.raises(ConfigError, match="beyond this machine") as refused:
        check_exposure(WebConfig(), host)
    assert refused.value.source == "web.listen"
    assert str(refused.value).endswith(
        ": set web.token (or web.username and web.password), or listen on 127.0.0.1"
    )
    check_exposure(WebConfig(token=SecretStr("t" * 20)), host)
    check_exposure(WebConfig(username="ann", password=SecretStr("p" * 16)), host)
    if host:  # web.listen is checked as the configuration is read, too
        with pytest.raises(ValueError, match="beyond this machine"):
            MonitorConfig(web=WebConfig(listen=_listen(host)))


@pytest.mark.parametrize("host", LOOPBACK)
def test_listening_on_loopback_needs_no_credentials(host: str) -> None:
    check_exposure(WebConfig(), host)
    listen = _listen(host)
    assert MonitorConfig(web=WebConfig(listen=listen)).web.listen == listen


def _listen(host: str) -> str:
    bare = host.strip("[]")
    return f"[{bare}]:8080" if ":" in bare else f"{host}:8080"
