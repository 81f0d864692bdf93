"""Helpers the ATS sources share: JSON bodies, URL patterns, and one way to build a
Posting from an ATS's fields plus its description HTML."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any, ClassVar

from monitor.errors import ParseError, UnsupportedContent
from monitor.extract.remote import RemoteReading, read_remote
from monitor.extract.remote_kind import kind_of_label
from monitor.extract.requirements import requirements_from_lines
from monitor.extract.salary import positive_decimal, salaries_from_lines
from monitor.extract.text import bullet_text, collapse, html_to_lines, is_bullet
from monitor.model import PayPeriod, Posting, Provenance, RemoteKind, Requirements, Salary
from monitor.sources.base import FetchedPage
from monitor.urls import is_web_url


@dataclass(frozen=True, slots=True)
class Located:
    """What a URL names on an ATS: a board, and maybe one job on it."""

    board: str
    job: str | None = None
    host: str = ""


class AtsSource:
    """Base for sources whose URLs follow patterns and whose API answers JSON."""

    kind: ClassVar[str] = ""
    title: ClassVar[str] = ""
    url_shapes: ClassVar[tuple[str, ...]] = ()
    accepts: ClassVar[tuple[str, ...]] = ("application/json", "text/json", "text/plain")
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = ()
    """Regexes with groups ``board`` and optionally ``job`` (and ``host``)."""
    thin_list: ClassVar[bool] = False
    """The board list lacks fields the job read has (pay, requirements, the remote
    policy's text): a board watch then reads each member's job at its own URL too."""

    def locate(self, url: str) -> Located | None:
        for pattern in self.patterns:
            match = pattern.match(url.strip())
            if match:
                groups = match.groupdict()
                return Located(
                    board=groups["board"], job=groups.get("job"), host=groups.get("host") or ""
                )
        return None

    def _located(self, url: str) -> Located:
        located = self.locate(url)
        if located is None:
            raise ParseError(f"not a {self.kind} URL", url=url)
        return located

    def matches(self, url: str) -> bool:
        return self.locate(url) is not None

    def is_board(self, url: str) -> bool:
        return self._located(url).job is None

    def source_id(self, url: str) -> str:
        located = self._located(url)
        return f"{located.board}:{located.job}" if located.job else f"board:{located.board}"

    def json(self, page: FetchedPage) -> Any:
        if not page.content_type.startswith(self.accepts):
            raise UnsupportedContent(url=page.url, content_type=page.content_type)
        try:
            return json.loads(page.body)
        except ValueError as exc:
            raise ParseError(f"malformed JSON: {exc}", url=page.url) from exc

    def only(self, postings: list[Posting], url: str) -> list[Posting]:
        """For a posting URL, the one posting it names (boards return all of them)."""
        located = self._located(url)
        if located.job is None:
            return postings
        wanted = f"{located.board}:{located.job}"
        return [p for p in postings if p.source_id == wanted]


def build_posting(
    *,
    kind: str,
    source_id: str,
    url: str,
    title: str,
    company: str = "",
    locations: Iterable[str] = (),
    department: str = "",
    description_html: str | Sequence[str] = "",
    requirements_html: str = "",
    salaries: Iterable[Salary] = (),
    remote_hint: RemoteKind = RemoteKind.UNKNOWN,
    remote_field: str = "workplace field",
    remote_regions: Iterable[str] = (),
    regions_field: str = "",
    salary_field: str = "structured salary field",
    employment_type: str | None = None,
    posted_at: date | None = None,
) -> Posting:
    """A posting from an ATS's structured fields, with the text filling the gaps.

    Structured values win: a salary or workplace field is used before any text
    heuristic; requirements come from a dedicated field when the ATS has one.
    ``remote_field`` and ``salary_field`` name where ``remote_hint`` and ``salaries``
    came from, for provenance. The remote policy's details are the text's, beside any
    "remote within <region>" details a structured field states (``remote_regions``,
    from ``regions_field``); where the two disagree, both are kept and shown.
    """
    htmls = [description_html] if isinstance(description_html, str) else list(description_html)
    lines = [line for html in htmls for line in html_to_lines(html)]
    place_names = [collapse(loc) for loc in locations if loc and collapse(loc)]
    hint = remote_hint
    if hint is RemoteKind.UNKNOWN:
        hint, remote_field = location_kind(place_names), "location name"
    reading = read_remote(lines, hint=hint, labelled=[title]).with_stated_regions(
        remote_regions, regions_field
    )
    requirement_lines = html_to_lines(requirements_html) if requirements_html else lines
    requirements = requirements_from_lines(requirement_lines) or _all_bullets(
        requirement_lines, requirements_html
    )
    structured_pay = tuple(salaries)
    pay = structured_pay or salaries_from_lines(lines)
    return Posting(
        source_kind=kind,
        source_id=source_id,
        url=url,
        title=collapse(title),
        company=collapse(company),
        department=collapse(department),
        locations=tuple(place_names),
        salaries=pay,
        remote=reading.policy,
        requirements=requirements,
        employment_type=employment_type,
        posted_at=posted_at,
        provenance=Provenance(
            sources=_present(
                (
                    "salary",
                    salary_field if structured_pay else "description text",
                    pay,
                ),
                ("remote", remote_source(reading, remote_field), reading.policy),
                ("remote details", reading.details_source(), reading.policy.details),
                (
                    "requirements",
                    "requirements field" if requirements_html else "description text",
                    requirements,
                ),
            ),
            disagreements=reading.disagreements(remote_field),
        ),
    )


def remote_source(reading: RemoteReading, field: str, text: str = "description text") -> str:
    """Which side decided the remote policy: the structured field, the text, or both."""
    if reading.hint is RemoteKind.UNKNOWN:
        return text
    if reading.policy.kind is reading.hint:
        return f"{field} and {text}" if reading.text is reading.hint else field
    return f"{text} (refines the {field})"


def _present(*entries: tuple[str, str, object]) -> tuple[tuple[str, str], ...]:
    return tuple((name, source) for name, source, value in entries if value)


def location_kind(place_names: Sequence[str]) -> RemoteKind:
    """'Remote - US', 'London (Hybrid)': a location that names the workplace.

    Where several locations name different kinds ("London; Remote, US"), remote
    is one of the places allowed, so the posting is open to remote work.
    """
    kinds = {k for name in place_names if (k := kind_of_label(name))}
    if len(kinds) == 1:
        return kinds.pop()
    return RemoteKind.REMOTE if RemoteKind.REMOTE in kinds else RemoteKind.UNKNOWN


def _all_bullets(lines: list[str], requirements_html: str) -> Requirements:
    """A field that holds only requirements (Recruitee) may have no heading at all."""
    if not requirements_html:
        return Requirements()
    return Requirements(minimum=tuple(bullet_text(line) for line in lines if is_bullet(line)))


def salary_object(
    value: Any, *, period_key: str, periods: Mapping[str, PayPeriod | None]
) -> list[Salary]:
    """An ATS's ``{min, max, currency, <period_key>}`` pay object (Lever ``salaryRange``,
    Recruitee ``salary``, SmartRecruiters ``compensation``); [] when it holds no amount."""
    if not isinstance(value, dict):
        return []
    low = positive_decimal(value.get("min"), normalized=True)
    high = positive_decimal(value.get("max"), normalized=True)
    if low is None and high is None:
        return []
    word = text(value.get(period_key))
    period = periods.get(word) or periods.get(word.upper()) or periods.get(word.lower())
    currency = text(value.get("currency")).upper() or None
    return [Salary(min=low, max=high, currency=currency, period=period)]


def more_pages(*, done: int, total: Any, listed: int, page_size: int) -> bool:
    """Whether a paged board has pages after the ``done`` items read so far, the last
    page holding ``listed``. A stated total decides (a server may answer fewer than
    asked before the end); without one, a full page means more may follow and a short
    or empty one is the last (the fetcher stops a board at its page limit)."""
    if listed == 0:
        return False
    if isinstance(total, int) and not isinstance(total, bool):
        return done < total
    return listed >= page_size


def parse_date(value: Any) -> date | None:
    """ISO dates and datetimes, 'YYYY-MM-DD HH:MM:SS UTC', or epoch milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_date(value / 1000, tz=None)
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def epoch_date(seconds: float, *, tz: tzinfo | None) -> date | None:
    """The calendar date of an epoch time, or None for one no date has (1e20, NaN,
    infinity: JSON numbers a board may send, which ``fromtimestamp`` refuses with
    OverflowError, ValueError or OSError by platform)."""
    try:
        return datetime.fromtimestamp(seconds, tz).date()
    except (OverflowError, ValueError, OSError):
        return None


