"""Posting pages of hosted career sites, read like any web page (schema.org JSON-LD,
then the page's text) but recognised by their URL, with each one's quirks:

- iCIMS (careers-{company}.icims.com/jobs/{id}/{slug}/job): the posting is drawn in an
  iframe; the page fetched is the iframe's own (``in_iframe=1``), which carries it.
- SAP SuccessFactors (career{N}.successfactors.com/career?…career_job_req_id={id}, and
  Career Site Builder pages on *.jobs2web.com): the requisition id names the posting;
  the page title ("Engineer Job Details | Acme") is trimmed to the job's title.
- JazzHR ({company}.applytojob.com/apply/{id}/{slug}).
- Breezy HR ({company}.breezy.hr/p/{id}-{slug}); a Breezy board ({company}.breezy.hr)
  is read from its JSON list (``/json``): name, location (with ``is_remote``),
  department, type and, where the employer shows it, salary.
A posting's id is the site's own job id, so tracking parameters or a changed slug
never make it a new posting.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from monitor.errors import ParseError, UnsupportedContent
from monitor.extract.text import collapse, parse_html
from monitor.model import Posting, RemoteKind
from monitor.sources.base import FetchedPage
from monitor.sources.common import build_posting, parse_date, text
from monitor.sources.page import WebPageSource


class HostedPageSource(WebPageSource):
    """A hosted career site's posting page: a page source with a known id."""

    patterns: ClassVar[tuple[re.Pattern[str], ...]] = ()
    """Regexes with groups ``site`` and ``job``."""

    def _match(self, url: str) -> re.Match[str] | None:
        return next((m for p in self.patterns if (m := p.match(url.strip()))), None)

    def matches(self, url: str) -> bool:
        return self._match(url) is not None

    def source_id(self, url: str) -> str:
        found = self._match(url)
        if found is None:
            raise ParseError(f"not a {self.kind} URL", url=url)
        return f"{found['site']}:{found['job']}"

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        return [
            replace(p, source_kind=self.kind, source_id=self.source_id(url))
            for p in super().parse(page, url=url)
        ]


class IcimsSource(HostedPageSource):
    """An iCIMS job page (read from its iframe)."""

    kind: ClassVar[str] = "icims"
    title: ClassVar[str] = "iCIMS job page (the iframe's own page)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "careers-{company}.icims.com/jobs/{id}/{slug}/job",
        "{company}.icims.com/jobs/{id}/job",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(
            r"^https?://(?P<site>[\w-]+)\.icims\.com/jobs/(?P<job>\d+)(?:/[^?#]*)?(?:[?#].*)?$"
        ),
    )

    def fetch_url(self, url: str) -> str:
        parts = urlsplit(url.strip())
        query = {k: v for k, v in parse_qs(parts.query).items() if k == "mode"}
        query["in_iframe"] = ["1"]
        return urlunsplit(parts._replace(query=urlencode(query, doseq=True), fragment=""))


_DETAILS_SUFFIX = re.compile(r"\s*(?:job details)?\s*(?:[|–-]\s*[^|–-]+)?$", re.IGNORECASE)


class SuccessFactorsSource(HostedPageSource):
    """An SAP SuccessFactors job page (career site or Career Site Builder)."""

    kind: ClassVar[str] = "successfactors"
    title: ClassVar[str] = "SAP SuccessFactors job page"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "career{N}.successfactors.com/career?company={company}&career_job_req_id={id}",
        "{company}.jobs2web.com/job/{city}-{title}/{id}/",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(
            r"^https?://(?P<host>career\d*\.successfactors\.(?:com|eu))/career\?"
            r"(?=.*\bcompany=(?P<site>[\w-]+))(?=.*\bcareer_job_req_id=(?P<job>\d+)).*$"
        ),
        re.compile(
            r"^https?://(?P<site>[\w-]+)\.jobs2web\.com/job/[^/]+/(?P<job>\d+)/?(?:[?#].*)?$"
        ),
    )

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        places = _microdata_places(page)
        return [
            replace(p, title=_trimmed(p.title), locations=p.locations or places)
            for p in super().parse(page, url=url)
        ]


