"""Discovery: the job boards behind a company's careers page.

Users know a company, not its applicant-tracking system. A careers page names its
board in one of a few ways, each read here from the page's HTML alone (pure):

- a link (``<a href>``, ``<area>``, a form's action) to the board or to one of its jobs;
- an iframe showing the board;
- an embed script (``<script src>``) the system serves for the company;
- an API call in an inline script (``fetch("https://boards-api.greenhouse.io/...")``,
  ``$.ajax({url: "https://api.ashbyhq.com/posting-api/job-board/..."})``);
- the page's own settings: a Workday site on the company's domain carries
  ``window.workday = {tenant, siteId}``; JOIN's widget bundle URL is a JWT whose
  payload holds the ``companyPublicId``; Workable's embed calls ``whr_embed(<account
  id>, ...)`` with a numeric id and no slug.

A careers page may also link to a board that is not the company's own (a partner's
or parent's "join the X team" link). Such a board is named, never proposed: see
``_other_company``. Whether a board can be watched is the source registry's to say,
at run time (``readable``), so systems added later become proposable by themselves.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

from monitor.errors import MonitorError
from monitor.extract.text import collapse, parse_html
from monitor.sources import SourceRegistry, jsonld
from monitor.sources.workday import settings as workday_settings
from monitor.urls import shown_url

NO_BOARD = (
    "no board found; watching the page as text would alert on every edit — "
    "use a board or a posting URL"
)
UNREADABLE = (
    "no installed source reads the boards found; watching the page as text would alert "
    "on every edit — use a board or a posting URL"
)
_MAX_CONTEXT = 160  # characters of a link's surrounding text kept as evidence
# No board URL is longer (a JOIN widget's token is about 1 KB); longer ones are not read,
# so a hostile page's giant links cost nothing.
_MAX_URL = 4096
_MAX_BOARDS = 100
_MAX_CONTEXTS = 20  # link texts kept per board, to look for another company's name


class PageKind(StrEnum):
    """What a careers page is, for ``watch add``: a page of one posting is watched as a
    page; a page naming a board proposes it; a job list with no board is refused (its
    text changes with every opening)."""

    POSTING = "posting"
    BOARD = "board"
    NO_BOARD = "no board"


class FoundBy(StrEnum):
    """How a board appeared on the page."""

    LINK = "link"
    IFRAME = "iframe"
    EMBED_SCRIPT = "embed script"
    INLINE_SCRIPT = "API call in inline script"
    WORKDAY_SETTINGS = "window.workday settings"
    WIDGET_JWT = "widget JWT payload"
    EMBED_CALL = "whr_embed account id"


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundBoard:
    """One board a careers page names."""

    system: str
    """The system, spelled as its source kind would be ("greenhouse", "workday")."""
    system_name: str
    token: str
    """The board's own name or id at its system (a Workday tenant, a JOIN id)."""
    parts: tuple[tuple[str, str], ...] = ()
    """What else names the board (Workday: pod and site)."""
    url: str
    """The URL to watch the board at."""
    found_by: tuple[FoundBy, ...]
    evidence: str
    """The URL or call as it stands in the page (the first seen)."""
    other_company: str | None = None
    """Why this board is taken to belong to another company; None when it is the page's."""
    source_kind: str | None = None
    """The registered source that reads ``url`` as a board (set by ``readable``)."""
    needs_source: bool = False
    """The URL alone does not pick ``source_kind`` (a Workday site on its own domain)."""

    @property
    def proposed(self) -> bool:
        return self.source_kind is not None and self.other_company is None

    @property
    def watch_command(self) -> str:
        named = f" --source {self.source_kind}" if self.needs_source else ""
        return f"posting-monitor watch add{named} {self.url}"

    def to_dict(self) -> dict[str, Any]:
        """As ``discover --json`` and the API give it (credentials in URLs masked)."""
        return {
            "system": self.system,
            "system_name": self.system_name,
            "token": self.token,
            "parts": dict(self.parts),
            "url": shown_url(self.url),
            "found_by": [way.value for way in self.found_by],
            "evidence": shown_url(self.evidence),
            "other_company": self.other_company,
            "source_kind": self.source_kind,
            "proposed": self.proposed,
            "watch_command": self.watch_command if self.proposed else None,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Discovery:
    """Every board on one careers page."""

    page_url: str
    company: tuple[str, ...]
    """The names the page goes by (its domain, its site name), lowercased."""
    boards: tuple[FoundBoard, ...]
    job_postings: int = 0
    """schema.org JobPosting objects on the page: one says it is a posting's page."""
    listing: bool = False
    """The page looks like a job list: its path says so (/careers, /jobs), or it links
    to several pages beneath its own path (/careers/opportunities/{id})."""

    @property
    def kind(self) -> PageKind:
        if self.job_postings == 1:
            return PageKind.POSTING
        if self.proposed:
            return PageKind.BOARD
        if self.listing or self.job_postings > 1 or self.boards:
            return PageKind.NO_BOARD
        return PageKind.POSTING

    @property
    def proposed(self) -> tuple[FoundBoard, ...]:
        return tuple(b for b in self.boards if b.proposed)

    @property
    def own_site(self) -> FoundBoard | None:
        """The proposed board the page itself belongs to (a Workday site on the
        company's domain, known by its settings), if any."""
        return next((b for b in self.proposed if FoundBy.WORKDAY_SETTINGS in b.found_by), None)

    @property
    def advice(self) -> str:
        """What to do when nothing is proposed."""
        return UNREADABLE if len(self.others) < len(self.boards) else NO_BOARD

    @property
    def others(self) -> tuple[FoundBoard, ...]:
        """Boards of other companies: named, not proposed."""
        return tuple(b for b in self.boards if b.other_company is not None)


@dataclass(frozen=True, slots=True)
class _Shape:
    system: str
    name: str
    pattern: re.Pattern[str]
    board: str
    """The board URL, formatted with the pattern's groups."""
    parts: tuple[str, ...] = ()


def _shape(system: str, name: str, pattern: str, board: str, *parts: str) -> _Shape:
    return _Shape(system, name, re.compile(r"^https?://" + pattern, re.IGNORECASE), board, parts)


_LANG = r"(?:[a-z]{2}(?:[-_][A-Za-z]{2})?/)?"
# Host labels that are a system's own service, never a company's board.
_NOT_A_BOARD = (
    r"(?!(?:www|app|api|cdn|static|assets|help|support|docs|blog|status|jobs|marketplace|"
    r"partners?|go|login|signin|auth|admin|careers|info|news|community|developers?|academy|"
    r"resources|learn|events|try|get|mail|email|shop|store)\.)"
)
_SHAPES: tuple[_Shape, ...] = (
    _shape(
        "greenhouse",
        "Greenhouse",
        r"(?:boards|job-boards)(?:\.eu)?\.greenhouse\.io/embed/job_board(?:/js)?\?(?:[^#]*&)?for=(?P<token>[\w-]+)",
        "https://boards.greenhouse.io/{token}",
    ),
    _shape(
        "greenhouse",
        "Greenhouse",
        r"(?:boards-api|api)(?:\.eu)?\.greenhouse\.io/v1/boards/(?P<token>[\w-]+)",
        "https://boards.greenhouse.io/{token}",
    ),
    _shape(
        "greenhouse",
        "Greenhouse",
        r"(?:boards|job-boards)(?:\.eu)?\.greenhouse\.io/(?!embed\b)(?P<token>[\w-]+)",
        "https://boards.greenhouse.io/{token}",
    ),
    _shape(
        "lever",
        "Lever",
        r"(?:jobs|api)(?P<region>\.eu)?\.lever\.co/(?:v0/postings/)?(?P<token>[\w.-]+)",
        "https://jobs{region}.lever.co/{token}",
    ),
    _shape(
        "ashby",
        "Ashby",
        r"(?:jobs\.ashbyhq\.com|api\.ashbyhq\.com/posting-api/job-board)/(?!api\b)(?P<token>[\w.%-]+)",
        "https://jobs.ashbyhq.com/{token}",
    ),
    _shape(
        "workable",
        "Workable",
        # www.workable.com is Workable's own site ("Powered by Workable" links): only its
        # accounts API names a company there.
        r"(?:apply\.workable\.com/(?:api/v\d+/(?:widget/)?accounts/|api/accounts/)?|www\.workable\.com/(?:api/v\d+/(?:widget/)?accounts/|api/accounts/))(?!api\b|j\b|assets\b)(?P<token>[\w-]+)",
        "https://apply.workable.com/{token}",
    ),
    _shape(
        "workable",
        "Workable",
        _NOT_A_BOARD + r"(?!apply\.)(?P<token>[\w-]+)\.workable\.com",
        "https://apply.workable.com/{token}",
    ),
    _shape(
        "workday",
        "Workday",
        r"(?P<token>[\w-]+)\.(?P<pod>wd\d+)\.myworkdayjobs\.com/(?:wday/cxs/[\w-]+/)?"
        + _LANG
        + r"(?!wday\b)(?P<site>[\w-]+)",
        "https://{token}.{pod}.myworkdayjobs.com/{site}",
        "pod",
        "site",
    ),
    _shape(
        "workday",
        "Workday",
        r"(?P<pod>wd\d+)\.myworkdaysite\.com/"
        + _LANG
        + r"recruiting/(?P<token>[\w-]+)/(?P<site>[\w-]+)",
        "https://{pod}.myworkdaysite.com/recruiting/{token}/{site}",
        "pod",
        "site",
    ),
    _shape(
        "smartrecruiters",
        "SmartRecruiters",
        r"(?:careers|jobs)\.smartrecruiters\.com/(?P<token>[\w-]+)",
        "https://careers.smartrecruiters.com/{token}",
    ),
    _shape(
        "smartrecruiters",
        "SmartRecruiters",
        r"api\.smartrecruiters\.com/v1/companies/(?P<token>[\w-]+)",
        "https://careers.smartrecruiters.com/{token}",
    ),
    _shape(
        "recruitee",
        "Recruitee",
        _NOT_A_BOARD + r"(?P<token>[\w-]+)\.recruitee\.com",
        "https://{token}.recruitee.com",
    ),
    _shape(
        "personio",
        "Personio",
        r"(?P<token>[\w-]+)\.jobs\.personio\.(?P<tld>de|com)",
        "https://{token}.jobs.personio.{tld}",
    ),
    _shape(
        "teamtailor",
        "Teamtailor",
        _NOT_A_BOARD + r"(?P<token>[\w-]+)\.teamtailor\.com",
        "https://{token}.teamtailor.com/jobs",
    ),
    _shape(
        "bamboohr",
        "BambooHR",
        _NOT_A_BOARD + r"(?P<token>[\w-]+)\.bamboohr\.com",
        "https://{token}.bamboohr.com/careers",
    ),
    _shape(
        "jazzhr",
        "JazzHR",
        _NOT_A_BOARD + r"(?P<token>[\w-]+)\.applytojob\.com",
        "https://{token}.applytojob.com/apply",
    ),
    _shape(
        "breezy",
        "Breezy HR",
        _NOT_A_BOARD + r"(?P<token>[\w-]+)\.breezy\.hr",
        "https://{token}.breezy.hr",
    ),
    _shape(
        "rippling",
        "Rippling",
        r"ats\.rippling\.com/" + _LANG + r"(?!api\b)(?P<token>[\w-]+)",
        "https://ats.rippling.com/{token}/jobs",
    ),
    _shape(
        "join",
        "JOIN",
        r"join\.com/companies/(?P<token>[\w-]+)",
        "https://join.com/companies/{token}",
    ),
    _shape(
        "pinpoint",
        "Pinpoint",
        _NOT_A_BOARD + r"(?P<token>[\w-]+)\.pinpointhq\.com",
        "https://{token}.pinpointhq.com",
    ),
    _shape(
        "comeet",
        "Comeet",
        r"(?:www\.)?comeet\.(?:com|co)/jobs/(?P<token>[\w.-]+)/(?P<uid>[0-9A-F]{2}\.[0-9A-F]{3})",
        "https://www.comeet.com/jobs/{token}/{uid}",
        "uid",
    ),
    _shape(
        "eightfold",
        "Eightfold",
        _NOT_A_BOARD + r"(?P<token>[\w-]+)\.eightfold\.ai",
        "https://{token}.eightfold.ai/careers",
    ),
    _shape(
        "oracle",
        "Oracle Recruiting Cloud",
        r"(?P<token>[\w-]+)(?P<rest>(?:\.[\w-]+)*\.oraclecloud\.com)/hcmUI/CandidateExperience/(?P<lang>[\w-]+)/sites/(?P<site>[\w-]+)",
        "https://{token}{rest}/hcmUI/CandidateExperience/{lang}/sites/{site}",
        "site",
    ),
    _shape(
        "adp",
        "ADP Workforce Now",
        # Possessive and a lookahead: a long path without "recruitment" in it fails at
        # once instead of being split every way (a hostile page's 1 MB link).
        r"workforcenow\.adp\.com/(?=[^?#]*recruitment)[^?#]*+\?(?:[^#]*&)?cid=(?P<token>[\w-]+)",
        "https://workforcenow.adp.com/mascsr/default/mdf/recruitment/recruitment.html?cid={token}",
    ),
    _shape(
        "adp",
        "ADP MyJobs",
        r"myjobs\.adp\.com/(?P<token>[\w-]+)",
        "https://myjobs.adp.com/{token}/cx",
    ),
    _shape(
        "icims",
        "iCIMS",
        _NOT_A_BOARD + r"(?P<prefix>careers-|jobs-)?(?P<token>[\w-]+)\.icims\.com",
        "https://{prefix}{token}.icims.com/jobs/search",
    ),
    _shape(
        "taleo",
        "Taleo",
        r"(?P<token>[\w-]+)\.taleo\.net/careersection/(?P<section>[\w-]+)",
        "https://{token}.taleo.net/careersection/{section}/jobsearch.ftl",
        "section",
    ),
    _shape(
        "successfactors",
        "SAP SuccessFactors",
        r"(?P<host>career\d*\.successfactors\.(?:com|eu))/career\?(?:[^#]*&)?company=(?P<token>[\w-]+)",
        "https://{host}/career?company={token}",
    ),
    _shape(
        "successfactors",
        "SAP SuccessFactors",
        r"(?P<token>[\w-]+)\.jobs2web\.com",
        "https://{token}.jobs2web.com",
    ),
)

_URL_IN_SCRIPT = re.compile(r"""(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s"'`<>)\\]*""", re.IGNORECASE)
_WHR_EMBED = re.compile(r"\bwhr_embed\(\s*['\"]?(\d+)")
_JOIN_BUNDLE = re.compile(r"join\.com/api/widget/bundle/([\w-]+\.([\w-]+)\.[\w-]+)")
_ID_LIKE = re.compile(r"^(?:\d+|[0-9a-f]{12,}|[0-9a-f-]{32,36})$", re.IGNORECASE)
# Systems whose token is the service's instance id, never a company's name (Oracle's
# "eeho" in eeho.fa.us2.oraclecloud.com).
_OPAQUE_TOKENS = frozenset({"oracle"})
_GENERIC_HOST = frozenset(
    {"www", "careers", "career", "jobs", "job", "karriere", "work", "join", "apply", "en", "de"}
)
# Last path segments of pages that list jobs rather than show one.
_LIST_PATHS = re.compile(
    r"^(?:careers?|jobs?|karriere|stellen(?:angebote)?|vacancies|openings|positions|"
    r"opportunities|join(?:-us)?|work-with-us|open-roles|job-board|jobboard|offres?-d-emploi)$"
)
_BENEATH_FOR_A_LIST = 3
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu"})


# Ways of finding a board whose evidence is a call or a setting rather than a URL.
_FOUND_IN_CODE = frozenset({FoundBy.EMBED_CALL, FoundBy.WIDGET_JWT, FoundBy.WORKDAY_SETTINGS})


def known_systems() -> tuple[str, ...]:
    """The systems whose boards a careers page is searched for, by name, in the order
    they are tried (JOIN's widget and a Workday site's settings included)."""
    names = dict.fromkeys(shape.name for shape in _SHAPES)
    return tuple(names)


@dataclass(frozen=True, slots=True)
class _Sighting:
    """A URL (or call) on the page, where it stood, and the words around it (for a
    link, read from its ``node`` only once the URL is known to be a board's)."""

    url: str
    found_by: FoundBy
    context: str = ""
    node: Any = field(default=None, compare=False, repr=False)


def discover(page_url: str, html: str) -> Discovery:
    """The boards ``html`` (the careers page at ``page_url``) names, in page order;
    boards that appear to belong to another company carry the reason."""
    tree = parse_html(html)
    company = _company_names(page_url, tree)
    boards = _merge([*_sightings(page_url, tree), *_settings_sightings(page_url, html)])
    context = _Neighbours.of(boards, company)
    judged = tuple(
        replace(b, other_company=_other_company(b, context, company, occurrences))
        for b, occurrences in boards
    )
    return Discovery(
        page_url=page_url,
        company=company,
        boards=judged,
        job_postings=len(jsonld.job_postings(tree)),
        listing=_listing(page_url, tree),
    )


def readable(discovery: Discovery, sources: SourceRegistry) -> Discovery:
    """``discovery`` with each board's reading source: a registered kind named like
    its system that takes the board URL as a board; None where none does."""
    boards = tuple(_with_source(b, sources) for b in discovery.boards)
    return replace(discovery, boards=boards)


def _with_source(board: FoundBoard, sources: SourceRegistry) -> FoundBoard:
    try:
        source = sources.get(board.system)
        source.source_id(board.url)
        if not source.is_board(board.url):
            return board
        picked = sources.detect(board.url).kind
    except MonitorError:  # no such kind, or it does not read this URL
        return board
    return replace(board, source_kind=source.kind, needs_source=picked != source.kind)


# -- sightings: every URL on the page and how it stood there ---------------------------


def _sightings(page_url: str, tree: Any) -> Iterator[_Sighting]:
    """Every URL in links, frames and scripts, in page order."""
    for node in tree.css("a[href], area[href], form[action], iframe, frame, script"):
        attributes = node.attributes
        if node.tag in ("a", "area"):
            url = _absolute(page_url, attributes.get("href"))
            yield _Sighting(url, FoundBy.LINK, node=node)
        elif node.tag == "form":
            yield _Sighting(_absolute(page_url, attributes.get("action")), FoundBy.LINK)
        elif node.tag in ("iframe", "frame"):
            url = attributes.get("src") or attributes.get("data-src")
            yield _Sighting(_absolute(page_url, url), FoundBy.IFRAME)
        elif attributes.get("src"):
            yield _Sighting(_absolute(page_url, attributes["src"]), FoundBy.EMBED_SCRIPT)
        else:
            yield from _script_sightings(page_url, node.text(deep=True))


def _script_sightings(page_url: str, script: str) -> Iterator[_Sighting]:
    script = script.replace("\\/", "/")
    for match in _URL_IN_SCRIPT.finditer(script):
        yield _Sighting(_absolute(page_url, match.group()), FoundBy.INLINE_SCRIPT)
    for match in _WHR_EMBED.finditer(script):
        url = f"https://apply.workable.com/api/v1/widget/accounts/{match[1]}"
        yield _Sighting(url, FoundBy.EMBED_CALL, f"whr_embed({match[1]}, …)")
    for match in _JOIN_BUNDLE.finditer(script):
        public_id = _jwt_claim(match[2], "companyPublicId")
        if public_id:
            # The widget's own URL is the board (its token is what the widget's jobs API
            # asks for); the company's public id, from the token, names it.
            url = f"https://{match.group()}"
            yield _Sighting(url, FoundBy.WIDGET_JWT, f"companyPublicId={public_id}")


def _settings_sightings(page_url: str, html: str) -> Iterator[_Sighting]:
    """A Workday career site on the company's own domain: the page is the board."""
    found = workday_settings(html)
    parts = urlsplit(page_url)
    if found is not None and parts.hostname and "myworkday" not in parts.hostname:
        tenant, site = found
        url = f"{parts.scheme}://{parts.netloc}/{site}"
        yield _Sighting(url, FoundBy.WORKDAY_SETTINGS, f"tenant={tenant} siteId={site}")


def _listing(page_url: str, tree: Any) -> bool:
    """Whether the page looks like a job list (see ``Discovery.listing``)."""
    parts = urlsplit(page_url)
    segments = [s for s in parts.path.lower().split("/") if s]
    if segments and _LIST_PATHS.match(segments[-1].rsplit(".", 1)[0]):
        return True
    base = parts.path.rstrip("/") + "/"
    beneath = set()
    for node in tree.css("a[href]"):
        link = urlsplit(_absolute(page_url, node.attributes.get("href")))
        if link.netloc == parts.netloc and link.path.startswith(base) and link.path != base:
            beneath.add(link.path.rstrip("/"))
    return len(beneath) >= _BENEATH_FOR_A_LIST


def _jwt_claim(payload: str, claim: str) -> str:
    if len(payload) > _MAX_URL:
        return ""
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError, RecursionError):  # nested past Python's limit
        return ""
    value = data.get(claim) if isinstance(data, dict) else None
    return value if isinstance(value, str) and re.fullmatch(r"[\w-]+", value) else ""


