"""SmartRecruiters: api.smartrecruiters.com/v1/companies/{company}/postings[/{id}].

A posting URL uses the detail call, whose ``jobAd.sections`` carry the
description and a ``qualifications`` section (the requirements). The board list
carries list-level fields only (title, location with remote/hybrid flags,
department, employment type), so a board watch also reads each member's detail
(``thin_list``).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from monitor.model import PayPeriod, Posting, RemoteKind, Salary
from monitor.sources.base import FetchedPage
from monitor.sources.common import (
    AtsSource,
    build_posting,
    parse_date,
    remote_from_custom_fields,
    remote_from_flags,
    salary_object,
    text,
    web_url,
)

_API = "https://api.smartrecruiters.com/v1/companies"


class SmartRecruitersSource(AtsSource):
    """SmartRecruiters company (a board or one posting)."""

    thin_list: ClassVar[bool] = True
    kind: ClassVar[str] = "smartrecruiters"
    title: ClassVar[str] = "SmartRecruiters postings API (board or single posting)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "jobs.smartrecruiters.com/{company}",
        "jobs.smartrecruiters.com/{company}/{id}-{slug}",
        "api.smartrecruiters.com/v1/companies/{company}/postings[/{id}]",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(
            r"^https?://(?:jobs|careers)\.smartrecruiters\.com/(?P<board>[\w-]+)/(?P<job>\d+)"
        ),
        re.compile(
            r"^https?://api\.smartrecruiters\.com/v1/companies/(?P<board>[\w-]+)/postings/(?P<job>\d+)"
        ),
        re.compile(
            r"^https?://api\.smartrecruiters\.com/v1/companies/(?P<board>[\w-]+)/postings/?(?:\?.*)?$"
        ),
        re.compile(
            r"^https?://(?:jobs|careers)\.smartrecruiters\.com/(?P<board>[\w-]+)/?(?:\?.*)?$"
        ),
    )

    def fetch_url(self, url: str) -> str:
        located = self._located(url)
        if located.job:
            return f"{_API}/{located.board}/postings/{located.job}"
        return f"{_API}/{located.board}/postings?limit=100"

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        board = self._located(url).board
        items = data.get("content", []) if isinstance(data, dict) and "content" in data else [data]
        return self.only([_posting(item, board) for item in items if isinstance(item, dict)], url)


def _posting(item: dict[str, Any], board: str) -> Posting:
    sections = (item.get("jobAd") or {}).get("sections") or {}
    location = item.get("location") if isinstance(item.get("location"), dict) else {}
    assert isinstance(location, dict)
    return build_posting(
        kind=SmartRecruitersSource.kind,
        source_id=f"{board}:{item.get('id')}",
        url=web_url(item.get("postingUrl"))
        or f"https://jobs.smartrecruiters.com/{board}/{item.get('id')}",
        title=text(item.get("name")),
        company=text((item.get("company") or {}).get("name")),
        department=text((item.get("department") or {}).get("label")),
        locations=[text(location.get("fullLocation"))],
        description_html=[
            _section(sections, k)
            for k in ("jobDescription", "qualifications", "additionalInformation")
        ],
        requirements_html=_section(sections, "qualifications"),
        salaries=_compensation(item.get("compensation")),
        remote_hint=_workplace(item, location),
        remote_field="location.remote / hybrid flags or workplace custom field",
        employment_type=text((item.get("typeOfEmployment") or {}).get("label")) or None,
        posted_at=parse_date(item.get("releasedDate")),
    )


def _workplace(item: dict[str, Any], location: dict[str, Any]) -> RemoteKind:
    """``location.remote`` / ``hybrid`` flags, a workplace custom field; both flags
    present and false mean on-site (SmartRecruiters always sends both)."""
    flags = remote_from_flags(remote=location.get("remote"), hybrid=location.get("hybrid"))
    if flags is not RemoteKind.UNKNOWN:
        return flags
    custom = remote_from_custom_fields(
        (text(f.get("fieldLabel")), f.get("valueLabel"))
        for f in item.get("customField") or []
        if isinstance(f, dict)
    )
    if custom is not RemoteKind.UNKNOWN:
        return custom
    if location.get("remote") is False and location.get("hybrid") is False:
        return RemoteKind.ONSITE
    return RemoteKind.UNKNOWN


_PERIODS = {"HOURLY": PayPeriod.HOUR, "DAILY": PayPeriod.DAY, "WEEKLY": PayPeriod.WEEK,
            "MONTHLY": PayPeriod.MONTH, "YEARLY": PayPeriod.YEAR, "ANNUALLY": PayPeriod.YEAR,
            "ANNUAL": PayPeriod.YEAR}  # fmt: skip


def _compensation(value: Any) -> list[Salary]:
    """``compensation {min, max, currency, period: "HOURLY"}`` where the company shows pay."""
    return salary_object(value, period_key="period", periods=_PERIODS)


def _section(sections: Any, key: str) -> str:
    section = sections.get(key) if isinstance(sections, dict) else None
    return section.get("text") or "" if isinstance(section, dict) else ""
