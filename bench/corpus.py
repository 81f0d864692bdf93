"""Read every file of a corpus of real postings into normalized Postings.

Files of a format a shipped source reads (Greenhouse, Lever, Ashby, Workable,
SmartRecruiters, Recruitee, Workday, Personio, Teamtailor, Oracle Recruiting Cloud,
Eightfold, Rippling, Pinpoint, Comeet, HTML pages) go through that source, as in the daemon.
Formats without a source (Manatal, Remotive, France Travail, solid.jobs, plain text) go through a small
reader here that hands their title, locations, description and structured
workplace and pay fields to the same ``build_posting`` the ATS sources use, so
the extractors are measured on them too; those rows say ``reader:`` instead of
``source:``.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from monitor.core.normalize import normalize
from monitor.errors import MonitorError
from monitor.extract.salary import parse_salaries, period_from_magnitude
from monitor.model import PayPeriod, Posting, RemoteKind, Salary
from monitor.sources import SourceRegistry, jsonld
from monitor.sources.base import FetchedPage
from monitor.sources.common import (
    build_posting,
    remote_from_flags,
    salary_object,
    text,
)
from monitor.sources.workday import requisition

_PERIODS = {"hour": PayPeriod.HOUR, "hourly": PayPeriod.HOUR, "day": PayPeriod.DAY,
            "week": PayPeriod.WEEK, "month": PayPeriod.MONTH, "year": PayPeriod.YEAR,
            "yearly": PayPeriod.YEAR}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Read:
    """One posting of a corpus file, as our code reads it."""

    file: str
    posting_id: str
    posting: Posting
    via: str
    """``source:KIND`` (a shipped source) or ``reader:FOLDER`` (this module)."""


@dataclass(frozen=True, slots=True)
class Unread:
    file: str
    reason: str


def read_corpus(corpus: Path) -> Iterator[Read | Unread]:
    registry = SourceRegistry.default()
    for path in sorted(corpus.rglob("*")):
        if not path.is_file() or path.suffix not in (".json", ".html", ".xml", ".txt"):
            continue
        name = str(path.relative_to(corpus))
        try:
            yield from _read_file(registry, path, name)
        except (MonitorError, ValueError, KeyError, ET.ParseError) as exc:
            yield Unread(name, f"{type(exc).__name__}: {exc}")


def _read_file(registry: SourceRegistry, path: Path, name: str) -> Iterator[Read | Unread]:
    folder = path.parent.name
    reader = _READERS.get(folder)
    if reader is not None:
        for posting_id, posting in reader(path):
            yield Read(name, posting_id, normalize(posting), f"reader:{folder}")
        return
    if folder == "recruitee" and path.name.startswith("greatminds"):
        for posting_id, posting in _recruitee_wrapped(path):
            yield Read(name, posting_id, normalize(posting), "source:recruitee")
        return
    url = _source_url(path)
    if url is None:
        yield Unread(name, "no source or reader for this folder")
        return
    source = registry.get(_NAMED[folder]) if folder in _NAMED else registry.detect(url)
    content_type = _CONTENT_TYPES.get(path.suffix, "application/json")
    page = FetchedPage(
        url=source.fetch_url(url), status=200, content_type=content_type, body=path.read_bytes()
    )
    if path.suffix == ".html" and _listing_page(path):
        yield Unread(name, "a listing of several postings, not one posting page")
        return
    aliases = _ALIASES[folder](path) if folder in _ALIASES else {}
    for posting in source.parse(page, url=url):
        posting_id = posting.source_id.split(":", 1)[-1] if path.suffix != ".html" else ""
        posting_id = aliases.get(posting_id, posting_id)
        yield Read(name, posting_id, normalize(posting), f"source:{source.kind}")


def _source_url(path: Path) -> str | None:
    """The URL a user would watch for a corpus file, from its folder and content."""
    folder = path.parent.name
    if path.suffix == ".html":
        return f"https://jobs.example.com/{path.stem}"
    if folder == "personio":
        return "https://corpus.jobs.personio.de/"
    data = json.loads(path.read_bytes())
    if folder == "workday":
        tenant = path.stem.split("_cxs")[0].replace("_", "-")
        site = f"https://{tenant}.wd5.myworkdayjobs.com/Careers"
        info = data.get("jobPostingInfo")
        return f"{site}/job/x/{info['jobPostingId']}" if isinstance(info, dict) else site
    if folder == "oracle":
        return _oracle_url(data, path.stem.split("_")[0])
    if folder == "eightfold":
        return _eightfold_url(data.get("data") or {})
    board = path.stem.split("_")[0]
    if folder == "greenhouse":
        if "jobs" in data:
            return f"https://boards.greenhouse.io/{board}"
        return f"https://boards.greenhouse.io/{board}/jobs/{data['id']}"
    if folder == "smartrecruiters":
        if "content" in data:
            return f"https://jobs.smartrecruiters.com/{board}"
        return f"https://jobs.smartrecruiters.com/{board}/{data['id']}"
    if folder == "comeet":  # the API's URL of the first position, with its token
        return re.sub(r"/positions/[^?]+", "/positions", str(data[0]["position_url"]))
    return {
        "pinpoint": f"https://{board}.pinpointhq.com/",
        "lever": f"https://jobs.lever.co/{board}",
        "ashby": f"https://jobs.ashbyhq.com/{board}",
        "recruitee": f"https://{board}.recruitee.com/",
        "workable": f"https://apply.workable.com/{board}/",
        "teamtailor": f"https://{board}.teamtailor.com/jobs",
        "rippling": f"https://ats.rippling.com/{board}/jobs",
    }.get(folder)


def _eightfold_url(found: dict[str, Any]) -> str:
    """A position's own ``publicUrl``; for a search, its first position's site."""
    positions = found.get("positions")
    if not isinstance(positions, list):
        return text(found.get("publicUrl"))
    first = positions[0] if positions and isinstance(positions[0], dict) else {}
    host = urlsplit(text(first.get("publicUrl"))).netloc
    return f"https://{host}/careers" if host else ""


def _oracle_url(data: dict[str, Any], tenant: str) -> str:
    """The candidate-experience URL of an ORC answer: its host from the answer's own
    ``self`` link, its site from the search (a details answer names none)."""
    links = [link.get("href", "") for link in data.get("links") or [] if isinstance(link, dict)]
    found = re.match(r"https://([\w.-]+?)(?::\d+)?/", links[0]) if links else None
    host = found[1] if found else f"{tenant}.fa.oraclecloud.com"
    item = (data.get("items") or [{}])[0]
    site = text(item.get("SiteNumber")) or "CX"
    tail = "requisitions" if "requisitionList" in item else f"job/{item.get('Id')}"
    return f"https://{host}/hcmUI/CandidateExperience/en/sites/{site}/{tail}"


def _workday_ids(path: Path) -> dict[str, str]:
    """Our Workday ids are the requisition part of a posting's path; the labels use
    the requisition id (the two differ for a reposted "…_JR-1-1")."""
    data = json.loads(path.read_bytes())
    info = data.get("jobPostingInfo")
    if isinstance(info, dict):
        return {requisition(text(info.get("jobPostingId"))): text(info.get("jobReqId"))}
    return {
        requisition(text(job.get("externalPath"))): text((job.get("bulletFields") or [""])[0])
        for job in data.get("jobPostings") or []
    }


def _teamtailor_ids(path: Path) -> dict[str, str]:
    """Our Teamtailor ids are job numbers; the labels use the feed item's id."""
    items = json.loads(path.read_bytes()).get("items") or []
    aliases = {}
    for item in items:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        job = item.get("_jobposting") or {}
        number = str((job.get("identifier") or {}).get("value") or "")
        found = re.search(r"/jobs/(\d+)", str(item.get("url") or ""))
        aliases[number or (found[1] if found else "")] = str(item["id"])
    return aliases


