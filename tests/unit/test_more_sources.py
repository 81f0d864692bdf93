"""Pinpoint, Comeet, JOIN and ADP: what each reads beyond the goldens (hidden pay,
tokens, pages, cents, Markdown)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from monitor.errors import ParseError
from monitor.model import PayPeriod, RemoteKind
from monitor.sources.adp import AdpSource
from monitor.sources.base import FetchedPage, FetchRequest
from monitor.sources.comeet import ComeetSource, company_token
from monitor.sources.join import JoinSource, company_of, description_html, widget_company
from monitor.sources.pinpoint import PinpointSource
from tests.conftest import SEEDS
from tests.unit.test_extract_cases import load_cases

PINPOINT = "https://workwithus.pinpointhq.com/"
COMEET_PAGE = "https://www.comeet.com/jobs/wiliot/F6.003"
JOIN_BOARD = "https://join.com/companies/northwind-robotics"


def _page(url: str, body: Any, content_type: str = "application/json") -> FetchedPage:
    raw = body if isinstance(body, str) else json.dumps(body)
    return FetchedPage(url=url, status=200, content_type=content_type, body=raw.encode())


def _pinpoint(**fields: Any) -> Any:
    data = json.loads((SEEDS / "pinpoint" / "postings.json").read_text(encoding="utf-8"))
    data[1].update(fields)
    (_legal, posting) = PinpointSource().parse(_page(PINPOINT, {"data": data}), url=PINPOINT)
    return posting


def test_pinpoint_hidden_compensation_is_no_pay() -> None:
    assert _pinpoint(compensation_visible=False).salaries == ()
    (pay,) = _pinpoint().salaries
    assert (pay.min, pay.max, pay.currency, pay.period) == (70000, 90000, "GBP", PayPeriod.YEAR)


def test_pinpoint_workplace_text_when_the_type_is_missing() -> None:
    posting = _pinpoint(workplace_type=None, workplace_type_text="Hybrid")
    assert posting.remote.kind is RemoteKind.HYBRID
    assert _pinpoint(workplace_type="onsite").remote.kind is RemoteKind.ONSITE


def test_comeet_token_from_the_hosted_page() -> None:
    assert company_token('<script>COMPANY_DATA = {"token": "AB12", "uid": "F6.003"};</script>')
    assert company_token("<script>COMPANY_DATA = {token: 'CD34', x: [1]};</script>") == "CD34"
    assert company_token("<html>no settings</html>") is None


def test_comeet_hosted_position_reads_the_page_then_the_position() -> None:
    source, url = ComeetSource(), f"{COMEET_PAGE}/forward-deployed-engineer/18.767"
    first = source.first_request(url)
    assert (first.url, first.conditional) == (COMEET_PAGE, False)
    page = _page(COMEET_PAGE, '<script>COMPANY_DATA = {"token": "AB12"};</script>', "text/html")
    after = source.next_request(url, first, page)
    assert after is not None
    assert after.url == (
        "https://www.comeet.co/careers-api/2.0/company/F6.003/positions/18.767"
        "?token=AB12&details=true"
    )
    assert source.next_request(url, after, page) is None
    with pytest.raises(ParseError, match="COMPANY_DATA"):
        source.next_request(url, first, _page(COMEET_PAGE, "<html></html>", "text/html"))


def test_comeet_is_remote_speaks_only_without_a_workplace_type() -> None:
    positions = json.loads((SEEDS / "comeet" / "positions.json").read_text(encoding="utf-8"))
    positions[0].update(workplace_type=None)
    positions[0]["location"]["is_remote"] = True
    positions[1]["location"]["is_remote"] = True  # "On-site" stays
    url = COMEET_PAGE
    remote, onsite = ComeetSource().parse(_page(url, positions), url=url)
    assert (remote.remote.kind, onsite.remote.kind) == (RemoteKind.REMOTE, RemoteKind.ONSITE)


def test_comeet_sections_in_their_order_and_empty_ones_left_out() -> None:
    position = {
        "uid": "1.1", "name": "Engineer",
        "details": [
            {"name": "Requirements", "value": "<ul><li>Go</li></ul>", "order": 3},
            {"name": "Responsibilities", "value": None, "order": 2},
            {"name": "Description", "value": "<p>Pay: $100,000 - $120,000 per year.</p>", "order": 1},
        ],
        "company_referrals_reward": "10,000 ILS",
    }  # fmt: skip
    (posting,) = ComeetSource().parse(_page(COMEET_PAGE, [position]), url=COMEET_PAGE)
    assert posting.requirements.minimum == ("Go",)
    assert [(s.min, s.max, s.currency) for s in posting.salaries] == [(100000, 120000, "USD")]


PAY_TEXT = "<p>Pay: $100,000 - $120,000 per year.</p>"


def test_section_headers_are_text_not_markup() -> None:
    """A header is the board's text: '<!--' in it opens no comment that hides its section."""
    position = {
        "uid": "1.1",
        "name": "Engineer",
        "details": [{"name": "Pay <!--", "value": PAY_TEXT}],
    }
    (comeet,) = ComeetSource().parse(_page(COMEET_PAGE, [position]), url=COMEET_PAGE)
    pinpoint = _pinpoint(
        compensation_visible=False, description="", benefits="",
        key_responsibilities=PAY_TEXT, key_responsibilities_header="Pay <!--",
    )  # fmt: skip
    for posting in (comeet, pinpoint):
        assert [(s.min, s.max) for s in posting.salaries] == [(100000, 120000)]