def cents(value: Any) -> Decimal | None:
    """An amount in cents (JOIN, Greenhouse pay) in whole units; None unless a finite
    number above zero (JSON allows 1e400, which Python reads as infinity)."""
    amount = positive_decimal(value, normalized=False)
    return None if amount is None else (amount / 100).normalize()


def html_of(value: Any) -> str:
    """An HTML field's value, or "" when the field holds anything but text."""
    return value if isinstance(value, str) else ""


def text(value: Any) -> str:
    return collapse(value) if isinstance(value, str) else ""


def web_url(value: Any) -> str:
    """A posting URL from a board's JSON if it is an absolute http(s) URL, else "" (the
    caller falls back to the URL it builds from the board and the job's id): a board
    may just as well say ``javascript:...``, and the link is shown in alerts and feeds."""
    url = text(value)
    return url if is_web_url(url) else ""


def boolean(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def remote_from_flags(*, remote: Any, hybrid: Any, onsite: Any = None) -> RemoteKind:
    """Workplace booleans (Recruitee, SmartRecruiters) to one kind; hybrid wins over remote."""
    if boolean(hybrid):
        return RemoteKind.HYBRID
    if boolean(remote):
        return RemoteKind.REMOTE
    if boolean(onsite):
        return RemoteKind.ONSITE
    return RemoteKind.UNKNOWN


def remote_from_word(value: Any) -> RemoteKind:
    """'hybrid', 'onsite'/'on-site', 'Remote', 'OnSite', 'Flex' (Workday), 'In-Office',
    'Remote Eligible'; 'unspecified' and anything else is unknown."""
    word = re.sub(r"(?<=[a-z])(?=[A-Z])", "-", text(value)).replace("_", "-")
    return kind_of_label(word) or RemoteKind.UNKNOWN


_WORKPLACE_FIELD = re.compile(
    r"workplace|location type|remote|work(?:ing)? (?:type|model|mode|arrangement|style|location type)|"
    r"on-?site|office|telecommut|hybrid|arbeitsmodell|modalit",
    re.I,
)


def remote_from_custom_fields(fields: Iterable[tuple[str, Any]]) -> RemoteKind:
    """Custom fields (Greenhouse ``metadata``, SmartRecruiters ``customField``) whose
    name is about the workplace ("Workplace Type", "Location Type", "Remote Status")."""
    return workplace_custom_field(fields)[0]


def workplace_custom_field(fields: Iterable[tuple[str, Any]]) -> tuple[RemoteKind, str]:
    """The kind a workplace custom field gives, and that field's name ('' if none)."""
    for name, value in fields:
        if not _WORKPLACE_FIELD.search(name):
            continue
        if value is True and re.search(r"remote|telecommut", name, re.I):
            return RemoteKind.REMOTE, name
        values = value if isinstance(value, list) else [value]
        kinds = {remote_from_word(v) for v in values} - {RemoteKind.UNKNOWN}
        if len(kinds) == 1:
            return kinds.pop(), name
    return RemoteKind.UNKNOWN, ""