def _recruitee_ids(path: Path) -> dict[str, str]:
    """Our Recruitee ids are slugs; the labels use the offer's numeric id."""
    offers = json.loads(path.read_bytes()).get("offers") or []
    return {str(o.get("slug")): str(o.get("id")) for o in offers if isinstance(o, dict)}


def _pinpoint_ids(path: Path) -> dict[str, str]:
    """Our Pinpoint ids are the uuids of the postings' URLs; the labels use the numeric id."""
    data = json.loads(path.read_bytes())
    items = data.get("data") if isinstance(data, dict) else data
    return {
        text(item.get("path")).rsplit("/", 1)[-1]: str(item.get("id"))
        for item in items or []
        if isinstance(item, dict)
    }


def _listing_page(path: Path) -> bool:
    tree = LexborHTMLParser(path.read_text(encoding="utf-8", errors="replace"))
    if len(jsonld.job_postings(tree)) > 1:
        return True
    return len(tree.css("article.action-buttons, article[id^=article-]")) > 1


# Readers for formats without a shipped source ------------------------------------------------

Reader = Callable[[Path], Iterator[tuple[str, Posting]]]


def _post(kind: str, posting_id: str, **fields: Any) -> tuple[str, Posting]:
    return posting_id, build_posting(kind=kind, source_id=posting_id, url="", **fields)


