"""Teamtailor career sites: {company}.teamtailor.com/jobs (and .na.teamtailor.com).

The site's JSON Feed (``/jobs.json``, JSON Feed 1.1) lists every open job with its
``content_html`` and, under ``_jobposting``, a schema.org ``JobPosting``
(``identifier`` with the job's number, ``jobLocation[]``, and where the employer
fills them ``baseSalary``, ``employmentType`` and ``jobLocationType``). Structured
values from the JobPosting come first; the text fills the gaps.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from monitor.model import Posting
from monitor.sources import jsonld
from monitor.sources.base import FetchedPage
from monitor.sources.common import AtsSource, build_posting, html_of, text, web_url

_JOB_NUMBER = re.compile(r"/jobs/(\d+)")


class TeamtailorSource(AtsSource):
    """Teamtailor career site (every open job, or one of them)."""

    kind: ClassVar[str] = "teamtailor"
    title: ClassVar[str] = "Teamtailor JSON feed (board or single job)"
    url_shapes: ClassVar[tuple[str, ...]] = (
        "{company}.teamtailor.com/jobs",
        "{company}.teamtailor.com[/{lang}]/jobs/{id}-{slug}",
        "{company}.na.teamtailor.com/jobs[/{id}-{slug}]",
    )
    accepts: ClassVar[tuple[str, ...]] = (
        "application/feed+json",
        "application/json",
        "text/json",
        "text/plain",
    )
    patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        re.compile(
            r"^https?://(?P<board>[\w-]+)\.(?P<host>(?:na\.)?)teamtailor\.com"
            r"(?:/[a-z]{2}(?:-[a-z]{2})?)?/jobs/(?P<job>\d+)"
        ),
        re.compile(
            r"^https?://(?P<board>[\w-]+)\.(?P<host>(?:na\.)?)teamtailor\.com"
            r"(?:/[a-z]{2}(?:-[a-z]{2})?)?/?(?:jobs(?:\.json)?/?)?(?:[?#].*)?$"
        ),
    )

    def fetch_url(self, url: str) -> str:
        located = self._located(url)
        return f"https://{located.board}.{located.host}teamtailor.com/jobs.json"

    def parse(self, page: FetchedPage, *, url: str) -> list[Posting]:
        data = self.json(page)
        board = self._located(url).board
        items = data.get("items") if isinstance(data, dict) else None
        postings = [
            posting
            for item in items or []
            if isinstance(item, dict) and (posting := _posting(item, board)) is not None
        ]
        return self.only(postings, url)


def _job_number(item: dict[str, Any], job: dict[str, Any]) -> str:
    identifier = job.get("identifier")
    if isinstance(identifier, dict) and text(identifier.get("value")):
        return text(identifier.get("value"))
    found = _JOB_NUMBER.search(text(item.get("url")))
    return found[1] if found else ""


def _posting(item: dict[str, Any], board: str) -> Posting | None:
    job = item.get("_jobposting") if isinstance(item.get("_jobposting"), dict) else {}
    assert isinstance(job, dict)
    number = _job_number(item, job)
    title = text(item.get("title")) or jsonld.title(job)
    if not number or not title:
        return None  # a feed item without an id or a title names no posting
    return build_posting(
        kind=TeamtailorSource.kind,
        source_id=f"{board}:{number}",
        url=web_url(item.get("url")) or f"https://{board}.teamtailor.com/jobs/{number}",
        title=title,
        company=jsonld.company(job),
        locations=jsonld.locations(job),
        description_html=[
            html_of(item.get("content_html")),
            jsonld.description_html(job),
        ],
        salaries=jsonld.salaries(job),
        salary_field="JobPosting baseSalary",
        remote_hint=jsonld.remote_hint(job),
        remote_field="JobPosting jobLocationType",
        remote_regions=jsonld.applicant_region_details(job),
        regions_field="JobPosting applicantLocationRequirements",
        employment_type=jsonld.employment_type(job),
        posted_at=jsonld.posted_date(job) or jsonld.posted_date(item, "date_published"),
    )