def _absolute(page_url: str, url: str | None) -> str:
    if not url:
        return ""
    try:
        return urljoin(page_url, unescape(url.strip()))
    except ValueError:  # an unparseable href (a stray bracket in a host)
        return ""


class _Words:
    """A link's text with its enclosing block's: what the reader sees beside it. Each
    block's text is read once, however many board links it holds."""

    def __init__(self) -> None:
        self._blocks: dict[int, str] = {}

    def __call__(self, node: Any) -> str:
        own = collapse(node.text(separator=" "))
        parent = node.parent
        around = self._block(parent) if parent is not None else ""
        return (own if len(around) > _MAX_CONTEXT else around or own)[:_MAX_CONTEXT]

    def _block(self, parent: Any) -> str:
        key = parent.mem_id
        if key not in self._blocks:
            self._blocks[key] = collapse(parent.text(separator=" "))
        return self._blocks[key]


# -- boards: sightings recognised and merged ----------------------------------------


@dataclass(slots=True)
class _Occurrences:
    found_by: list[FoundBy]
    contexts: list[str]


def _merge(sightings: Iterable[_Sighting]) -> list[tuple[FoundBoard, _Occurrences]]:
    """One board per (system, token, parts), in the order first seen."""
    merged: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[FoundBoard, _Occurrences]] = {}
    words = _Words()
    for sighting in sightings:
        board = _recognise(sighting)
        if board is None:
            continue
        if sighting.node is not None:
            sighting = replace(sighting, context=words(sighting.node))
        key = (board.system, board.token.casefold(), board.parts)
        if key not in merged:
            if len(merged) >= _MAX_BOARDS:  # no careers page has more: not read
                continue
            merged[key] = (board, _Occurrences([], []))
        occurrences = merged[key][1]
        if sighting.found_by not in occurrences.found_by:
            occurrences.found_by.append(sighting.found_by)
        if sighting.context and len(occurrences.contexts) < _MAX_CONTEXTS:
            occurrences.contexts.append(sighting.context)
    boards = [(replace(b, found_by=tuple(o.found_by)), o) for b, o in merged.values()]
    # A board the page embeds is the one it shows; links come after (sorted is stable).
    return sorted(boards, key=lambda pair: set(pair[0].found_by) == {FoundBy.LINK})


