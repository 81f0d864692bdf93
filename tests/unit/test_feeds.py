"""Atom feeds stay well-formed XML whatever a posting holds (S10)."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

import feedparser  # type: ignore[import-untyped]

from monitor.store.readmodels import ChangeRow
from monitor.web.feeds import atom_feed

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOSTILE = "Engineer \x1b[31mRED\x1b[0m \x1b]0;PWNED\x07 end\x00nul\x0b\x0c\ufffe\ud800"


def row(**fields: object) -> ChangeRow:
    values: dict[str, object] = {
        "id": 1, "posting_id": 5, "snapshot_id": 9, "detected_at": NOW, "field": "title",
        "kind": "changed", "old": "Engineer", "new": HOSTILE, "summary": f"title → {HOSTILE}",
        "percent": None, "title": HOSTILE, "company": "Ctl\x1b[2JCo", "watch_id": 2,
        "url": "https://jobs.example/1",
    }  # fmt: skip
    return ChangeRow(**{**values, **fields})  # type: ignore[arg-type]


def feed(*rows: ChangeRow, title: str = "Changes") -> bytes:
    return atom_feed(
        rows, feed_id="urn:x", title=title, self_url="http://127.0.0.1/feeds/changes.atom",
        site_url="http://127.0.0.1/", instance="test", now=NOW,
    )  # fmt: skip


def test_control_characters_in_a_posting_leave_the_feed_well_formed() -> None:
    body = feed(row(), title=f"Changes of {HOSTILE}")
    root = ET.fromstring(body)  # raises on ill-formed XML
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    (entry,) = parsed.entries
    assert entry.title.startswith("Ctl[2JCo · Engineer [31mRED[0m ]0;PWNED endnul")
    assert "After: Engineer [31mRED" in entry.content[0].value
    assert root.find("{http://www.w3.org/2005/Atom}title").text == (  # type: ignore[union-attr]
        "Changes of Engineer [31mRED[0m ]0;PWNED endnul"
    )


def test_a_posting_link_in_a_feed_is_http_only() -> None:
    links = [
        link.get("href")
        for link in ET.fromstring(feed(row(id=1), row(id=2, url="javascript:alert(4)//"))).iter(
            "{http://www.w3.org/2005/Atom}link"
        )
        if link.get("rel") == "related"
    ]
    assert links == ["https://jobs.example/1"]