@pytest.mark.parametrize(
    "body", [{"error": "invalid token", "status": 403}, {"uid": "1.1", "name": "x"}, "null"]
)
def test_comeet_board_answer_that_is_no_list_is_a_parse_error(body: Any) -> None:
    url = "https://www.comeet.co/careers-api/2.0/company/F6.003/positions?token=AB12"
    with pytest.raises(ParseError, match="positions list"):
        ComeetSource().parse(_page(url, body), url=url)


def test_comeet_positions_without_a_uid_are_no_postings() -> None:
    listed = [{"name": "No uid"}, {"uid": "", "name": "Empty"}, {"uid": "1.1", "name": "Kept"}]
    assert [p.title for p in ComeetSource().parse(_page(COMEET_PAGE, listed), url=COMEET_PAGE)] == [
        "Kept"
    ]
    job = "https://www.comeet.co/careers-api/2.0/company/F6.003/positions/1.1?token=AB12"
    error = {"error": "invalid token", "status": 403}
    assert ComeetSource().parse(_page(job, error), url=job) == []


def _company_page(company: dict[str, Any]) -> str:
    state = {"props": {"pageProps": {"initialState": {"company": company}}}}
    return f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(state)}</script>'


def test_join_company_page_names_the_company_or_nothing() -> None:
    own = {"id": 7, "name": "Northwind", "domain": "northwind-robotics"}
    assert company_of(_company_page(own), "northwind-robotics") == own
    # JOIN answers an unknown name with a placeholder company: not this board's.
    other = {"id": 233, "name": "JOIN", "domain": "join"}
    assert company_of(_company_page(other), "northwind-robotics") is None
    assert company_of("<html></html>", "northwind-robotics") is None
    source = JoinSource()
    first = source.first_request(JOIN_BOARD)
    with pytest.raises(ParseError, match="company id"):
        source.next_request(JOIN_BOARD, first, _page(JOIN_BOARD, _company_page(other), "text/html"))


def test_join_pages_until_the_page_count() -> None:
    source = JoinSource()
    page = FetchRequest(url="x", context={"page": 2, "company_data": {"id": 7}})
    listed = {"items": [{"id": 1}], "pagination": {"pageCount": 3}}
    after = source.next_request(JOIN_BOARD, page, _page("x", listed))
    assert after is not None
    assert after.url.endswith("/companies/7/jobs?locale=en&page=3&pageSize=5")
    last = {"items": [{"id": 1}], "pagination": {"pageCount": 2}}
    assert source.next_request(JOIN_BOARD, page, _page("x", last)) is None
    empty = {"items": [], "pagination": {"pageCount": 9}}
    assert source.next_request(JOIN_BOARD, page, _page("x", empty)) is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"salaryAmountFrom": {"amount": 1850, "currency": "eur"}, "salaryFrequency": "PER_HOUR"},
         [(Decimal("18.5"), None, "EUR", PayPeriod.HOUR)]),
        ({"salaryAmountTo": {"amount": 400000, "currency": "CHF"}, "salaryFrequency": "PER_MONTH"},
         [(None, Decimal(4000), "CHF", PayPeriod.MONTH)]),
        ({"salaryFrequency": "PER_YEAR"}, []),  # the default frequency alone is no pay
        ({"salaryAmountFrom": {"amount": 0, "currency": "EUR"}}, []),
        # 1e400 is valid JSON, read as infinity: no amount, like NaN
        ({"salaryAmountFrom": {"amount": float("nan")}, "salaryAmountTo": {"amount": 1e400}}, []),
    ],
)  # fmt: skip
def test_join_pay_in_cents(fields: dict[str, Any], expected: list[tuple[Any, ...]]) -> None:
    item = {"id": 5, "idParam": "5-x", "title": "Engineer", **fields}
    (posting,) = JoinSource().parse(_page(JOIN_BOARD, {"items": [item]}), url=JOIN_BOARD)
    assert [(s.min, s.max, s.currency, s.period) for s in posting.salaries] == expected


