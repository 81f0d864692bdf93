"""Ashby job boards: api.ashbyhq.com/posting-api/job-board/{org}?includeCompensation=true.

There is no public single-job call: a posting URL fetches its board and keeps
its job. Compensation comes as tiers (one per location or level), each with
components; only ``Salary`` components are pay ranges, with intervals such as
"1 YEAR" or "1 HOUR" ("NONE" for equity percentages). ``workplaceType`` is null
on many jobs, so ``isRemote`` and the text decide then.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from monitor.extract.salary import positive_decimal
from monitor.model import PayPeriod, Posting, RemoteKind, Salary
from monitor.sources.base import FetchedPage
from monitor.sources.common import (
    AtsSource,
    build_posting,
    parse_date,
    remote_from_word,
    text,
    web_url,
)

_INTERVALS = {
    "1 HOUR": PayPeriod.HOUR, "1 DAY": PayPeriod.DAY, "1 WEEK": PayPeriod.WEEK,
    "1 MONTH": PayPeriod.MONTH, "1 YEAR": PayPeriod.YEAR,
}  # fmt: skip
_EMPLOYMENT = {"FullTime": "full-time", "PartTime": "part-time", "Intern": "internship",
               "Contract": "contract", "Temporary": "temporary"}  # fmt: skip


class AshbySource(AtsSource):
    """Ashby job board (a board or one job)."""

    kind: ClassVar[str] = "ashby"
    title: ClassVar[str] = "Ashby job board API with compensation (board or single job)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "jobs.ashbyhq.com/{org}",
        "jobs.ashbyhq.com/{org}/{job id}",
        "api.ashbyhq.com/posting-api/job-board/{org}",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(r"^https?://jobs\.ashbyhq\.com/(?P<board>[\w.%-]+)/(?P<job>[0-9a-f-]{36})"),
        re.compile(r"^https?://api\.ashbyhq\.com/posting-api/job-board/(?P<board>[\w.%-]+)"),
        re.compile(r"^https?://jobs\.ashbyhq\.com/(?P<board>[\w.%-]+)/?(?:\?.*)?$"),
    )

    def fetch_url(self, url: str) -> str:
        board = self._located(url).board
        return f"https://api.ashbyhq.com/posting-api/job-board/{board}?includeCompensation=true"

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        board = self._located(url).board
        jobs = data.get("jobs", []) if isinstance(data, dict) else []
        listed = [j for j in jobs if isinstance(j, dict) and j.get("isListed", True) is not False]
        return self.only([_posting(job, board) for job in listed], url)


def _posting(job: dict[str, Any], board: str) -> Posting:
    secondary = [
        text(s.get("location")) for s in job.get("secondaryLocations") or [] if isinstance(s, dict)
    ]
    return build_posting(
        kind=AshbySource.kind,
        source_id=f"{board}:{job.get('id')}",
        url=web_url(job.get("jobUrl")) or f"https://jobs.ashbyhq.com/{board}/{job.get('id')}",
        title=text(job.get("title")),
        department=text(job.get("department")),
        locations=[text(job.get("location")), *secondary],
        description_html=job.get("descriptionHtml") or "",
        salaries=_compensation(job.get("compensation")),
        remote_hint=_remote(job),
        remote_field="workplaceType / isRemote fields",
        employment_type=_EMPLOYMENT.get(text(job.get("employmentType")))
        or text(job.get("employmentType"))
        or None,
        posted_at=parse_date(job.get("publishedAt")),
    )


def _remote(job: dict[str, Any]) -> RemoteKind:
    kind = remote_from_word(job.get("workplaceType"))
    if kind is RemoteKind.UNKNOWN and job.get("isRemote") is True:
        return RemoteKind.REMOTE
    return kind


def _compensation(value: Any) -> list[Salary]:
    if not isinstance(value, dict):
        return []
    tiers = [t for t in value.get("compensationTiers") or [] if isinstance(t, dict)]
    salaries = [
        s
        for tier in tiers
        for s in _tier(tier, label=text(tier.get("title")) if len(tiers) > 1 else "")
    ]
    if salaries:
        return salaries
    return [s for c in value.get("summaryComponents") or [] if (s := _component(c, ""))]


def _tier(tier: dict[str, Any], *, label: str) -> list[Salary]:
    return [s for c in tier.get("components") or [] if (s := _component(c, label))]


def _component(component: Any, label: str) -> Salary | None:
    if not isinstance(component, dict) or component.get("compensationType") != "Salary":
        return None
    low, high = (
        positive_decimal(component.get("minValue"), normalized=True),
        positive_decimal(component.get("maxValue"), normalized=True),
    )
    if low is None and high is None:
        return None
    return Salary(
        min=low, max=high, currency=text(component.get("currencyCode")).upper() or None,
        period=_INTERVALS.get(text(component.get("interval")).upper()), label=label,
    )  # fmt: skip