def _manatal(path: Path) -> Iterator[tuple[str, Posting]]:
    for job in json.loads(path.read_bytes()).get("results") or []:
        pay = _structured_pay(
            job.get("salary_min"), job.get("salary_max"), job.get("currency_code")
        )
        yield _post(
            "manatal", str(job.get("id")), title=text(job.get("position_name")),
            locations=[text(job.get("location_display"))],
            description_html=job.get("description") or "", salaries=pay,
        )  # fmt: skip


def _remotive(path: Path) -> Iterator[tuple[str, Posting]]:
    for job in json.loads(path.read_bytes()).get("jobs") or []:
        yield _post(
            "remotive", str(job.get("id")), title=text(job.get("title")),
            company=text(job.get("company_name")),
            locations=[text(job.get("candidate_required_location"))],
            description_html=job.get("description") or "",
            salaries=parse_salaries(text(job.get("salary")), is_pay=True),
            # Remotive lists remote jobs only: the board itself is the workplace field.
            remote_hint=RemoteKind.REMOTE,
        )  # fmt: skip


def _francetravail(path: Path) -> Iterator[tuple[str, Posting]]:
    for offer in json.loads(path.read_bytes()).get("resultats") or []:
        yield _post(
            "francetravail", str(offer.get("id")), title=text(offer.get("intitule")),
            company=text((offer.get("entreprise") or {}).get("nom")),
            locations=[text((offer.get("lieuTravail") or {}).get("libelle"))],
            description_html=_text_html(offer.get("description") or ""),
        )  # fmt: skip


def _solidjobs(path: Path) -> Iterator[tuple[str, Posting]]:
    for job in json.loads(path.read_bytes()).get("jobs") or []:
        pay = job.get("salary") or {}
        yield _post(
            "solidjobs", str(job.get("jobOfferKey")), title=text(job.get("title")),
            company=text(job.get("company")), locations=job.get("locations") or [],
            description_html=job.get("description") or "",
            salaries=_structured_pay(pay.get("from"), pay.get("to"), pay.get("currency"), pay.get("period")),
            remote_hint=remote_from_flags(remote=job.get("isRemote"), hybrid=job.get("isHybrid"))
            if job.get("isRemote") or job.get("isHybrid") else RemoteKind.ONSITE,
        )  # fmt: skip


def _plain_text(path: Path) -> Iterator[tuple[str, Posting]]:
    body = path.read_text(encoding="utf-8")
    title = next((line.strip() for line in body.splitlines() if line.strip()), path.stem)
    yield _post("text", path.stem, title=title, description_html=_text_html(body))


def _recruitee_wrapped(path: Path) -> Iterator[tuple[str, Posting]]:
    from monitor.sources.recruitee import RecruiteeSource

    source = RecruiteeSource()
    for wrapper in json.loads(path.read_bytes()):
        raw = wrapper.get("raw_data") or {}
        page = FetchedPage(
            url="https://x.recruitee.com/api/offers/", status=200,
            content_type="application/json", body=json.dumps({"offers": [raw]}).encode(),
        )  # fmt: skip
        for posting in source.parse(page, url="https://x.recruitee.com/"):
            yield str(raw.get("id") or raw.get("slug")), posting


def _text_html(body: str) -> str:
    return "".join(f"<p>{html.escape(line)}</p>" for line in body.splitlines() if line.strip())


def _structured_pay(low: Any, high: Any, currency: Any, period: Any = None) -> list[Salary]:
    """A pay object as the shipped sources read one; no period given: by magnitude."""
    value = {"min": low, "max": high, "currency": currency, "period": period}
    return [
        s if s.period else replace(s, period=period_from_magnitude(s.max or s.min or Decimal(0)))
        for s in salary_object(value, period_key="period", periods=_PERIODS)
    ]


_CONTENT_TYPES = {".html": "text/html", ".xml": "application/xml"}
# Folders whose files are read by a named source: their URLs may be on an employer's
# own host, which no URL shape names (Eightfold at apply.careers.microsoft.com).
_NAMED = {"eightfold": "eightfold"}
_ALIASES = {
    "pinpoint": _pinpoint_ids,
    "recruitee": _recruitee_ids,
    "teamtailor": _teamtailor_ids,
    "workday": _workday_ids,
}
_READERS: dict[str, Reader] = {
    "manatal": _manatal,
    "remotive": _remotive,
    "francetravail": _francetravail,
    "solidjobs": _solidjobs,
    "text": _plain_text,
}