@pytest.mark.parametrize("case", load_cases("join_markdown.yaml"))
def test_join_description_markdown(case: dict[str, Any]) -> None:
    assert description_html(case["input"]) == case["expected"]


def test_join_job_in_parts_reads_its_requirements_part() -> None:
    job = {
        "id": 5, "idParam": "5-engineer", "title": "Engineer",
        "intro": "We build robots.", "tasks": "- Write C++",
        "requirements": "- 3+ years of C++\n- ROS 2",
    }  # fmt: skip
    url = "https://join.com/companies/northwind-robotics/5-engineer"
    (posting,) = JoinSource().parse(_page(url, job), url=url)
    assert posting.requirements.minimum == ("3+ years of C++", "ROS 2")


def test_join_widget_token_names_the_company_and_asks_with_the_token() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJjb21wYW55UHVibGljSWQiOiJhYmMxMjMifQ.c2ln"
    url = f"https://join.com/api/widget/bundle/{token}"
    source = JoinSource()
    assert source.source_id(url) == "board:abc123"
    first = source.first_request(url)
    assert (first.url, dict(first.headers)) == (
        "https://join.com/api/widget/jobs?page=1",
        {"access-token": token},
    )
    more = {"jobs": [{"title": "x"}], "pagination": {"pageCount": 2}}
    after = source.next_request(url, first, _page(first.url, more))
    assert after is not None
    assert (after.url, dict(after.headers)) == (
        "https://join.com/api/widget/jobs?page=2",
        {"access-token": token},
    )
    assert not source.matches("https://join.com/api/widget/bundle/not-a-token")
    # A job whose URL names no JOIN job is no posting.
    listed = {"jobs": [{"title": "Elsewhere", "url": "https://example.com/jobs/1"}]}
    assert source.parse(_page(first.url, listed), url=url) == []


@pytest.mark.parametrize("key", ["jobs", "items"])
def test_join_widget_pages_are_merged_under_either_key(key: str) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJjb21wYW55UHVibGljSWQiOiJhYmMxMjMifQ.c2ln"
    url = f"https://join.com/api/widget/bundle/{token}"
    source = JoinSource()
    first = source.first_request(url)
    pages = [
        {key: [{"title": f"Job {n}", "url": f"https://join.com/companies/acme/{n}-job"}],
         "pagination": {"pageCount": 2}}
        for n in (1, 2)
    ]  # fmt: skip
    assert source.next_request(url, first, _page(first.url, pages[0])) is not None
    merged = source.merge(url, [_page(first.url, page) for page in pages])
    assert [p.source_id for p in source.parse(merged, url=url)] == ["acme:1", "acme:2"]


@pytest.mark.parametrize("company_id", ["../../admin", "7/x", "٧", -1, True, 7.5, None])
def test_join_company_id_must_be_digits(company_id: Any) -> None:
    """The id goes into the jobs API's path: only digits are an id."""
    company = {"id": company_id, "name": "Northwind", "domain": "northwind-robotics"}
    assert company_of(_company_page(company), "northwind-robotics") is None
    digits = {**company, "id": "7"}
    assert company_of(_company_page(digits), "northwind-robotics") == digits


