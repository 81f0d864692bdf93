"""Posting pages of hosted career sites, read like any web page (schema.org JSON-LD,
then the page's text) but recognised by their URL, with each one's quirks:

- iCIMS (careers-{company}.icims.com/jobs/{id}/{slug}/job): the posting is drawn in an
  iframe; the page fetched is the iframe's own (``in_iframe=1``), which carries it.
- SAP SuccessFactors (career{N}.successfactors.com/career?…career_job_req_id={id}, and
  Career Site Builder pages on *.jobs2web.com): the requisition id names the posting;
  the page title ("Engineer Job Details | Acme") is trimmed to the job's title.
- JazzHR ({company}.applytojob.com/apply/{id}/{slug}); a JazzHR board
  ({company}.applytojob.com/apply) is its careers page, a list of links to job pages:
  each job's title, and its place and department where the list shows them.
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
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser
from selectolax.lexbor import LexborNode as Node

from monitor.errors import ParseError, UnsupportedContent
from monitor.extract.page_fields import title_parts
from monitor.extract.text import collapse, parse_html
from monitor.model import Posting, RemoteKind
from monitor.sources.base import FetchedPage
from monitor.sources.common import build_posting, parse_date, text, web_url
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


_JAZZ_JOB = re.compile(
    r"^https?://(?P<site>[\w-]+)\.applytojob\.com/apply/(?!jobs\b)(?P<job>\w+)(?:/[^?#]*)?(?:[?#].*)?$"
)
_JAZZ_BOARD = re.compile(
    r"^https?://(?P<site>[\w-]+)\.applytojob\.com(?:/apply(?:/jobs)?)?/?(?:[?#].*)?$"
)
# Links that name no posting however they are worded.
_JAZZ_ACTIONS = frozenset({"apply", "apply now", "view", "view job", "details", "learn more"})


class JazzHRSource(HostedPageSource):
    """A JazzHR job page, or a JazzHR board through its careers page."""

    thin_list: ClassVar[bool] = True
    kind: ClassVar[str] = "jazzhr"
    title: ClassVar[str] = "JazzHR (board careers page or job page)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "{company}.applytojob.com/apply",
        "{company}.applytojob.com/apply/{id}/{slug}",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (_JAZZ_JOB,)

    def matches(self, url: str) -> bool:
        return super().matches(url) or _JAZZ_BOARD.match(url.strip()) is not None

    def is_board(self, url: str) -> bool:
        return _JAZZ_BOARD.match(url.strip()) is not None

    def source_id(self, url: str) -> str:
        board = _JAZZ_BOARD.match(url.strip())
        return f"board:{board['site']}" if board else super().source_id(url)

    def fetch_url(self, url: str) -> str:
        board = _JAZZ_BOARD.match(url.strip())
        return f"https://{board['site']}.applytojob.com/apply" if board else url

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        board = _JAZZ_BOARD.match(url.strip())
        if board is None:
            return [_job_title(p, page) for p in super().parse(page, url=url)]
        if not page.content_type.startswith(self.accepts):
            raise UnsupportedContent(url=page.url, content_type=page.content_type)
        return _jazz_board(page, board["site"])


def _job_title(posting: Posting, page: FetchedPage) -> Posting:
    """Some JazzHR themes head a job page with the company's name (the brand's <h1>),
    which the page source then takes as the title; the job's own title stands beside
    the company's in the <title> or og:title."""
    tree = parse_html(page.text())
    names = {n.casefold() for n in (posting.company, _meta_content(tree, "og:site_name")) if n}
    if posting.title.casefold() not in names:
        return posting
    title = tree.css_first("title")
    for raw in (_meta_content(tree, "og:title"), title.text() if title is not None else ""):
        parts = title_parts(raw)
        for candidate in (parts.job, parts.company):
            if candidate and candidate.casefold() not in names:
                return replace(posting, title=candidate)
    return posting


def _jazz_board(page: FetchedPage, site: str) -> list[Posting]:
    """Every job the careers page links to on this site, once, in page order."""
    tree = parse_html(page.text())
    company = _meta_content(tree, "og:site_name")
    found: dict[str, Posting] = {}
    for link in tree.css("a[href]"):
        href = urljoin(page.url, link.attributes.get("href") or "")
        job = _JAZZ_JOB.match(href)
        title = collapse(link.text(separator=" "))
        if job is None or job["site"] != site or title.casefold() in _JAZZ_ACTIONS:
            continue
        if not title or job["job"] in found:
            continue
        item = _list_item(link)
        found[job["job"]] = build_posting(
            kind=JazzHRSource.kind,
            source_id=f"{site}:{job['job']}",
            url=href.split("?", 1)[0],
            title=title,
            company=company,
            locations=_labelled(item, "map-marker"),
            department=next(iter(_labelled(item, "sitemap")), ""),
        )
    return list(found.values())


def _list_item(link: Node) -> Node | None:
    """The job's entry in the list (what holds its place and department)."""
    node = link.parent
    for _ in range(4):
        if (
            node is None
            or node.tag == "li"
            or "list-group-item" in (node.attributes.get("class") or "").split()
        ):
            return node
        node = node.parent
    return None


def _labelled(item: Node | None, icon: str) -> list[str]:
    """Texts the list marks with an icon (``fa-map-marker`` for places)."""
    if item is None:
        return []
    texts = (
        collapse(i.parent.text(separator=" ") if i.parent else "")
        for i in item.css(f"i[class*='{icon}']")
    )
    return [t for t in texts if t]


def _meta_content(tree: LexborHTMLParser, name: str) -> str:
    node = tree.css_first(f'meta[property="{name}"]')
    return collapse(node.attributes.get("content") or "") if node is not None else ""


class BreezySource(HostedPageSource):
    """A Breezy HR job page, or a Breezy board through its JSON list."""

    thin_list: ClassVar[bool] = True
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
        url=web_url(job.get("url")) or f"https://{site}.breezy.hr/p/{text(job.get('friendly_id'))}",
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
