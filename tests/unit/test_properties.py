"""Property-based tests (hypothesis): every parser and extractor takes whatever a
server sends, returns values or raises a ``MonitorError``, and never crashes a check."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.diff import compare
from monitor.core.normalize import normalize
from monitor.errors import MonitorError, ParseError
from monitor.extract.remote import remote_policy
from monitor.extract.requirements import requirements_from_lines
from monitor.extract.salary import parse_salaries, salaries_from_lines
from monitor.extract.text import html_to_lines, text_to_lines
from monitor.model import Posting
from monitor.sources import SourceRegistry, read_page
from monitor.sources.base import FetchedPage
from tests.conftest import SEEDS
from tests.unit.test_extract_cases import load_cases

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
URLS = {
    "greenhouse": "https://boards.greenhouse.io/northwind",
    "lever": "https://jobs.lever.co/northwind",
    "ashby": "https://jobs.ashbyhq.com/northwind",
    "workable": "https://apply.workable.com/northwind/",
    "smartrecruiters": "https://jobs.smartrecruiters.com/Northwind",
    "recruitee": "https://northwind.recruitee.com/",
    "personio": "https://northwind.jobs.personio.de/",
    "teamtailor": "https://northwind.teamtailor.com/jobs",
    "bamboohr": "https://northwind.bamboohr.com/careers",
    "workday": "https://northwind.wd5.myworkdayjobs.com/External_Careers",
    "icims": "https://careers-northwind.icims.com/jobs/10452/x/job",
    "successfactors": "https://northwind.jobs2web.com/job/Reno-X/1044561901/",
    "jazzhr": "https://northwind.applytojob.com/apply/Xb4TqRk2Lm/X",
    "breezy": "https://northwind.breezy.hr/",
    "oracle": "https://northwind.fa.us2.oraclecloud.com/hcmUI/CandidateExperience/en/sites/CX_1",
    "eightfold": "https://northwind.eightfold.ai/careers?domain=northwind.example",
    "rippling": "https://ats.rippling.com/northwind/jobs",
    "pinpoint": "https://northwind.pinpointhq.com/",
    "comeet": "https://www.comeet.co/careers-api/2.0/company/F6.003/positions?token=AB12",
    "join": "https://join.com/companies/northwind-robotics",
    "adp": "https://workforcenow.adp.com/mascsr/default/mdf/recruitment/recruitment.html?cid=0f1e2d3c-4b5a",
    "html": "https://careers.example.com/jobs/42",
}
SOURCES = list(SourceRegistry.default())

# Text with the pieces pay, place and requirement lines are made of, so the
# extractors' interesting branches are reached, not only random noise.
WORDS = st.sampled_from(
    "$ € £ USD EUR k K 000 , . - – to per year hour hourly annual salary base pay range "
    "remote hybrid on-site office days week within miles from requirements qualifications "
    "preferred bonus you have • * 1) 120,000 95.5 3 2 0 Kubernetes Python".split()
)
LINES = st.lists(
    st.one_of(st.lists(WORDS, max_size=14).map(" ".join), st.text(max_size=80)), max_size=25
)
# The keys sources read dates and amounts from: a number there may be one no date or
# Decimal holds (1e20 epoch seconds, 1e400 read as infinity, NaN).
DATE_KEYS = (
    "createdAt", "created_at", "createdOn", "postedTs", "PostedDate", "ExternalPostedStartDate",
    "postDate", "publishedAt", "published_at", "published_on", "published_date",
    "first_published", "datePosted", "releasedDate", "time_updated", "startDate",
)  # fmt: skip
AMOUNT_KEYS = (
    "amount", "salaryAmountFrom", "salaryAmountTo", "min_cents", "max_cents", "amountValue",
    "minimumRate", "maximumRate", "minValue", "maxValue", "rangeStart", "rangeEnd",
)  # fmt: skip
EXTREMES = (1e20, -1e20, 1e308, float("inf"), float("-inf"), float("nan"), -1, 0)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from(EXTREMES)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(
        st.sampled_from(
            ["id", "title", "text", "name", "jobs", "offers", "content", "location", "salary",
             "salaryRange", "min", "max", "currency", "@type", "baseSalary", "value", "results",
             "description", "categories", "jobPostings", "compensation", "postings",
             "items", "jobRequisitions", "details", "data", "workplace_type", "uid",
             "positions", "requisitionList", "status", *DATE_KEYS, *AMOUNT_KEYS]
        ) | st.text(max_size=8),
        children,
        max_size=6,
    ),
    max_leaves=25,
)  # fmt: skip


@SETTINGS
@given(LINES)
def test_extractors_take_any_lines(lines: list[str]) -> None:
    for salary in salaries_from_lines(lines):
        if salary.min is not None and salary.max is not None:
            assert Decimal(0) < salary.min <= salary.max
    remote_policy(lines)
    requirements = requirements_from_lines(lines)
    assert all(item.strip() for item in requirements.minimum + requirements.preferred)


@SETTINGS
@given(st.text(max_size=200))
def test_salary_parsing_never_invents_nonsense(line: str) -> None:
    for salary in parse_salaries(line):
        assert salary.min is None or salary.min > 0
        assert salary.max is None or salary.min is None or salary.min <= salary.max


@SETTINGS
@given(st.text(max_size=400))
def test_text_readers_take_any_markup(markup: str) -> None:
    assert all(line == line.strip() and line for line in html_to_lines(markup))
    assert all(line for line in text_to_lines(markup))


@SETTINGS
@given(st.sampled_from(SOURCES), JSON)
def test_sources_read_any_json_or_refuse_it(source: Any, data: Any) -> None:
    body = json.dumps(data).encode()
    page = FetchedPage(
        url=URLS[source.kind], status=200, content_type="application/json", body=body
    )
    _parse_or_refuse(source, page)


@SETTINGS
@given(st.sampled_from(SOURCES), st.binary(max_size=300))
def test_sources_take_any_bytes(source: Any, body: bytes) -> None:
    for content_type in ("application/json", "text/html", "application/xml"):
        page = FetchedPage(url=URLS[source.kind], status=200, content_type=content_type, body=body)
        _parse_or_refuse(source, page)


XML_TAGS = st.sampled_from(
    ["position", "id", "name", "office", "additionalOffices", "jobDescriptions",
     "jobDescription", "value", "createdAt", "employmentType", "workzag-jobs"]
)  # fmt: skip
XML = st.recursive(
    st.text(max_size=20).map(lambda t: t.replace("<", "").replace("&", "")),
    lambda inner: st.tuples(XML_TAGS, st.lists(inner, max_size=4)).map(
        lambda pair: f"<{pair[0]}>{''.join(pair[1])}</{pair[0]}>"
    ),
    max_leaves=30,
)


@SETTINGS
@given(XML)
def test_personio_reads_any_feed_shape_or_refuses_it(xml: str) -> None:
    source = SourceRegistry.default().get("personio")
    page = FetchedPage(
        url=URLS["personio"], status=200, content_type="application/xml", body=xml.encode()
    )
    _parse_or_refuse(source, page)


@SETTINGS
@given(JSON, st.text(max_size=200))
def test_pages_with_any_json_ld(data: Any, text: str) -> None:
    block = json.dumps(data).replace("</", "<\\/")
    html = (
        f'<html><head><title>T</title><script type="application/ld+json">{block}</script>'
        f"</head><body><h1>Job</h1><p>{text}</p></body></html>"
    )
    page = FetchedPage(url=URLS["html"], status=200, content_type="text/html", body=html.encode())
    source = next(s for s in SOURCES if s.kind == "html")
    _parse_or_refuse(source, page)


def _parse_or_refuse(source: Any, page: FetchedPage, *, url: str = "") -> None:
    try:
        postings = read_page(source, page, url=url or page.url)
    except MonitorError:
        return
    for posting in postings:
        assert isinstance(posting, Posting)
        normalized = normalize(posting)
        assert normalize(normalized) == normalized  # normalizing twice changes nothing
        assert not compare(normalized, normalized)  # a posting never differs from itself
        assert Posting.from_dict(normalized.to_dict()) == normalized  # stored and read back


def _with(data: Any, extreme: float) -> Any:
    """``data`` with every date and amount field set to ``extreme``."""
    if isinstance(data, list):
        return [_with(item, extreme) for item in data]
    if not isinstance(data, dict):
        return data
    wanted = set(DATE_KEYS) | set(AMOUNT_KEYS)
    return {k: extreme if k in wanted else _with(v, extreme) for k, v in data.items()}


JSON_SEEDS = [case for case in load_cases("sources.yaml") if "content_type" not in case.values[0]]


@pytest.mark.parametrize("case", JSON_SEEDS)
def test_seeds_with_any_number_in_their_date_and_amount_fields(case: dict[str, Any]) -> None:
    """A recorded answer whose dates and amounts are numbers no date or Decimal holds
    is read without them (or refused), never a crash."""
    source = SourceRegistry.default().detect(case["url"])
    data = json.loads((SEEDS / case["seed"]).read_text(encoding="utf-8"))
    for extreme in EXTREMES:
        body = json.dumps(_with(data, extreme)).encode()
        page = FetchedPage(url=case["url"], status=200, content_type="application/json", body=body)
        _parse_or_refuse(source, page, url=case["url"])


def test_a_body_of_an_unexpected_shape_is_a_parse_error_not_a_crash() -> None:
    recruitee = next(s for s in SOURCES if s.kind == "recruitee")
    page = FetchedPage(
        url=URLS["recruitee"], status=200, content_type="application/json", body=b'{"offers": 5}'
    )
    with pytest.raises(ParseError, match=r"unexpected response structure \(TypeError"):
        read_page(recruitee, page, url=page.url)


# -- page chrome never changes what is read -------------------------------------------------
_CHROME_WORDS = st.sampled_from(
    "Remote Hybrid On-site jobs Similar Other $160k–$200k €90.000 Salary: $250,000 "
    "Work from home Requirements - Python Locations Remote Locations Apply".split()
)
_CHROME_TEXT = st.lists(_CHROME_WORDS, min_size=1, max_size=12).map(" ".join)
_CHROME = st.tuples(
    st.lists(_CHROME_TEXT, max_size=4),
    st.lists(_CHROME_TEXT, max_size=4),
    st.lists(_CHROME_TEXT, max_size=4),
    st.lists(_CHROME_TEXT, max_size=4),
)


def _wrapped(
    body: str, chrome: tuple[list[str], list[str], list[str], list[str]], *, main: bool
) -> bytes:
    nav, aside, footer, related = (
        "".join(f"<li><a href='#'>{text}</a></li>" for text in part) for part in chrome
    )
    return (
        "<html><head><title>Data Analyst | Acme Analytics</title></head><body>"
        f"<nav><ul>{nav}</ul></nav>{'<main>' if main else '<div>'}{body}{'</main>' if main else '</div>'}"
        f"<aside><h3>Similar jobs</h3><ul>{aside}</ul></aside>"
        f"<div class='related-jobs'><ul>{related}</ul></div>"
        f"<footer><ul>{footer}</ul></footer></body></html>"
    ).encode()


@SETTINGS
@given(chrome=_CHROME, main=st.booleans())
def test_page_chrome_never_changes_the_fields_read(
    chrome: tuple[list[str], list[str], list[str], list[str]], main: bool
) -> None:
    """Nav, sidebars, footers and related-job widgets with amounts and "remote" words
    around a posting, with or without a <main> landmark: the same fields are read."""
    body = (SEEDS / "acme-data-analyst.html").read_text(encoding="utf-8")
    inner = body[body.index("<body>") + len("<body>") : body.index("</body>")]
    if not main:  # no landmark at all: neither <main> nor <article> marks the posting
        inner = inner.replace("<article", "<div").replace("</article>", "</div>")
    source = SourceRegistry.default().get("html")
    url = URLS["html"]

    def read(html: bytes) -> dict[str, Any]:
        page = FetchedPage(url=url, status=200, content_type="text/html", body=html)
        data = normalize(read_page(source, page, url=url)[0]).to_dict()
        del data["provenance"]
        return data

    plain = _wrapped(inner, ([], [], [], []), main=main)
    assert read(_wrapped(inner, chrome, main=main)) == read(plain)
