"""Greenhouse job boards: boards-api.greenhouse.io.

Board: ``/v1/boards/{board}/jobs?content=true`` (every job with its HTML content);
one job: ``/v1/boards/{board}/jobs/{id}?pay_transparency=true``. ``content`` is
HTML escaped once more. Pay ranges come structurally only on the single-job call
(``pay_input_ranges``, in cents, no period); board lists carry them rendered in
``div.pay-range`` blocks inside the content, read here before any text heuristic.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any, ClassVar

from monitor.extract.salary import parse_salaries, period_from_magnitude
from monitor.extract.text import collapse, parse_html
from monitor.model import Posting, Salary
from monitor.sources.base import FetchedPage
from monitor.sources.common import (
    AtsSource,
    build_posting,
    cents,
    parse_date,
    text,
    web_url,
    workplace_custom_field,
)

_HOSTS = r"(?:boards|job-boards)(?:\.eu)?\.greenhouse\.io"
_API = "https://boards-api.greenhouse.io/v1/boards"
_LABEL_NOISE = re.compile(
    r"\b(?:annual|annualized|hourly|base|pay|salary|range|compensation|ote)\b", re.I
)


class GreenhouseSource(AtsSource):
    """Greenhouse job board (a board or one job)."""

    kind: ClassVar[str] = "greenhouse"
    title: ClassVar[str] = "Greenhouse job board API (board or single job)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "boards.greenhouse.io/{board}",
        "job-boards.greenhouse.io/{board}/jobs/{id}",
        "boards.greenhouse.io/embed/job_board?for={board}",
        "boards-api.greenhouse.io/v1/boards/{board}/jobs[/{id}]",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(rf"^https?://{_HOSTS}/(?P<board>[\w-]+)/jobs/(?P<job>\d+)"),
        re.compile(
            rf"^https?://{_HOSTS}/embed/job_app\?(?:.*&)?for=(?P<board>[\w-]+)&(?:.*&)?token=(?P<job>\d+)"
        ),
        re.compile(rf"^https?://{_HOSTS}/embed/job_board\?(?:.*&)?for=(?P<board>[\w-]+)"),
        re.compile(
            r"^https?://boards-api\.greenhouse\.io/v1/boards/(?P<board>[\w-]+)/jobs/(?P<job>\d+)"
        ),
        re.compile(
            r"^https?://boards-api\.greenhouse\.io/v1/boards/(?P<board>[\w-]+)(?:/jobs)?/?(?:\?.*)?$"
        ),
        re.compile(rf"^https?://{_HOSTS}/(?P<board>[\w-]+)/?(?:\?.*)?$"),
    )

    def fetch_url(self, url: str) -> str:
        located = self._located(url)
        if located.job:
            return f"{_API}/{located.board}/jobs/{located.job}?pay_transparency=true"
        return f"{_API}/{located.board}/jobs?content=true"

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        board = self._located(url).board
        jobs = data.get("jobs", []) if isinstance(data, dict) and "jobs" in data else [data]
        return self.only([_posting(job, board) for job in jobs if isinstance(job, dict)], url)


def _posting(job: dict[str, Any], board: str) -> Posting:
    content = html.unescape(text_raw(job.get("content")))
    workplace, field = workplace_custom_field(_metadata(job))
    departments = [text(d.get("name")) for d in job.get("departments") or [] if isinstance(d, dict)]
    return build_posting(
        kind=GreenhouseSource.kind,
        source_id=f"{board}:{job.get('id')}",
        url=web_url(job.get("absolute_url"))
        or f"https://job-boards.greenhouse.io/{board}/jobs/{job.get('id')}",
        title=text(job.get("title")),
        company=text(job.get("company_name")),
        department=", ".join(d for d in departments if d),
        locations=_locations(job),
        description_html=content,
        salaries=_pay_input_ranges(job) or _pay_range_blocks(content),
        salary_field="pay_input_ranges field"
        if _pay_input_ranges(job)
        else "rendered pay-range block of the content",
        remote_hint=workplace,
        remote_field=f"metadata field {field!r}",
        posted_at=parse_date(job.get("first_published")),
    )


def text_raw(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _metadata(job: dict[str, Any]) -> list[tuple[str, Any]]:
    """The board's custom fields; names vary ("Workplace Type", "Location Type", ...)."""
    return [
        (text(m.get("name")), m.get("value"))
        for m in job.get("metadata") or []
        if isinstance(m, dict)
    ]


def _locations(job: dict[str, Any]) -> list[str]:
    location = job.get("location")
    name = text(location.get("name")) if isinstance(location, dict) else ""
    # "SF | NYC | Seattle" and "Austin; Chicago" list several places in one field.
    return [part.strip() for part in re.split(r"\s*[|;]\s*", name) if part.strip()]


def _pay_input_ranges(job: dict[str, Any]) -> list[Salary]:
    salaries = []
    for item in job.get("pay_input_ranges") or []:
        if not isinstance(item, dict):
            continue
        low, high = cents(item.get("min_cents")), cents(item.get("max_cents"))
        if low is None and high is None:
            continue
        amount = high or low or Decimal(0)
        salaries.append(
            Salary(
                min=low,
                max=high,
                currency=text(item.get("currency_type")).upper() or None,
                # Greenhouse gives no period.
                period=period_from_magnitude(amount),
                label=_label(text(item.get("title"))),
            )
        )
    return salaries


def _pay_range_blocks(content: str) -> list[Salary]:
    """Greenhouse's rendered pay transparency blocks: a title div, then div.pay-range."""
    if "pay-range" not in content:
        return []
    tree = parse_html(content)
    salaries: list[Salary] = []
    for block in tree.css("div.pay-range"):
        title_node = block.prev
        while title_node is not None and title_node.tag == "-text":
            title_node = title_node.prev
        title = collapse(title_node.text()) if title_node is not None else ""
        amount_text = collapse(block.text(separator=" "))
        for salary in parse_salaries(f"{amount_text} {_period_words(title)}", is_pay=True):
            salaries.append(_relabel(salary, _label(title)))
    return salaries


def _period_words(title: str) -> str:
    lowered = title.lower()
    if "hour" in lowered:
        return "per hour"
    if "annual" in lowered or "year" in lowered or "salary" in lowered:
        return "per year"
    return ""


def _label(title: str) -> str:
    return collapse(_LABEL_NOISE.sub(" ", title)).strip(" -:·|")


def _relabel(salary: Salary, label: str) -> Salary:
    return Salary(
        min=salary.min, max=salary.max, currency=salary.currency, period=salary.period, label=label
    )