def _recognise(sighting: _Sighting) -> FoundBoard | None:
    if len(sighting.url) > _MAX_URL:
        return None
    if sighting.found_by is FoundBy.WORKDAY_SETTINGS:
        tenant = sighting.context.split()[0].removeprefix("tenant=")
        site = sighting.url.rsplit("/", 1)[-1]
        return _board("workday", "Workday", tenant, (("site", site),), sighting.url, sighting)
    if sighting.found_by is FoundBy.WIDGET_JWT:
        token = sighting.context.removeprefix("companyPublicId=")
        return _board("join", "JOIN", token, (), sighting.url, sighting)
    for shape in _SHAPES:
        match = shape.pattern.match(sighting.url)
        if match is not None:
            return _from_shape(shape, match.groupdict(default=""), sighting)
    return None


def _from_shape(shape: _Shape, groups: Mapping[str, str], sighting: _Sighting) -> FoundBoard:
    parts = tuple((name, groups[name]) for name in shape.parts)
    return _board(
        shape.system, shape.name, groups["token"], parts, shape.board.format(**groups), sighting
    )


def _board(
    system: str,
    name: str,
    token: str,
    parts: tuple[tuple[str, str], ...],
    url: str,
    sighting: _Sighting,
) -> FoundBoard:
    evidence = sighting.context if sighting.found_by in _FOUND_IN_CODE else sighting.url
    return FoundBoard(
        system=system,
        system_name=name,
        token=token,
        parts=parts,
        url=url,
        found_by=(sighting.found_by,),
        evidence=evidence,
    )


