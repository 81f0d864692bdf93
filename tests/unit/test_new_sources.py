"""Oracle Recruiting Cloud, Eightfold and Rippling: what their seeds' goldens do not
show on their own (paging, a facet that names every requisition's workplace, pay in a
flexfield, an error envelope, a work-site field against the workplace option, one
Rippling row per place)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from monitor.errors import ParseError
from monitor.model import PayPeriod, RemoteKind
from monitor.sources import SourceRegistry
from monitor.sources.base import FetchedPage, FetchRequest
from monitor.sources.eightfold import work_site_kind
from monitor.sources.oracle import facet_workplace, flexfield_pay
from monitor.sources.rippling import pay_ranges
from tests.conftest import SEEDS
from tests.goldens import read

REGISTRY = SourceRegistry.default()
ORACLE_BOARD = "https://jpmc.fa.oraclecloud.com/hcmUI/CandidateExperience/en/sites/CX_1001"
EIGHTFOLD_BOARD = "https://paypal.eightfold.ai/careers?domain=paypal.com"


def _seed(name: str) -> Any:
    return json.loads((SEEDS / name).read_text(encoding="utf-8"))


def _page(data: Any, url: str = "https://api.example/") -> FetchedPage:
    return FetchedPage(
        url=url, status=200, content_type="application/json", body=json.dumps(data).encode()
    )


def _pay(salaries: Any) -> list[tuple[Any, ...]]:
    return [(s.min, s.max, s.currency, s.period) for s in salaries]


# -- Oracle Recruiting Cloud ----------------------------------------------------------


def _oracle_search(total: int, ids: range) -> dict[str, Any]:
    search = _seed("oracle/search.json")
    item = search["items"][0]
    template = item["requisitionList"][0]
    item["TotalJobsCount"] = total
    item["requisitionList"] = [{**template, "Id": str(n), "Title": f"Job {n}"} for n in ids]
    return search


def test_oracle_board_is_read_page_after_page_until_its_total() -> None:
    source = REGISTRY.get("oracle")
    first = source.first_request(ORACLE_BOARD)  # type: ignore[attr-defined]
    assert "offset=0" in first.url
    assert "limit=25" in first.url
    pages = [_page(_oracle_search(60, range(0, 25)))]
    second = source.next_request(ORACLE_BOARD, first, pages[0])  # type: ignore[attr-defined]
    assert isinstance(second, FetchRequest)
    assert "offset=25" in second.url
    pages.append(_page(_oracle_search(60, range(25, 50))))
    third = source.next_request(ORACLE_BOARD, second, pages[1])  # type: ignore[attr-defined]
    assert third is not None
    assert "offset=50" in third.url
    pages.append(_page(_oracle_search(60, range(50, 60))))
    assert source.next_request(ORACLE_BOARD, third, pages[2]) is None  # type: ignore[attr-defined]
    merged = source.merge(ORACLE_BOARD, pages)  # type: ignore[attr-defined]
    ids = [p.source_id.rsplit(":", 1)[-1] for p in source.parse(merged, url=ORACLE_BOARD)]
    assert ids == [str(n) for n in range(60)]


def _without_total(kind: str, ids: range) -> dict[str, Any]:
    if kind == "oracle":
        search = _oracle_search(0, ids)
        del search["items"][0]["TotalJobsCount"]
        return search
    search = _eightfold_search(0, ids)
    del search["data"]["count"]
    return search


@pytest.mark.parametrize(
    ("kind", "board", "size"), [("oracle", ORACLE_BOARD, 25), ("eightfold", EIGHTFOLD_BOARD, 10)]
)
def test_a_board_without_its_total_pages_on_while_pages_are_full(
    kind: str, board: str, size: int
) -> None:
    """No total in the answer: a full page may have more behind it (the fetcher's page
    limit bounds it), a short or empty one is the last."""
    source = REGISTRY.get(kind)
    first = source.first_request(board)  # type: ignore[attr-defined]
    full = _page(_without_total(kind, range(1, size + 1)))
    second = source.next_request(board, first, full)  # type: ignore[attr-defined]
    assert second is not None
    assert f"{'offset' if kind == 'oracle' else 'start'}={size}" in second.url
    short = _page(_without_total(kind, range(size + 1, size + 4)))
    assert source.next_request(board, second, short) is None  # type: ignore[attr-defined]
    empty = _page(_without_total(kind, range(0)))
    assert source.next_request(board, first, empty) is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kind", "board", "job"),
    [
        ("oracle", ORACLE_BOARD, f"{ORACLE_BOARD}/job/210711544"),
        ("eightfold", EIGHTFOLD_BOARD, "https://paypal.eightfold.ai/careers/job/274919097057"),
    ],
)
def test_a_paged_boards_first_page_is_never_conditional(kind: str, board: str, job: str) -> None:
    """A 304 on a board's first page would hide changes on its later pages; one job's
    answer may be a 304."""
    source = REGISTRY.get(kind)
    assert source.first_request(board).conditional is False  # type: ignore[attr-defined]
    assert source.first_request(job).conditional is True  # type: ignore[attr-defined]


def test_oracle_board_stops_on_an_empty_page() -> None:
    source = REGISTRY.get("oracle")
    first = source.first_request(ORACLE_BOARD)  # type: ignore[attr-defined]
    empty = _page(_oracle_search(7333, range(0)))
    assert source.next_request(ORACLE_BOARD, first, empty) is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("facet", "total", "kind"),
    [
        ([{"Id": "ORA_ON_SITE", "Name": "On-site", "TotalCount": 7333}], 7333, RemoteKind.ONSITE),
        ([{"Id": "ORA_REMOTE", "Name": "", "TotalCount": 12}], 12, RemoteKind.REMOTE),
        ([{"Id": "ORA_HYBRID", "Name": "Hybrid", "TotalCount": 12}], 12, RemoteKind.HYBRID),
        # One type for some requisitions only: it says nothing of any one of them.
        ([{"Id": "ORA_ON_SITE", "Name": "On-site", "TotalCount": 11}], 12, RemoteKind.UNKNOWN),
        (
            [
                {"Id": "ORA_ON_SITE", "Name": "On-site", "TotalCount": 6},
                {"Id": "ORA_REMOTE", "Name": "Remote", "TotalCount": 6},
            ],
            12,
            RemoteKind.UNKNOWN,
        ),
        ([], 12, RemoteKind.UNKNOWN),
    ],
    ids=["all-on-site", "all-remote-by-code", "all-hybrid", "some", "two-types", "none"],
)
def test_oracle_workplace_facet(facet: list[dict[str, Any]], total: int, kind: RemoteKind) -> None:
    assert facet_workplace({"workplaceTypesFacet": facet, "TotalJobsCount": total}) is kind


def test_oracle_own_workplace_type_beats_the_facet() -> None:
    search = _seed("oracle/search.json")
    search["items"][0]["requisitionList"][1]["WorkplaceType"] = "Hybrid"
    postings = REGISTRY.get("oracle").parse(_page(search), url=ORACLE_BOARD)
    assert [p.remote.kind for p in postings] == [
        RemoteKind.ONSITE,
        RemoteKind.HYBRID,
        RemoteKind.ONSITE,
    ]


@pytest.mark.parametrize(
    ("fields", "pay"),
    [
        (
            [{"Prompt": "Base Pay/Salary", "Value": "New York,NY $205,000.00-$300,000.00"}],
            [(Decimal(205000), Decimal(300000), "USD", PayPeriod.YEAR)],
        ),
        (
            [{"Prompt": "Hourly Rate", "Value": "$18.50 - $24.00"}],
            [(Decimal("18.5"), Decimal(24), "USD", PayPeriod.HOUR)],
        ),
        # A flexfield about something else, or one that names no amount, is no pay.
        ([{"Prompt": "Referral bonus", "Value": "$5,000"}], []),
        ([{"Prompt": "Salary", "Value": "Competitive"}], []),
        ([], []),
        # Pay words, but not the job's pay: the salary field after them is read.
        (
            [
                {"Prompt": p, "Value": "$2.00"}
                for p in (
                    "Shift Differential Rate",
                    "Employee Referral Pay",
                    "Sign-on Bonus Pay",
                    "Signing Compensation",
                    "Incentive Pay",
                    "Car Allowance Rate",
                )
            ]
            + [{"Prompt": "Pay Range", "Value": "$90,000 - $110,000"}],
            [(Decimal(90000), Decimal(110000), "USD", PayPeriod.YEAR)],
        ),
    ],
    ids=["base-pay-with-city", "hourly", "not-pay", "no-amount", "none", "not-the-jobs-pay"],
)
def test_oracle_pay_flexfield(fields: list[dict[str, Any]], pay: list[tuple[Any, ...]]) -> None:
    found, _prompt = flexfield_pay({"requisitionFlexFields": fields})
    assert _pay(found) == pay


def test_oracle_flexfield_pay_wins_over_the_description() -> None:
    details = _seed("oracle/details-210711544.json")
    item = details["items"][0]
    item["ExternalDescriptionStr"] += "<p>Pay range: $90,000 - $110,000 per year.</p>"
    url = f"{ORACLE_BOARD}/job/210711544"
    (job,) = REGISTRY.get("oracle").parse(_page(details), url=url)
    assert _pay(job.salaries) == [(Decimal(205000), Decimal(300000), "USD", PayPeriod.YEAR)]
    item["requisitionFlexFields"] = []
    (job,) = REGISTRY.get("oracle").parse(_page(details), url=url)
    assert _pay(job.salaries) == [(Decimal(90000), Decimal(110000), "USD", PayPeriod.YEAR)]


def test_oracle_details_answer_without_items_is_no_posting() -> None:
    url = f"{ORACLE_BOARD}/job/210711544"
    assert REGISTRY.get("oracle").parse(_page({"items": [], "count": 0}), url=url) == []


def test_oracle_search_without_items_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        REGISTRY.get("oracle").parse(_page({"items": []}), url=ORACLE_BOARD)


# -- Eightfold ------------------------------------------------------------------------


def _eightfold_search(count: int, ids: range) -> dict[str, Any]:
    search = _seed("eightfold/search-paypal.json")
    template = search["data"]["positions"][0]
    search["data"]["count"] = count
    search["data"]["positions"] = [{**template, "id": n, "name": f"Job {n}"} for n in ids]
    return search


def test_eightfold_board_is_read_ten_at_a_time_until_its_count() -> None:
    source = REGISTRY.get("eightfold")
    first = source.first_request(EIGHTFOLD_BOARD)  # type: ignore[attr-defined]
    assert "start=0" in first.url
    assert "domain=paypal.com" in first.url
    pages = [_page(_eightfold_search(23, range(1, 11)))]
    second = source.next_request(EIGHTFOLD_BOARD, first, pages[0])  # type: ignore[attr-defined]
    assert second is not None
    assert "start=10" in second.url
    assert "domain=paypal.com" in second.url
    pages.append(_page(_eightfold_search(23, range(11, 21))))
    third = source.next_request(EIGHTFOLD_BOARD, second, pages[1])  # type: ignore[attr-defined]
    assert third is not None
    assert "start=20" in third.url
    pages.append(_page(_eightfold_search(23, range(21, 24))))
    assert source.next_request(EIGHTFOLD_BOARD, third, pages[2]) is None  # type: ignore[attr-defined]
    merged = source.merge(EIGHTFOLD_BOARD, pages)  # type: ignore[attr-defined]
    postings = source.parse(merged, url=EIGHTFOLD_BOARD)
    assert [p.title for p in postings] == [f"Job {n}" for n in range(1, 24)]
    assert postings[0].url == "https://paypal.eightfold.ai/careers/job/1?domain=paypal.com"


@pytest.mark.parametrize(
    "envelope",
    [
        {"status": 404, "error": {"message": "", "body": ""}, "data": None},
        {"status": 200, "error": {"message": "Position not found", "body": ""}, "data": {}},
        {"status": 200, "error": {"message": ""}, "data": None},
        ["not", "an", "envelope"],
    ],
    ids=["error-status", "error-message", "no-data", "not-an-object"],
)
def test_eightfold_error_envelope_is_a_failed_read(envelope: Any) -> None:
    with pytest.raises(ParseError):
        REGISTRY.get("eightfold").parse(_page(envelope), url=EIGHTFOLD_BOARD)


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"efcustomTextWorkSite": ["0 days / week in-office – remote"]}, RemoteKind.REMOTE),
        ({"efcustomTextWorkSite": ["3 days / week in-office"]}, RemoteKind.HYBRID),
        ({"efcustomTextWorkSite": ["5 days / week in-office"]}, RemoteKind.ONSITE),
        ({"efcustomTextWorkSite": ["Up to 50% work from home"]}, RemoteKind.HYBRID),
        ({"efcustomTextWorkSite": ["Up to 100% work from home"]}, RemoteKind.REMOTE),
        ({"efcustomTextWorkSite": ["Microsoft on-site only"]}, RemoteKind.ONSITE),
        ({"efcustomTextWorkSite": []}, RemoteKind.UNKNOWN),
        # Other custom fields say nothing of the workplace.
        ({"efcustomTextRequiredTravel": ["Less than 25%"]}, RemoteKind.UNKNOWN),
        ({"workLocationOption": "remote"}, RemoteKind.UNKNOWN),
    ],
    ids=["zero-days", "three-days", "five-days", "half-home", "all-home", "on-site-only",
         "empty", "travel", "not-custom"],
)  # fmt: skip
def test_eightfold_work_site_field(fields: dict[str, Any], kind: RemoteKind) -> None:
    assert work_site_kind(fields)[0] is kind


def test_eightfold_work_site_field_wins_over_the_workplace_option() -> None:
    url = "https://apply.careers.microsoft.com/api/pcsx/position_details?position_id=1970393556942068&domain=microsoft.com"
    (job,) = read("eightfold/position-microsoft.json", url)
    assert job.remote.kind is RemoteKind.REMOTE  # "0 days / week in-office – remote"
    assert job.provenance.sources[1] == ("remote", "efcustomTextWorkSite")
    position = _seed("eightfold/position-microsoft.json")
    del position["data"]["efcustomTextWorkSite"]
    (job,) = REGISTRY.get("eightfold").parse(_page(position), url=url)
    assert job.remote.kind is RemoteKind.ONSITE  # workLocationOption "onsite"


def test_eightfold_position_details_url_without_a_position_is_not_a_board() -> None:
    url = "https://paypal.eightfold.ai/api/pcsx/position_details?domain=paypal.com"
    assert REGISTRY.detect(url).kind == "html"


def test_eightfold_position_on_an_employer_host_is_read_when_named() -> None:
    url = "https://apply.careers.microsoft.com/careers/job/1970393556942068"
    source = REGISTRY.get("eightfold")
    assert not source.matches(url)  # nothing in the URL says Eightfold
    page = _page(_seed("eightfold/position-microsoft.json"), url=source.fetch_url(url))
    (job,) = source.parse(page, url=url)
    assert job.source_id == "apply.careers.microsoft.com:1970393556942068"
    assert _pay(job.salaries)[0] == (Decimal(102100), Decimal(202200), "USD", PayPeriod.YEAR)


def test_eightfold_perks_and_videos_are_not_the_posting() -> None:
    url = "https://paypal.eightfold.ai/careers/job/274919097057?domain=paypal.com"
    position = _seed("eightfold/position-paypal.json")
    (before,) = REGISTRY.get("eightfold").parse(_page(position), url=url)
    extra = copy.deepcopy(position)
    extra["data"]["positionExtraDetails"]["perks"] = ["Fully remote, $60 million bonus pool"]
    (after,) = REGISTRY.get("eightfold").parse(_page(extra), url=url)
    assert after == before


# -- Rippling -------------------------------------------------------------------------


def test_rippling_rows_of_one_job_are_one_posting_with_its_places() -> None:
    rows = _seed("rippling/board.json")
    again = {**rows[0], "workLocation": {"label": "San Antonio, TX", "id": "San Antonio, TX"}}
    url = "https://ats.rippling.com/rippling/jobs"
    postings = REGISTRY.get("rippling").parse(_page([rows[0], rows[1], again]), url=url)
    assert [(p.title, p.locations) for p in postings] == [
        ("Account Executive, Broker Channel (Austin & San Antonio)", ("Austin, TX", "San Antonio, TX")),
        ("Account Executive, Broker Channel (Pittsburgh or Cleveland)", ("Cleveland, OH",)),
    ]  # fmt: skip


def test_rippling_remote_place_gives_the_remote_policy() -> None:
    rows = _seed("rippling/board.json")
    rows[1]["workLocation"] = {"label": "Remote (United States)", "id": "Remote (United States)"}
    url = "https://ats.rippling.com/rippling/jobs"
    postings = REGISTRY.get("rippling").parse(_page(rows), url=url)
    assert [p.remote.kind for p in postings] == [RemoteKind.UNKNOWN, RemoteKind.REMOTE]


@pytest.mark.parametrize(
    ("bands", "pay"),
    [
        (
            [{"currency": "USD", "frequency": "YEAR", "rangeStart": 90000, "rangeEnd": 110000},
             {"currency": "USD", "frequency": "YEAR", "rangeStart": 90000, "rangeEnd": 110000}],
            [(Decimal(90000), Decimal(110000), "USD", PayPeriod.YEAR)],
        ),
        (
            [{"currency": "USD", "frequency": "HOUR", "rangeStart": 18, "rangeEnd": 25}],
            [(Decimal(18), Decimal(25), "USD", PayPeriod.HOUR)],
        ),
        (
            [{"currency": "eur", "frequency": "ANNUAL", "rangeStart": 60000, "rangeEnd": 70000},
             {"currency": "GBP", "frequency": "MONTH", "rangeStart": 4000, "rangeEnd": 5000}],
            [(Decimal(60000), Decimal(70000), "EUR", PayPeriod.YEAR),
             (Decimal(4000), Decimal(5000), "GBP", PayPeriod.MONTH)],
        ),
        ([{"currency": "USD", "frequency": "YEAR", "rangeStart": None, "rangeEnd": 0}], []),
        ([], []),
        (None, []),
    ],
    ids=["same-range-per-place", "hourly", "two-currencies", "no-amount", "empty", "absent"],
)  # fmt: skip
def test_rippling_pay_ranges(bands: Any, pay: list[tuple[Any, ...]]) -> None:
    assert _pay(pay_ranges(bands)) == pay
