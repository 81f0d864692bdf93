"""Every source: URL detection from a case table, and recorded seeds against golden postings."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from monitor.extract.salary import positive_decimal
from monitor.model import PayPeriod, Posting, RemoteKind
from monitor.sources import SourceRegistry
from monitor.sources.base import FetchedPage
from tests.conftest import SEEDS
from tests.goldens import expected, read
from tests.unit.test_extract_cases import load_cases

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "sources"
REGISTRY = SourceRegistry.default()


@pytest.mark.parametrize("case", load_cases("urls.yaml"))
def test_url_detection(case: dict[str, Any]) -> None:
    named = case.get("source")  # a source named by the watch, not found from the URL
    source = REGISTRY.get(named) if named else REGISTRY.detect(case["url"])
    assert source.kind == case["kind"]
    assert source.is_board(case["url"]) is case["board"]
    assert source.source_id(case["url"]) == case["source_id"]
    assert source.fetch_url(case["url"]) == case["fetch"]


@pytest.mark.parametrize("case", load_cases("sources.yaml"))
def test_seed_matches_golden(case: dict[str, Any]) -> None:
    postings = [
        p.to_dict()
        for p in read(case["seed"], case["url"], case.get("content_type", "application/json"))
    ]
    # Only `python -m tests.goldens` rewrites a golden, showing the diff.
    assert postings == expected(GOLDEN / f"{case['id']}.json")


def test_every_source_kind_has_a_seed_case() -> None:
    covered = {REGISTRY.detect(case.values[0]["url"]).kind for case in load_cases("sources.yaml")}
    assert covered == {source.kind for source in REGISTRY}


def salaries(posting: Posting) -> list[tuple[object, ...]]:
    return [(s.min, s.max, s.currency, s.period, s.label) for s in posting.salaries]


def test_greenhouse_single_job_prefers_pay_input_ranges() -> None:
    (job,) = read("greenhouse/job.json", "https://job-boards.greenhouse.io/northwind/jobs/101")
    assert salaries(job) == [
        (Decimal(150000), Decimal(190000), "USD", PayPeriod.YEAR, "US"),
        (Decimal(135000), Decimal(170000), "USD", PayPeriod.YEAR, "US Remote (Tier 2)"),
    ]


def test_greenhouse_board_reads_rendered_pay_blocks_with_their_titles() -> None:
    jobs = {
        p.title: p
        for p in read("greenhouse/board-1.json", "https://boards.greenhouse.io/northwind")
    }
    assert salaries(jobs["Site Reliability Engineer"]) == [
        (Decimal(85000), Decimal(100000), "EUR", PayPeriod.YEAR, "Germany")
    ]
    assert jobs["Data Scientist"].remote.kind is RemoteKind.HYBRID
    assert jobs["Backend Engineer, Payments"].requirements.preferred == ("Experience with Kafka.",)


def test_lever_structured_fields_win() -> None:
    platform, support = read("lever/postings.json", "https://jobs.lever.co/northwind")
    assert platform.remote.kind is RemoteKind.ONSITE  # workplaceType "onsite"
    assert salaries(platform) == [(Decimal(160000), Decimal(210000), "USD", PayPeriod.YEAR, "")]
    assert platform.requirements.minimum == ("5+ years with Linux in production.", "Python or Go.")
    assert support.remote.kind is RemoteKind.REMOTE
    assert salaries(support) == [(Decimal(30), Decimal(38), "CAD", PayPeriod.HOUR, "")]


def test_ashby_tiers_unlisted_jobs_and_null_workplace() -> None:
    ae, intern = read("ashby/board.json", "https://jobs.ashbyhq.com/northwind")
    assert [s[4] for s in salaries(ae)] == ["Nationwide", "SF/NY"]
    assert intern.remote.kind is RemoteKind.REMOTE  # workplaceType null, isRemote true
    assert salaries(intern) == [(Decimal(45), Decimal(55), "USD", PayPeriod.HOUR, "")]


def test_recruitee_empty_salary_strings_are_no_salary() -> None:
    analyst, mechanic = read("recruitee/offers.json", "https://northwind.recruitee.com/")
    assert salaries(analyst) == [(Decimal(55000), Decimal(68000), "EUR", PayPeriod.YEAR, "")]
    assert analyst.requirements.minimum == ("Excellent SQL.", "Dutch or English.")
    assert mechanic.salaries == ()
    assert mechanic.remote.kind is RemoteKind.ONSITE
    assert mechanic.requirements.preferred == ("Forklift licence.",)


@pytest.mark.parametrize(
    ("value", "normalized", "number"),
    [
        ("85,000", False, "85000"),
        (" 85,000.00 ", False, "85000.00"),  # JSON-LD's amounts are kept as written
        ("85000.00", True, "8.5E+4"),  # as the ATS sources store pay
        (1, False, "1"),
        ("0.5", True, "0.5"),
        (0, False, None),  # 0 means "not given"
        ("-5", False, None),
        ("NaN", False, None),
        ("Infinity", True, None),
        ("negotiable", False, None),
        (True, False, None),
        (None, True, None),
    ],
)
def test_structured_pay_amounts(value: object, normalized: bool, number: str | None) -> None:
    found = positive_decimal(value, normalized=normalized)
    assert (None if found is None else str(found)) == number


def test_smartrecruiters_detail_reads_qualifications() -> None:
    (posting,) = read(
        "smartrecruiters/posting.json",
        "https://jobs.smartrecruiters.com/Northwind/744000100000001-warehouse-automation-engineer",
    )
    assert posting.requirements.minimum == ("PLC programming.", "3+ years in automation.")
    assert posting.requirements.preferred == ("ROS experience.",)
    assert posting.remote.kind is RemoteKind.HYBRID
    assert salaries(posting)[0][:2] == (Decimal(115000), Decimal(140000))


def _hostile_urls(value: Any) -> Any:
    """Every absolute URL in a board's JSON made a ``javascript:`` one."""
    if isinstance(value, dict):
        return {k: _hostile_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hostile_urls(v) for v in value]
    if isinstance(value, str) and value.startswith("http"):
        return f"javascript:alert(document.domain)//{value}"
    return value


