from __future__ import annotations

from decimal import Decimal

import pytest
from selectolax.lexbor import LexborHTMLParser

from monitor.errors import ParseError, UnsupportedContent
from monitor.model import PayPeriod, RemoteKind
from monitor.sources import jsonld
from monitor.sources.base import FetchedPage
from monitor.sources.page import WebPageSource


def page(*blocks: str, body: str = "") -> LexborHTMLParser:
    scripts = "".join(f'<script type="application/ld+json">{b}</script>' for b in blocks)
    return LexborHTMLParser(f"<html><head>{scripts}</head><body>{body}</body></html>")


def test_malformed_block_does_not_hide_a_good_one() -> None:
    tree = page('{"@type": "JobPosting", "title": broken', '{"@type": "JobPosting", "title": "Ok"}')
    assert [jsonld.title(p) for p in jsonld.job_postings(tree)] == ["Ok"]


def test_graph_and_cdata_are_unwrapped() -> None:
    block = '<![CDATA[{"@graph": [{"@type": "Organization"}, {"@type": ["JobPosting"], "name": "Via name"}]}]]>'
    assert [jsonld.title(p) for p in jsonld.job_postings(page(block))] == ["Via name"]


def test_full_schema_type_url_is_accepted() -> None:
    tree = page('{"@type": "http://schema.org/JobPosting", "title": "T"}')
    assert len(jsonld.job_postings(tree)) == 1


@pytest.mark.parametrize(
    ("base_salary", "expected"),
    [
        pytest.param(
            {
                "@type": "MonetaryAmount",
                "currency": "usd",
                "value": {"minValue": 100000, "maxValue": "120000", "unitText": "YEAR"},
            },
            (Decimal(100000), Decimal(120000), "USD", PayPeriod.YEAR),
            id="monetary-amount-range",
        ),
        pytest.param(
            {"currency": "EUR", "value": {"value": 25.5, "unitText": "HOUR"}},
            (Decimal("25.5"), Decimal("25.5"), "EUR", PayPeriod.HOUR),
            id="exact-value",
        ),
        pytest.param(
            "$100,000", (Decimal(100000), Decimal(100000), "USD", PayPeriod.YEAR), id="bare-string"
        ),
        pytest.param(
            {"currency": "USD", "value": "$90,000 - $110,000"},
            (Decimal(90000), Decimal(110000), "USD", PayPeriod.YEAR),
            id="value-string",
        ),
    ],
)
def test_base_salary_forms(base_salary: object, expected: tuple[object, ...]) -> None:
    (salary,) = jsonld.salaries({"baseSalary": base_salary})
    assert (salary.min, salary.max, salary.currency, salary.period) == expected


def test_bare_number_takes_salary_currency() -> None:
    (salary,) = jsonld.salaries({"baseSalary": "100000", "salaryCurrency": "USD"})
    assert (salary.min, salary.currency, salary.period) == (Decimal(100000), "USD", None)


def test_empty_or_zero_base_salary_gives_nothing() -> None:
    assert jsonld.salaries({"baseSalary": {"currency": "USD", "value": {"minValue": 0}}}) == []
    assert jsonld.salaries({}) == []


def test_locations_from_array_string_and_country_object() -> None:
    data = {"jobLocation": [
        {"address": {"addressLocality": "Kirkland", "addressRegion": "WA"}},
        {"address": {"addressCountry": {"@type": "Country", "name": "Germany"}}},
        "Remote",
    ]}  # fmt: skip
    assert jsonld.locations(data) == ["Kirkland, WA", "Germany", "Remote"]


def test_telecommute_and_applicant_regions() -> None:
    data = {"jobLocationType": "TELECOMMUTE", "applicantLocationRequirements": [{"name": "USA"}]}
    assert jsonld.remote_hint(data) is RemoteKind.REMOTE
    assert jsonld.applicant_regions(data) == ["USA"]
    assert jsonld.applicant_regions({"applicantLocationRequirements": []}) == []


def test_page_source_rejects_non_html() -> None:
    pdf = FetchedPage(
        url="https://x.test/j", status=200, content_type="application/pdf", body=b"%PDF"
    )
    with pytest.raises(UnsupportedContent, match="application/pdf"):
        WebPageSource().parse(pdf, url=pdf.url)


def test_page_without_any_title_is_a_parse_error() -> None:
    empty = FetchedPage(
        url="https://x.test/j", status=200, content_type="text/html", body=b"<p></p>"
    )
    with pytest.raises(ParseError, match=r"https://x\.test/j"):
        WebPageSource().parse(empty, url=empty.url)


@pytest.mark.parametrize("opening", ["[", '{"a": '])
def test_a_block_nested_too_deep_is_skipped_like_a_malformed_one(opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    deep = opening * 100_000 + "1" * (opening != "[") + closing * 100_000
    html = (
        f'<html><head><title>Data Analyst | Acme</title><script type="application/ld+json">'
        f"{deep}</script></head><body><h1>Data Analyst</h1>"
        "<p>Salary: $90,000 - $100,000 per year</p></body></html>"
    )
    fetched = FetchedPage(
        url="https://x.example/a", status=200, content_type="text/html", body=html.encode()
    )
    (posting,) = WebPageSource().parse(fetched, url="https://x.example/a")
    assert (posting.title, posting.company) == ("Data Analyst", "Acme")
    assert posting.salaries[0].min == Decimal(90000)


def test_deep_values_and_graphs_within_json_limits_do_not_recurse() -> None:
    title = '{"name": ' * 500 + '"Too deep"' + "}" * 500
    graph = '{"@graph": [' * 300 + '{"@type": "JobPosting", "title": "Lost"}' + "]}" * 300
    found = jsonld.job_postings(page(f'{{"@type": "JobPosting", "title": {title}}}', graph))
    assert [jsonld.title(p) for p in found] == [""]  # read without a RecursionError
