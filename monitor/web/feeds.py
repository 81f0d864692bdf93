"""Atom feeds (RFC 4287) of changes. Pure: rows in, XML bytes out.

Entry ids are ``urn:posting-monitor:{instance}:change:{id}``: the same change keeps
its id however often the feed is read, and two databases never share one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from monitor.safetext import for_xml
from monitor.store.readmodels import ChangeRow
from monitor.urls import is_web_url

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"


def atom_feed(
    rows: Sequence[ChangeRow],
    *,
    feed_id: str,
    title: str,
    self_url: str,
    site_url: str,
    instance: str,
    now: datetime,
) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    updated = rows[0].detected_at if rows else now
    _text(feed, "updated", _stamp(updated))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url, type="application/atom+xml")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=site_url, type="text/html")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "Posting Monitor")
    _text(feed, "generator", "Posting Monitor")
    for row in rows:
        _entry(feed, row, site_url=site_url, instance=instance)
    _well_formed(feed)
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def _well_formed(feed: ET.Element) -> None:
    """Drops from every text and attribute the characters XML 1.0 forbids: ElementTree
    writes them as they are, and one control character in a posting's title would
    make the whole feed unreadable to every reader."""
    for element in feed.iter():
        if element.text:
            element.text = for_xml(element.text)
        for name, value in element.attrib.items():
            element.set(name, for_xml(value))


def _entry(feed: ET.Element, row: ChangeRow, *, site_url: str, instance: str) -> None:
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    _text(entry, "id", f"urn:posting-monitor:{instance}:change:{row.id}")
    name = f"{row.company} · {row.title}" if row.company else row.title
    _text(entry, "title", f"{name}: {row.summary}")
    _text(entry, "updated", _stamp(row.detected_at))
    page = f"{site_url.rstrip('/')}/postings/{row.posting_id}"
    ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=page, type="text/html")
    if is_web_url(row.url):  # never a javascript: link, even one stored long ago
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="related", href=row.url)
    ET.SubElement(entry, f"{{{ATOM}}}category", term=row.field, label=row.kind)
    lines = [row.summary]
    if row.old is not None:
        lines.append(f"Before: {row.old}")
    if row.new is not None:
        lines.append(f"After: {row.new}")
    lines.append(f"Posting: {row.url}")
    content = ET.SubElement(entry, f"{{{ATOM}}}content", type="text")
    content.text = "\n".join(lines)


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = value


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