JSON_CASES = [
    case for case in load_cases("sources.yaml") if case.values[0]["seed"].endswith(".json")
]


@pytest.mark.parametrize("case", JSON_CASES)
def test_a_board_gives_no_posting_a_link_but_http(case: dict[str, Any]) -> None:
    """A board's JSON may name any URL for a posting: only http(s) ones are kept, else
    the posting's URL is built from the board and its id, as when none is given."""
    source = REGISTRY.detect(case["url"])
    seed = json.loads((SEEDS / case["seed"]).read_bytes())
    page = FetchedPage(
        url=source.fetch_url(case["url"]), status=200,
        content_type=case.get("content_type", "application/json"),
        body=json.dumps(_hostile_urls(seed)).encode(),
    )  # fmt: skip
    postings = source.parse(page, url=case["url"])
    assert postings
    assert all(p.url.startswith("https://") for p in postings), [p.url for p in postings]


def _page(url: str, body: str | bytes, content_type: str = "application/json") -> FetchedPage:
    source = REGISTRY.detect(url)
    data = body.encode() if isinstance(body, str) else body
    return FetchedPage(url=source.fetch_url(url), status=200, content_type=content_type, body=data)


PERSONIO = "https://northwind.jobs.personio.de/"


def test_personio_office_named_remote_and_german_profile_heading() -> None:
    postings = read("personio/positions.xml", PERSONIO, "application/xml")
    backend, data, student = sorted(postings, key=lambda p: p.source_id)
    assert backend.remote.kind is RemoteKind.HYBRID  # "two days a week in our Berlin office"
    assert salaries(backend) == [(Decimal(75000), Decimal(90000), "EUR", PayPeriod.YEAR, "")]
    assert data.remote.kind is RemoteKind.REMOTE  # office "Remote"
    assert data.requirements.minimum == (
        "Erfahrung mit Python und SQL",
        "Kenntnisse in Airflow oder Dagster",
    )
    assert student.employment_type == "working student, part-time"
    assert salaries(student) == [(Decimal(16), Decimal(16), "EUR", PayPeriod.HOUR, "")]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><workzag-jobs/>',
            "application/xml",
            "document type declaration",
        ),
        (  # past the first 2 KB
            b'<?xml version="1.0"?><!--' + b"x" * 3000 + b'--><!DOCTYPE w [<!ENTITY a "A">]>'
            b"<workzag-jobs><position><name>Eng &a;</name></position></workzag-jobs>",
            "application/xml",
            "document type declaration",
        ),
        (  # in UTF-16, where no byte spells <!DOCTYPE
            '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE w [<!ENTITY a "A">]>'
            "<workzag-jobs><position><name>Eng &a;</name></position></workzag-jobs>".encode(
                "utf-16"
            ),
            "application/xml",
            "document type declaration",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE w SYSTEM "file:///etc/passwd"><workzag-jobs/>',
            "application/xml",
            "document type declaration",
        ),
        (  # a bare declaration, no entities: still refused (a feed needs none)
            '<?xml version="1.0"?><!DOCTYPE workzag-jobs><workzag-jobs/>',
            "text/xml",
            "document type declaration",
        ),
        (
            '<!DOCTYPE workzag-jobs PUBLIC "-//X//DTD X//EN" "http://127.0.0.1/x.dtd">'
            "<workzag-jobs/>",
            "application/xml",
            "document type declaration",
        ),
        ("<workzag-jobs><position>", "text/xml", "malformed XML"),
        ('{"positions": []}', "application/json", "application/json"),
    ],
)
def test_personio_refuses_what_is_not_its_feed(
    body: str | bytes, content_type: str, message: str
) -> None:
    from monitor.errors import MonitorError

    source = REGISTRY.get("personio")
    with pytest.raises(MonitorError, match=message):
        source.parse(_page(PERSONIO, body, content_type), url=PERSONIO)