def _microdata_places(page: FetchedPage) -> tuple[str, ...]:
    """Career Site Builder marks the place with schema.org microdata, not JSON-LD."""
    tree = parse_html(page.text())
    names = (collapse(node.text(separator=" ")) for node in tree.css('[itemprop="jobLocation"]'))
    return tuple(dict.fromkeys(name for name in names if name))


def _trimmed(title: str) -> str:
    """'Robotics Engineer Job Details | Acme' -> 'Robotics Engineer'."""
    if "job details" not in title.casefold():
        return title
    return _DETAILS_SUFFIX.sub("", title).strip() or title


class JazzHRSource(HostedPageSource):
    """A JazzHR job page."""

    kind: ClassVar[str] = "jazzhr"
    title: ClassVar[str] = "JazzHR job page"
    url_shapes: ClassVar[tuple[str, ...]] = ("{company}.applytojob.com/apply/{id}/{slug}",)
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(
            r"^https?://(?P<site>[\w-]+)\.applytojob\.com/apply/(?P<job>\w+)(?:/[^?#]*)?(?:[?#].*)?$"
        ),
    )


class BreezySource(HostedPageSource):
    """A Breezy HR job page, or a Breezy board through its JSON list."""

    kind: ClassVar[str] = "breezy"
    title: ClassVar[str] = "Breezy HR (board JSON list or job page)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "{company}.breezy.hr",
        "{company}.breezy.hr/p/{id}-{slug}",
    )
    accepts: ClassVar[tuple[str, ...]] = ("text/html", "application/xhtml+xml", "application/json")
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(
            r"^https?://(?P<site>[\w-]+)\.breezy\.hr/p/(?P<job>[0-9a-f]+)(?:-[^?#]*)?(?:[?#].*)?$"
        ),
    )
    _board: ClassVar[re.Pattern[str]] = re.compile(
        r"^https?://(?P<site>[\w-]+)\.breezy\.hr/?(?:json/?)?(?:[?#].*)?$"
    )

    def matches(self, url: str) -> bool:
        return super().matches(url) or self._board.match(url.strip()) is not None

    def is_board(self, url: str) -> bool:
        return self._board.match(url.strip()) is not None

    def source_id(self, url: str) -> str:
        board = self._board.match(url.strip())
        return f"board:{board['site']}" if board else super().source_id(url)

    def fetch_url(self, url: str) -> str:
        board = self._board.match(url.strip())
        return f"https://{board['site']}.breezy.hr/json" if board else url

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        board = self._board.match(url.strip())
        if board is None:
            return super().parse(page, url=url)
        if not page.content_type.startswith(("application/json", "text/json", "text/plain")):
            raise UnsupportedContent(url=page.url, content_type=page.content_type)
        try:
            jobs = json.loads(page.body)
        except ValueError as exc:
            raise ParseError(f"malformed JSON: {exc}", url=page.url) from exc
        site = board["site"]
        return (
            [_breezy(job, site) for job in jobs if isinstance(job, dict) and job.get("id")]
            if isinstance(jobs, list)
            else []
        )


def _breezy(job: dict[str, Any], site: str) -> Posting:
    location = job.get("location") if isinstance(job.get("location"), dict) else {}
    assert isinstance(location, dict)
    kind = RemoteKind.REMOTE if location.get("is_remote") is True else RemoteKind.UNKNOWN
    job_type = job.get("type")
    salary = text(job.get("salary"))
    return build_posting(
        kind=BreezySource.kind,
        source_id=f"{site}:{text(job.get('id'))}",
        url=text(job.get("url")) or f"https://{site}.breezy.hr/p/{text(job.get('friendly_id'))}",
        title=text(job.get("name")),
        company=text((job.get("company") or {}).get("name"))
        if isinstance(job.get("company"), dict)
        else "",
        department=text(job.get("department")),
        locations=[text(location.get("name"))] if text(location.get("name")) else [],
        description_html=f"<p>Salary: {salary}</p>" if salary else "",
        remote_hint=kind,
        remote_field="location.is_remote field",
        employment_type=text(job_type.get("name")) if isinstance(job_type, dict) else None,
        posted_at=parse_date(job.get("published_date")),
    )
