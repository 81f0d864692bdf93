"""Recruitee careers sites: {company}.recruitee.com/api/offers/ (board) and
/api/offers/{slug} (one offer, wrapped in ``{"offer": ...}``).

Structured: ``salary {min, max, period, currency}`` as strings, the workplace as
``remote`` / ``hybrid`` / ``on_site`` booleans, and a separate ``requirements``
HTML field.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from monitor.model import PayPeriod, Posting, Salary
from monitor.sources.base import FetchedPage
from monitor.sources.common import (
    AtsSource,
    build_posting,
    parse_date,
    remote_from_flags,
    salary_object,
    text,
    web_url,
)

_PERIODS = {"hour": PayPeriod.HOUR, "day": PayPeriod.DAY, "week": PayPeriod.WEEK,
            "month": PayPeriod.MONTH, "year": PayPeriod.YEAR}  # fmt: skip


class RecruiteeSource(AtsSource):
    """Recruitee careers site (a board or one offer)."""

    kind: ClassVar[str] = "recruitee"
    title: ClassVar[str] = "Recruitee offers API (board or single offer)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "{company}.recruitee.com",
        "{company}.recruitee.com/o/{slug}",
        "{company}.recruitee.com/api/offers[/{slug}]",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(r"^https?://(?P<board>[\w-]+)\.recruitee\.com/(?:api/offers|o)/(?P<job>[\w-]+)"),
        re.compile(r"^https?://(?P<board>[\w-]+)\.recruitee\.com/?(?:api/offers/?)?(?:\?.*)?$"),
    )

    def fetch_url(self, url: str) -> str:
        located = self._located(url)
        base = f"https://{located.board}.recruitee.com/api/offers"
        return f"{base}/{located.job}" if located.job else f"{base}/"

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        board = self._located(url).board
        offers = (
            data.get("offers")
            if isinstance(data, dict) and "offers" in data
            else [data.get("offer") if isinstance(data, dict) else None]
        )
        return self.only([_posting(o, board) for o in offers or [] if isinstance(o, dict)], url)


def _posting(offer: dict[str, Any], board: str) -> Posting:
    english = (
        ((offer.get("translations") or {}).get("en") or {})
        if isinstance(offer.get("translations"), dict)
        else {}
    )
    description = offer.get("description") or english.get("description") or ""
    requirements = offer.get("requirements") or english.get("requirements") or ""
    return build_posting(
        kind=RecruiteeSource.kind,
        source_id=f"{board}:{offer.get('slug')}",
        url=web_url(offer.get("careers_url"))
        or f"https://{board}.recruitee.com/o/{offer.get('slug')}",
        title=text(offer.get("title")),
        company=text(offer.get("company_name")),
        department=text(offer.get("department")),
        locations=_locations(offer),
        description_html=[description, requirements],
        requirements_html=requirements,
        salaries=_salary(offer.get("salary")),
        remote_field="remote / hybrid / on_site fields",
        remote_hint=remote_from_flags(
            remote=offer.get("remote"), hybrid=offer.get("hybrid"), onsite=offer.get("on_site")
        ),
        employment_type=text(offer.get("employment_type_code")).replace("_", " ") or None,
        posted_at=parse_date(offer.get("published_at") or offer.get("created_at")),
    )


def _locations(offer: dict[str, Any]) -> list[str]:
    names = [
        ", ".join(text(p.get(k)) for k in ("city", "country") if text(p.get(k)))
        for p in offer.get("locations") or []
        if isinstance(p, dict)
    ]
    return [n for n in names if n] or [text(offer.get("location"))]


def _salary(value: Any) -> list[Salary]:
    return salary_object(value, period_key="period", periods=_PERIODS)