def test_teamtailor_takes_the_job_number_from_the_url_and_skips_nameless_items() -> None:
    feed = {
        "items": [
            {
                "title": "Data Analyst",
                "url": "https://northwind.teamtailor.com/jobs/42-data-analyst",
            },
            {"title": "", "url": "https://northwind.teamtailor.com/jobs/43-x"},
            {"id": "x", "title": "No number", "url": "https://example.com/elsewhere"},
            "not an item",
        ]
    }
    url = "https://northwind.teamtailor.com/jobs"
    (posting,) = REGISTRY.get("teamtailor").parse(_page(url, json.dumps(feed)), url=url)
    assert posting.source_id == "northwind:42"


def test_teamtailor_structured_pay_wins_and_a_hybrid_role_is_not_a_workplace() -> None:
    designer, sre, technician = read(
        "teamtailor/jobs.json", "https://northwind.teamtailor.com/jobs", "application/feed+json"
    )
    assert salaries(designer) == [(Decimal(45000), Decimal(55000), "SEK", PayPeriod.MONTH, "")]
    assert designer.provenance.source_of("salary") == "JobPosting baseSalary"
    assert sre.remote.kind is RemoteKind.REMOTE
    assert sre.remote.details == ("remote within Sweden",)
    assert technician.remote.kind is RemoteKind.ONSITE  # "a hybrid role for someone who loves both"


@pytest.mark.parametrize(
    ("location_type", "is_remote", "kind"),
    [
        ("0", None, RemoteKind.ONSITE),
        ("1", None, RemoteKind.REMOTE),
        ("2", None, RemoteKind.HYBRID),
        ("", True, RemoteKind.REMOTE),
        ("", None, RemoteKind.UNKNOWN),
    ],
)
def test_bamboohr_location_type(
    location_type: str, is_remote: bool | None, kind: RemoteKind
) -> None:
    listing = {
        "result": [
            {
                "id": "9",
                "jobOpeningName": "Analyst",
                "locationType": location_type,
                "isRemote": is_remote,
                "location": {"city": "Boise", "state": "Idaho"},
            }
        ]
    }
    url = "https://northwind.bamboohr.com/careers"
    (posting,) = REGISTRY.get("bamboohr").parse(_page(url, json.dumps(listing)), url=url)
    assert posting.remote.kind is kind
    assert posting.locations == ("Boise, Idaho",)


def test_bamboohr_job_reads_compensation_and_requirements() -> None:
    (posting,) = read("bamboohr/detail.json", "https://northwind.bamboohr.com/careers/57")
    assert posting.source_id == "northwind:57"
    assert salaries(posting) == [(Decimal(70000), Decimal(85000), "USD", PayPeriod.YEAR, "")]
    assert posting.requirements.minimum[0] == "3+ years in customer success for B2B software"
    assert posting.remote.kind is RemoteKind.HYBRID


def test_every_source_has_url_shapes_and_detection_cases() -> None:
    detected = {case.values[0]["kind"] for case in load_cases("urls.yaml")}
    for source in REGISTRY:
        assert source.url_shapes, source.kind
        assert source.kind in detected, source.kind


def test_features_lists_each_source_with_its_url_shapes() -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    output = CliRunner().invoke(cli, ["features"]).output
    for source in REGISTRY:
        assert f"source  {source.kind}" in output
        for shape in source.url_shapes:
            assert shape in output
    discovered = output.split("discover ", 1)[1]
    for system in ("Greenhouse", "Workday", "JOIN", "ADP Workforce Now", "Taleo"):
        assert system in " ".join(discovered.split()), system