def _claims(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 3000,  # past the recursion limit: RecursionError in json.loads
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b'{"companyPublicId":"abc123","pad":"' + b"x" * 4000 + b'"}',  # too long a token
        b'["companyPublicId"]',
        b'{"companyPublicId":"abc-123"}',
    ],
    ids=["deep-list", "deep-object", "long", "a-list", "not-alphanumeric"],
)
def test_join_widget_token_of_another_shape_is_no_join_url(raw: bytes) -> None:
    url = f"https://join.com/api/widget/bundle/eyJ.{_claims(raw)}.sig"
    assert widget_company(_claims(raw)) is None
    assert not JoinSource().matches(url)


ADP = (
    "https://workforcenow.adp.com/mascsr/default/mdf/recruitment/recruitment.html"
    "?cid=0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b&ccId=19000101_000001"
)


def _adp_job(**fields: Any) -> Any:
    job = json.loads((SEEDS / "adp" / "job.json").read_text(encoding="utf-8"))
    job.update(fields)
    url = f"{ADP}&jobId=9201366847617_1"
    (posting,) = AdpSource().parse(_page(url, job), url=url)
    return posting


def test_adp_pay_grade_hidden_or_hourly() -> None:
    assert _adp_job(compensationVisibleIndicator=False).salaries == ()
    hourly = {"codeFields": [{"nameCode": {"codeValue": "SalaryType"}, "shortName": "Hourly"}]}
    grade = {"minimumRate": {"amountValue": 18.5, "currencyCode": "usd"}}
    (pay,) = _adp_job(customFieldGroup=hourly, payGradeRange=grade).salaries
    assert (pay.min, pay.max, pay.currency, pay.period) == (
        Decimal("18.5"),
        None,
        "USD",
        PayPeriod.HOUR,
    )
    (by_size,) = _adp_job(customFieldGroup={}).salaries  # no SalaryType: read from its size
    assert by_size.period is PayPeriod.YEAR


def test_adp_pages_until_the_total() -> None:
    source = AdpSource()
    first = source.first_request(ADP)
    assert first.url.endswith("&$top=50&$skip=0")
    full = {
        "jobRequisitions": [{"itemID": str(n)} for n in range(50)],
        "meta": {"totalNumber": 120},
    }
    after = source.next_request(ADP, first, _page(first.url, full))
    assert after is not None
    assert after.url.endswith("&$top=50&$skip=50")
    last = {"jobRequisitions": [{"itemID": "x"}], "meta": {"totalNumber": 51}}
    assert source.next_request(ADP, after, _page(after.url, last)) is None
    assert not source.matches(ADP.replace("0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", "acme"))


@pytest.mark.parametrize(
    ("listed", "meta", "next_skip"),
    [
        (20, {"totalNumber": 120}, 20),  # a short page before the total: ask on
        (50, {"totalNumber": 50}, None),
        (0, {"totalNumber": 120}, None),  # an empty page ends it whatever the total says
        (20, {}, None),  # no total: a short page is the last
        (50, {}, 50),
        (20, {"totalNumber": "120"}, None),
    ],
    ids=[
        "short-before-total",
        "at-total",
        "empty",
        "short-no-total",
        "full-no-total",
        "total-text",
    ],
)
def test_adp_total_decides_where_it_is_given(
    listed: int, meta: dict[str, Any], next_skip: int | None
) -> None:
    source = AdpSource()
    first = source.first_request(ADP)
    body = {"jobRequisitions": [{"itemID": str(n)} for n in range(listed)], "meta": meta}
    after = source.next_request(ADP, first, _page(first.url, body))
    assert (after and after.context["skip"]) == next_skip


@pytest.mark.parametrize(
    "body", [[1, 2], '"text"', "null", {"items": {"a": 1}}, {"pagination": []}]
)
def test_paged_sources_take_any_json_between_pages(body: Any) -> None:
    """A page of any shape ends the paging (or is a ParseError), never a crash."""
    join_page = FetchRequest(url="x", context={"page": 1, "company_data": {"id": 7}})
    adp_first = AdpSource().first_request(ADP)
    assert JoinSource().next_request(JOIN_BOARD, join_page, _page("x", body)) is None
    assert AdpSource().next_request(ADP, adp_first, _page("x", body)) is None
    company = _page(JOIN_BOARD, "<html></html>", "text/html")
    joined = JoinSource().merge(JOIN_BOARD, [company, _page("x", body), _page("x", body)])
    assert JoinSource().parse(joined, url=JOIN_BOARD) == []
    merged = AdpSource().merge(ADP, [_page("x", body), _page("x", body)])
    assert AdpSource().parse(merged, url=ADP) == []