# -- whose board: the page's company or another one ---------------------------------


def _company_names(page_url: str, tree: Any) -> tuple[str, ...]:
    """The names the page goes by: its domain's name and the site name it declares."""
    names = [_domain_name(page_url)]
    for selector in ('meta[property="og:site_name"]', 'meta[name="application-name"]'):
        for node in tree.css(selector):
            names.append(_squash((node.attributes.get("content") or "").split(" - ")[0]))
    return tuple(dict.fromkeys(n for n in names if len(n) >= 2))


def _domain_name(page_url: str) -> str:
    labels = (urlsplit(page_url).hostname or "").lower().split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL:
        labels = labels[:-1]
    named = [label for label in labels[:-1] if label not in _GENERIC_HOST]
    return _squash(named[-1]) if named else ""


def _squash(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def _resembles(token: str, names: Iterable[str]) -> bool:
    """Whether a board's token is the company's name written as slugs are (``acme-corp``
    for Acme Corp, ``acmeinc``, ``gtlaw`` for gtlaw.com)."""
    slug = _squash(token)
    return any(
        len(min(slug, name, key=len)) >= 3
        and (slug in name or name in slug or slug[:4] == name[:4])
        for name in names
        if name
    )


@dataclass(frozen=True, slots=True)
class _Neighbours:
    """What the page's other boards say about each one: its own boards (named like the
    page) and how many companies' boards it only links to. Worked out once a page."""

    own: tuple[FoundBoard, ...]
    strangers: frozenset[str]

    @classmethod
    def of(
        cls, boards: list[tuple[FoundBoard, _Occurrences]], company: tuple[str, ...]
    ) -> _Neighbours:
        own = tuple(b for b, _ in boards if _resembles(b.token, company))
        strangers = frozenset(
            b.token.casefold()
            for b, _ in boards
            if set(b.found_by) == {FoundBy.LINK} and _is_name(b)
        )
        return cls(own, strangers)


def _other_company(
    board: FoundBoard,
    neighbours: _Neighbours,
    company: tuple[str, ...],
    occurrences: _Occurrences,
) -> str | None:
    """Why ``board`` belongs to another company, or None.

    A board the page embeds (iframe, script, API call, settings) is the page's own: no
    site embeds another company's jobs as its own. A board given by an id has no name
    to compare. A board only linked to, whose name is not the page's, is another
    company's when the link's own words name it ("Want to join the EGYM team?"), or
    when the page has a board of its own beside it, or links to several such boards
    (a group or investor page)."""
    if set(board.found_by) != {FoundBy.LINK} or not _is_name(board):
        return None
    if _resembles(board.token, company):
        return None
    named = next((c for c in occurrences.contexts if _names(c, board.token)), None)
    if named is not None:
        return f"the link's own words name it: “{named}”"
    own = [b for b in neighbours.own if b is not board]
    if own:
        return f"the page has its own board ({own[0].system_name} {own[0].token}) beside it"
    if len(neighbours.strangers) > 1:
        return "the page links to the boards of several companies, none named like the page"
    return None


def _is_name(board: FoundBoard) -> bool:
    """Whether the board's token is a name to compare with the company's (not an id)."""
    return board.system not in _OPAQUE_TOKENS and not _ID_LIKE.match(board.token)


def _names(context: str, token: str) -> bool:
    """Whether ``context`` names the board's company (its token as a word)."""
    slug = _squash(token)
    words = {_squash(w) for w in re.split(r"[\s,.;:!?()\"'’/|-]+", context)}
    joined = _squash(context)
    return slug in words or (len(slug) >= 5 and slug in joined)