@pytest.mark.parametrize(
    ("title", "trimmed"),
    [
        ("Robotics Field Technician Job Details | Northwind Robotics", "Robotics Field Technician"),
        ("Robotics Field Technician Job Details", "Robotics Field Technician"),
        ("Data Analyst | Northwind", "Data Analyst | Northwind"),  # no "Job Details": as written
    ],
)
def test_successfactors_page_titles_lose_their_suffix(title: str, trimmed: str) -> None:
    from monitor.sources.hosted import _trimmed

    assert _trimmed(title) == trimmed


def test_hosted_pages_keep_their_job_id_whatever_the_slug_or_tracking() -> None:
    first = "https://northwind.breezy.hr/p/3f9a1c2b7d01-embedded-software-engineer"
    renamed = "https://northwind.breezy.hr/p/3f9a1c2b7d01-senior-embedded-engineer?utm_source=x"
    assert REGISTRY.detect(first).source_id(first) == REGISTRY.detect(renamed).source_id(renamed)
    icims = "https://careers-northwind.icims.com/jobs/10452/a/job?utm_campaign=y"
    assert REGISTRY.detect(icims).source_id(icims) == "careers-northwind:10452"


def test_breezy_board_reads_remote_from_its_location() -> None:
    embedded, support = read("hosted/breezy-board.json", "https://northwind.breezy.hr/")
    assert support.remote.kind is RemoteKind.REMOTE
    assert embedded.department == "Engineering"
    assert salaries(embedded) == [(Decimal(130000), Decimal(160000), "USD", PayPeriod.YEAR, "")]
    with pytest.raises(Exception, match="text/html"):
        REGISTRY.get("breezy").parse(
            _page("https://northwind.breezy.hr/", "<html></html>", "text/html"),
            url="https://northwind.breezy.hr/",
        )


def test_workday_postings_link_back_to_the_site_they_were_read_from() -> None:
    on_site = read(
        "workday/jobs.json", "https://wd3.myworkdaysite.com/recruiting/northwind/External_Careers"
    )
    assert on_site[0].url == (
        "https://wd3.myworkdaysite.com/recruiting/northwind/External_Careers"
        "/job/USA-TX-Austin/Robotics-Software-Engineer_R-0042"
    )
    on_jobs = read("workday/jobs.json", "https://northwind.wd5.myworkdayjobs.com/External_Careers")
    assert on_jobs[0].url.startswith(
        "https://northwind.wd5.myworkdayjobs.com/External_Careers/job/"
    )
    assert on_site[0].source_id == on_jobs[0].source_id  # the same posting either way


FRONTED = "https://careers.northwind.example/en-US/External_Careers"
SETTINGS_PAGE = (
    Path(__file__).resolve().parents[2] / "seeds/workday/fronted-site.html"
).read_text()


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (SETTINGS_PAGE, ("northwind", "External_Careers")),
        ('<script>window.workday={"tenant":"acme","siteId":"Jobs"}</script>', ("acme", "Jobs")),
        ("<script>window.workday = {siteId: 'Ext', tenant: 'a-b.c'};</script>", ("a-b.c", "Ext")),
        ('<script>window.workday = {tenant: "acme"};</script>', None),  # no site named
        ('<script>var tenant = "acme", siteId = "Jobs";</script>', None),  # not the settings
        ("<p>tenant: 'acme', siteId: 'Jobs'</p>", None),
    ],
)
def test_workday_settings_name_the_tenant_and_site(
    html: str, expected: tuple[str, str] | None
) -> None:
    from monitor.sources.workday import settings

    assert settings(html) == expected


def test_a_workday_site_on_its_own_domain_is_known_by_its_page() -> None:
    page = _page(FRONTED, SETTINGS_PAGE, "text/html")
    claimant = REGISTRY.claimant(FRONTED, page)
    assert claimant is not None
    assert claimant.kind == "workday"
    # Another site's settings, a page without them, or a URL of another shape: not claimed.
    assert REGISTRY.claimant("https://careers.northwind.example/en-US/Other", page) is None
    plain = _page(FRONTED, "<html><title>Careers</title></html>", "text/html")
    assert REGISTRY.claimant(FRONTED, plain) is None
    as_json = _page(FRONTED, SETTINGS_PAGE, "application/json")
    assert REGISTRY.claimant(FRONTED, as_json) is None


def test_a_workday_page_read_as_a_page_says_how_to_watch_it() -> None:
    page = _page(FRONTED, SETTINGS_PAGE, "text/html")
    with pytest.raises(Exception, match='source = "workday"') as raised:
        REGISTRY.get("html").parse(page, url=FRONTED)
    assert "tenant 'northwind', site 'External_Careers'" in str(raised.value)


