"""Rippling ATS job boards: ats.rippling.com/[{lang}/]{slug}/jobs[/{uuid}].

Read through the public job-board API the board's own pages call
(``api.rippling.com/platform/api/ats/v1/board/{slug}/jobs``):
- a board: ``GET …/jobs``, a bare array with one row per job *and work location*
  (``uuid``, ``name``, ``department {id, label}``, ``url``, ``workLocation {id,
  label}``); rows of one ``uuid`` are one posting with several places. No
  description or pay, so a board watch also reads each member's job (``thin_list``);
- one job: ``GET …/jobs/{uuid}``: ``name``, ``description`` (named HTML sections:
  ``role``, ``company``, …), ``workLocations`` (labels such as "Remote (United
  States)"), ``department``, ``companyName``, ``employmentType {label, id}``,
  ``createdOn`` and ``payRangeDetails`` (``{rangeStart, rangeEnd, currency,
  frequency}`` per location; an empty list when none is stated).
The slug is case-sensitive and kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

from monitor.extract.salary import positive_decimal
from monitor.model import PayPeriod, Posting, Salary
from monitor.sources.base import FetchedPage
from monitor.sources.common import AtsSource, build_posting, html_of, parse_date, text, web_url

_API = "https://api.rippling.com/platform/api/ats/v1/board"
_LANG = r"(?:[a-z]{2}(?:-[A-Za-z]{2})?/)?"
_PERIODS = {"HOUR": PayPeriod.HOUR, "HOURLY": PayPeriod.HOUR, "DAY": PayPeriod.DAY,
            "DAILY": PayPeriod.DAY, "WEEK": PayPeriod.WEEK, "WEEKLY": PayPeriod.WEEK,
            "MONTH": PayPeriod.MONTH, "MONTHLY": PayPeriod.MONTH, "YEAR": PayPeriod.YEAR,
            "YEARLY": PayPeriod.YEAR, "ANNUAL": PayPeriod.YEAR, "ANNUALLY": PayPeriod.YEAR}  # fmt: skip
_SECTIONS_LAST = ("company",)
"""Description sections read after the others: the employer's blurb, not the role."""


class RipplingSource(AtsSource):
    """Rippling job board (every job, or one job)."""

    thin_list: ClassVar[bool] = True
    kind: ClassVar[str] = "rippling"
    title: ClassVar[str] = "Rippling job board API (board or single job)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "ats.rippling.com/[{lang}/]{slug}[/jobs]",
        "ats.rippling.com/[{lang}/]{slug}/jobs/{uuid}",
        "api.rippling.com/platform/api/ats/v1/board/{slug}/jobs[/{uuid}]",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(
            r"^https?://ats\.rippling\.com/" + _LANG + r"(?P<board>[\w.-]+)/jobs/"
            r"(?P<job>[0-9a-fA-F-]{36})/?(?:[/?#].*)?$"
        ),
        re.compile(
            r"^https?://api\.rippling\.com/platform/api/ats/v\d+/board/(?P<board>[\w.-]+)/jobs/"
            r"(?P<job>[0-9a-fA-F-]{36})/?(?:[?#].*)?$"
        ),
        re.compile(
            r"^https?://api\.rippling\.com/platform/api/ats/v\d+/board/(?P<board>[\w.-]+)"
            r"/jobs/?(?:[?#].*)?$"
        ),
        re.compile(
            r"^https?://ats\.rippling\.com/"
            + _LANG
            + r"(?P<board>(?!jobs\b)[\w.-]+)(?:/jobs)?/?(?:[?#].*)?$"
        ),
    )

    def fetch_url(self, url: str) -> str:
        located = self._located(url)
        board = f"{_API}/{located.board}/jobs"
        return f"{board}/{located.job}" if located.job else board

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        located = self._located(url)
        if located.job is not None:
            job = data if isinstance(data, dict) else {}
            return self.only([_job({**job, "uuid": located.job}, located.board)], url)
        rows = data if isinstance(data, list) else []
        return [_listed(group, located.board) for group in _by_job(rows)]


def _by_job(rows: Iterable[Any]) -> list[list[dict[str, Any]]]:
    """The list's rows grouped by job, in the list's order (one row per location)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if isinstance(row, dict) and text(row.get("uuid")):
            groups.setdefault(text(row.get("uuid")), []).append(row)
    return list(groups.values())


def _label(value: Any) -> str:
    if isinstance(value, dict):
        return text(value.get("label")) or text(value.get("name")) or text(value.get("id"))
    return text(value)


def _url(row: dict[str, Any], board: str, job_id: str) -> str:
    return web_url(row.get("url")) or f"https://ats.rippling.com/{board}/jobs/{job_id}"


def _listed(rows: list[dict[str, Any]], board: str) -> Posting:
    first = rows[0]
    job_id = text(first.get("uuid"))
    places = list(dict.fromkeys(_label(row.get("workLocation")) for row in rows))
    return build_posting(
        kind=RipplingSource.kind,
        source_id=f"{board}:{job_id}",
        url=_url(first, board, job_id),
        title=text(first.get("name")),
        department=_label(first.get("department")),
        locations=[p for p in places if p],
    )


def _description(value: Any) -> list[str]:
    """The named HTML sections, the role's first and the company's blurb last."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, dict):
        return []
    keys = [k for k in value if k not in _SECTIONS_LAST] + [k for k in _SECTIONS_LAST if k in value]
    return [html_of(value[k]) for k in keys]


def pay_ranges(value: Any) -> list[Salary]:
    """``payRangeDetails``: one ``{rangeStart, rangeEnd, currency, frequency}`` per
    location (the same range repeated for several); [] when none is stated."""
    found: list[Salary] = []
    for band in value if isinstance(value, list) else []:
        if not isinstance(band, dict):
            continue
        low = positive_decimal(band.get("rangeStart"), normalized=True)
        high = positive_decimal(band.get("rangeEnd"), normalized=True)
        if low is None and high is None:
            continue
        salary = Salary(
            min=low,
            max=high,
            currency=text(band.get("currency")).upper() or None,
            period=_PERIODS.get(text(band.get("frequency")).upper()),
        )
        if salary not in found:
            found.append(salary)
    return found


def _employment(value: Any) -> str | None:
    """``employmentType``: its ``id`` is the words ("Salaried, full-time"), its
    ``label`` the code ("SALARIED_FT")."""
    if isinstance(value, dict):
        return text(value.get("id")) or text(value.get("label")) or None
    return text(value) or None


def _job(job: dict[str, Any], board: str) -> Posting:
    job_id = text(job.get("uuid"))
    places = job.get("workLocations")
    return build_posting(
        kind=RipplingSource.kind,
        source_id=f"{board}:{job_id}",
        url=_url(job, board, job_id),
        title=text(job.get("name")),
        company=text(job.get("companyName")),
        department=_label(job.get("department")),
        locations=[text(p) for p in places] if isinstance(places, list) else [],
        description_html=_description(job.get("description")),
        salaries=pay_ranges(job.get("payRangeDetails")),
        salary_field="payRangeDetails field",
        employment_type=_employment(job.get("employmentType")),
        posted_at=parse_date(job.get("createdOn")),
    )
