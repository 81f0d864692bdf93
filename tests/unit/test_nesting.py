"""A page nested absurdly deep is one failed check with a clear message, found before
the HTML parser (whose time grows faster than linearly with depth) ever sees it."""

from __future__ import annotations

import pytest

from monitor.errors import ParseError
from monitor.extract.text import MAX_NESTING_DEPTH, nesting_depth
from monitor.sources import SourceRegistry, read_page
from monitor.sources.base import FetchedPage

URL = "https://careers.example.com/jobs/1"


def nested(levels: int, tag: str = "div") -> str:
    return (
        "<html><head><title>Engineer | Acme</title></head><body>"
        f"{f'<{tag}>' * levels}<h1>Engineer</h1><p>Salary: $100,000 per year</p>{f'</{tag}>' * levels}"
        "</body></html>"
    )


def read(html: str) -> list[object]:
    page = FetchedPage(url=URL, status=200, content_type="text/html", body=html.encode())
    return list(read_page(SourceRegistry.default().get("html"), page, url=URL))


def test_a_page_nested_100000_deep_is_a_parse_error_naming_the_depth() -> None:
    with pytest.raises(ParseError, match=r"nests elements 100,00\d deep; the limit is 512"):
        read(nested(100_000))


def test_the_limit_is_exact() -> None:
    inside_body = MAX_NESTING_DEPTH - 3  # <html>, <body> and the <h1> inside count too
    assert nesting_depth(nested(inside_body)) == MAX_NESTING_DEPTH
    assert read(nested(inside_body))
    with pytest.raises(ParseError, match="nests elements"):
        read(nested(inside_body + 1))


def test_sloppy_but_ordinary_html_is_not_deep() -> None:
    # Thousands of unclosed <li>, <p> and <br>: the parser closes them; nothing nests.
    items = "<ul>" + "<li>item <br>" * 3000 + "</ul>" + "<p>para" * 2000
    html = f"<html><body><h1>Engineer</h1>{items}</body></html>"
    assert nesting_depth(html) < 10
    assert read(html)


def test_deep_html_inside_an_ats_response_is_caught_too() -> None:
    body = '{"jobs": [{"id": 1, "title": "Engineer", "content": "%s"}]}' % (
        "&lt;div&gt;" * 5000 + "x" + "&lt;/div&gt;" * 5000
    )
    page = FetchedPage(
        url="https://boards-api.greenhouse.io/v1/boards/acme/jobs?content=true",
        status=200,
        content_type="application/json",
        body=body.encode(),
    )
    source = SourceRegistry.default().get("greenhouse")
    with pytest.raises(ParseError, match="nests elements 5,000 deep"):
        read_page(source, page, url="https://boards.greenhouse.io/acme")