def test_a_fronted_workday_site_reads_its_page_then_the_api_on_its_domain() -> None:
    from monitor.sources.workday import WorkdaySource

    source = WorkdaySource()
    first = source.first_request(FRONTED)
    assert (first.url, first.method, first.conditional) == (FRONTED, "GET", False)
    api = source.next_request(FRONTED, first, _page(FRONTED, SETTINGS_PAGE, "text/html"))
    assert api is not None
    assert api.method == "POST"
    assert api.url == "https://careers.northwind.example/wday/cxs/northwind/External_Careers/jobs"
    job_url = f"{FRONTED}/job/Austin-TX/Robotics-Engineer_R-0042"
    job = source.next_request(
        job_url, source.first_request(job_url), _page(job_url, SETTINGS_PAGE, "text/html")
    )
    assert job is not None
    assert job.url == (
        "https://careers.northwind.example/wday/cxs/northwind/External_Careers"
        "/job/Austin-TX/Robotics-Engineer_R-0042"
    )
    with pytest.raises(Exception, match=r"no window\.workday settings"):
        source.next_request(FRONTED, first, _page(FRONTED, "<html></html>", "text/html"))


def _lever_page(workplace: str, paragraph: str) -> FetchedPage:
    job = {
        "id": "d1", "text": "Support Engineer", "categories": {"location": "Remote - US"},
        "workplaceType": workplace, "description": f"<p>We build tools.</p><p>{paragraph}</p>",
    }  # fmt: skip
    return FetchedPage(
        url="https://api.lever.co/v0/postings/northwind?mode=json", status=200,
        content_type="application/json", body=json.dumps([job]).encode(),
    )  # fmt: skip


def test_a_workplace_field_gives_the_kind_and_the_text_its_rules() -> None:
    source = SourceRegistry.default().detect("https://jobs.lever.co/northwind")
    before, after = (
        source.parse(_lever_page("remote", text), url="https://jobs.lever.co/northwind")[0]
        for text in (
            "This role is remote within the United States.",
            "This role is remote within US or Canadian time zones; the office is optional.",
        )
    )
    assert before.remote.kind is after.remote.kind is RemoteKind.REMOTE
    assert before.remote.details == ("remote within United States",)
    assert sorted(after.remote.details) == [
        "office optional",
        "time zones: United States, Canada",
    ]
    assert after.provenance.source_of("remote") == "workplaceType field and description text"
    assert after.provenance.source_of("remote details") == "description text"


def test_jsonld_regions_and_the_texts_are_both_kept_when_they_disagree() -> None:
    data = {
        "@context": "https://schema.org", "@type": "JobPosting", "title": "Data Engineer",
        "jobLocationType": "TELECOMMUTE", "applicantLocationRequirements": {"name": "USA"},
        "description": "<p>This role is fully remote within the US or Canada.</p>",
    }  # fmt: skip
    html = (
        f'<html><head><script type="application/ld+json">{json.dumps(data)}</script></head></html>'
    )
    page = FetchedPage(
        url="https://jobs.example/1", status=200, content_type="text/html", body=html.encode()
    )
    (posting,) = SourceRegistry.default().detect(page.url).parse(page, url=page.url)
    assert posting.remote.kind is RemoteKind.REMOTE
    assert posting.remote.details == (
        "remote within United States, Canada",
        "remote within United States",
    )
    assert posting.provenance.source_of("remote details") == (
        "page text and JSON-LD applicantLocationRequirements"
    )
    assert posting.provenance.disagreements == (
        "remote regions: the JSON-LD applicantLocationRequirements says United States, "
        "text says United States, Canada; kept both",
    )


def test_a_remote_paragraph_outside_the_jsonld_description_is_read() -> None:
    """JSON-LD states the kind and a short description; the page's own text has the rules."""
    data = {
        "@context": "https://schema.org", "@type": "JobPosting", "title": "Data Engineer",
        "jobLocationType": "TELECOMMUTE", "description": "<p>Join our data team.</p>",
    }  # fmt: skip
    body = "<main><p>Remote within the EU, with up to 20% travel.</p></main>"
    html = (
        f'<html><head><script type="application/ld+json">{json.dumps(data)}</script></head>'
        f"<body>{body}</body></html>"
    )
    page = FetchedPage(
        url="https://jobs.example/2", status=200, content_type="text/html", body=html.encode()
    )
    (posting,) = SourceRegistry.default().detect(page.url).parse(page, url=page.url)
    assert posting.remote.kind is RemoteKind.REMOTE
    assert posting.remote.details == ("remote within EU", "travel up to 20%")
