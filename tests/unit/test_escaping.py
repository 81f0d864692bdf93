"""Every value a stranger writes (a posting's title, company, place, pay label, a
change's old and new text), with every kind of hostile text, reaching every place it
is shown: chart captions, legends and tips, Atom feeds, alerts in HTML, Markdown and
plain text. The rule checked is the same everywhere: the hostile value changes no
structure (the same elements, attributes and links as a plain value gives) and is
shown as text."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from xml.etree import ElementTree as ET

import pytest
from markdown_it import MarkdownIt

from monitor.model import ChangeKind, FieldChange, PayPeriod, Posting, Salary
from monitor.notify.render import Renderer
from monitor.safetext import for_terminal, for_xml
from monitor.store.readmodels import ChangeRow
from monitor.web.charts import open_chart, pay_chart, pay_distribution, pay_series
from monitor.web.feeds import atom_feed

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PLAIN = "Plain Value"
HOSTILE = {
    "script": "<script>alert(1)</script>",
    "attribute break": '"><img src=x onerror=alert(1)>',
    "single quotes": "' onmouseover='alert(1)' x='",
    "entities": "R&D &amp; &lt;b&gt; <b>Co</b>",
    "terminal escapes": "Eng\x1b[2J\x1b]0;pwned\x07ineer\x9b31m",
    "markdown link": "[Click](https://phish.example/login) ![i](https://x.example/i.png)",
    "closing tags": "</text></svg></figure></title><svg onload=alert(1)>",
    "cdata": "]]><x/><![CDATA[",
}
IDS = list(HOSTILE)


class _Shape(HTMLParser):
    """The elements and attribute names of a page, and its text."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.attributes: set[str] = set()
        self.text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attributes.update(name for name, _ in attrs)
        self.text.extend(value or "" for name, value in attrs if name in ("aria-label", "title"))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _same_shape(draw: Callable[[str], str], value: str) -> str:
    """Draw with a plain value and with ``value``: the same structure; the text shown."""
    plain, hostile = _Shape(draw(PLAIN)), _Shape(draw(value))
    assert hostile.tags == plain.tags
    assert hostile.attributes == plain.attributes
    assert not any(name.startswith("on") for name in hostile.attributes)
    return "".join(hostile.text)


def _pay(label: str, currency: str = "USD") -> Salary:
    return Salary(
        min=Decimal(100), max=Decimal(120), currency=currency, period=PayPeriod.YEAR, label=label
    )


def _posting(value: str, **fields: object) -> Posting:
    base = Posting(
        source_kind="html",
        source_id="x",
        url="https://jobs.example/1",
        title=f"Title {value}",
        company=f"Company {value}",
        locations=(f"Place {value}",),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", HOSTILE.values(), ids=IDS)
def test_chart_captions_legends_and_tips_show_hostile_values_as_text(value: str) -> None:
    def by_version(text: str) -> str:
        versions = [
            (T0, _posting(text, salaries=(_pay(text), _pay("Remote")))),
            (T0 + timedelta(days=3), _posting(text, salaries=(_pay(text), _pay("Remote")))),
        ]
        return str(pay_chart(pay_series(versions, T0 + timedelta(days=5)), title=text))

    def per_day(text: str) -> str:
        days = [(f"2026-01-0{n} {text}", n, 1, 0) for n in range(1, 4)]
        return str(open_chart(days, title=text))

    def distribution(text: str) -> str:
        return str(pay_distribution([_posting(text, salaries=(_pay(""),))] * 3, title=text))

    for draw in (by_version, per_day, distribution):
        shown = _same_shape(draw, value)
        assert value in shown, draw.__name__


def _row(value: str) -> ChangeRow:
    return ChangeRow(
        id=1, posting_id=5, snapshot_id=9, detected_at=T0, field="title", kind="changed",
        old=f"Old {value}", new=f"New {value}", summary=f"title → {value}", percent=None,
        title=f"Title {value}", company=f"Company {value}", url="https://jobs.example/1",
        watch_id=2,
    )  # fmt: skip


@pytest.mark.parametrize("value", HOSTILE.values(), ids=IDS)
def test_feeds_carry_hostile_values_as_text(value: str) -> None:
    def feed(text: str) -> ET.Element:
        body = atom_feed(
            [_row(text)], feed_id="urn:x", title=f"Changes of {text}",
            self_url="http://127.0.0.1/feeds/changes.atom", site_url="http://127.0.0.1/",
            instance="test", now=T0,
        )  # fmt: skip
        return ET.fromstring(body)  # well-formed, whatever the value

    plain, hostile = feed(PLAIN), feed(value)
    assert [e.tag for e in hostile.iter()] == [e.tag for e in plain.iter()]
    assert [sorted(e.attrib) for e in hostile.iter()] == [sorted(e.attrib) for e in plain.iter()]
    text = "".join(hostile.itertext())
    safe = for_xml(value)
    for shown in (f"Changes of {safe}", f"Title {safe}", f"Company {safe}", f"New {safe}"):
        assert shown in text


def _change(value: str) -> FieldChange:
    return FieldChange(
        field="title", kind=ChangeKind.CHANGED, old=f"Old {value}", new=f"New {value}",
        summary=f"title → New {value}",
    )  # fmt: skip


@pytest.mark.parametrize("value", HOSTILE.values(), ids=IDS)
def test_alerts_show_hostile_values_as_text_in_every_format(value: str) -> None:
    renderer = Renderer()

    def alert(text: str) -> tuple[str, str, str]:
        made = renderer.render(_posting(text), [_change(text)])
        return made.body_html, made.body_markdown, made.body_text

    shown = _same_shape(lambda text: alert(text)[0], value)
    assert f"Title {value}" in shown
    assert f"New {value}" in shown

    md = MarkdownIt()

    def links(text: str) -> list[str]:
        tokens = md.parseInline(alert(text)[1])
        found = [c for t in tokens for c in t.children or [] if c.type in ("link_open", "image")]
        return [str(c.attrGet("href") or c.attrGet("src")) for c in found]

    assert links(value) == links(PLAIN) == ["https://jobs.example/1"]
    rendered = md.render(alert(value)[1])
    assert "<script" not in rendered
    assert "<img" not in rendered
    assert f"Title {value}" in alert(value)[2]  # plain text keeps it whole (see the console)


def test_the_console_shows_no_escape_sequence_of_a_posting() -> None:
    body = Renderer().render(_posting(HOSTILE["terminal escapes"]), []).body_text
    assert not re.search(r"[\x1b\x07\x9b]", for_terminal(body))
    assert "Title Engineer" in for_terminal(body)
