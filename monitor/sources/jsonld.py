"""schema.org ``JobPosting`` in JSON-LD, read block by block.

Each ``<script type="application/ld+json">`` is parsed on its own so one
malformed block does not hide the others; ``@graph`` and lists are unwrapped
and CDATA or comment wrappers are tolerated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from monitor.extract.places import region_code, region_name
from monitor.extract.salary import parse_salaries, positive_decimal
from monitor.extract.text import collapse
from monitor.model import PayPeriod, RemoteKind, Salary

_WRAPPER = re.compile(r"^\s*(?:<!\[CDATA\[|<!--|//\s*<!\[CDATA\[)|(?:\]\]>|-->|//\s*\]\]>)\s*$")
_UNIT_PERIODS = {
    "HOUR": PayPeriod.HOUR,
    "DAY": PayPeriod.DAY,
    "WEEK": PayPeriod.WEEK,
    "MONTH": PayPeriod.MONTH,
    "YEAR": PayPeriod.YEAR,
    "ANNUAL": PayPeriod.YEAR,
    "YEARLY": PayPeriod.YEAR,
    "HOURLY": PayPeriod.HOUR,
    "MONTHLY": PayPeriod.MONTH,
}


def job_postings(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    """Every JobPosting object in the page's JSON-LD blocks, in page order."""
    found: list[dict[str, Any]] = []
    for script in tree.css('script[type="application/ld+json"]'):
        data = _load_block(script.text(deep=True) or "")
        found.extend(obj for obj in _objects(data) if _is_job_posting(obj))
    return found


def _load_block(text: str) -> Any:
    """One block's JSON, or None when it is malformed or nested too deep to read (a
    hostile page): the block is skipped and the page text read instead."""
    cleaned = _WRAPPER.sub("", text.strip())
    try:
        return json.loads(cleaned, strict=False)
    except (ValueError, RecursionError):
        return None


# Real JSON-LD nests a few levels (@graph, lists of objects); deeper is not a posting.
_MAX_DEPTH = 32


def _objects(data: Any) -> Iterator[dict[str, Any]]:
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        item, depth = pending.pop(0)
        if depth > _MAX_DEPTH:
            continue
        if isinstance(item, list):
            pending[:0] = [(child, depth + 1) for child in item]
        elif isinstance(item, dict):
            yield item
            if "@graph" in item:
                pending.insert(0, (item["@graph"], depth + 1))


def _is_job_posting(obj: dict[str, Any]) -> bool:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and k.rsplit("/", 1)[-1] == "JobPosting" for k in kinds)


def text_of(value: Any) -> str:
    """A plain string from a JSON-LD value that may be a string, object or list."""
    for _ in range(_MAX_DEPTH):
        if isinstance(value, dict):
            value = value.get("name") or value.get("value") or ""
        elif isinstance(value, list) and value:
            value = value[0]
        else:
            break
    if isinstance(value, str):
        return collapse(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def title(obj: dict[str, Any]) -> str:
    return text_of(obj.get("title") or obj.get("name"))


def company(obj: dict[str, Any]) -> str:
    return text_of(obj.get("hiringOrganization"))


def locations(obj: dict[str, Any]) -> list[str]:
    places = obj.get("jobLocation") or []
    places = places if isinstance(places, list) else [places]
    return [loc for loc in (_place_name(p) for p in places) if loc]


def _place_name(place: Any) -> str:
    if isinstance(place, str):
        return collapse(place)
    if not isinstance(place, dict):
        return ""
    address = place.get("address")
    if isinstance(address, str):
        return collapse(address)
    if not isinstance(address, dict):
        return text_of(place.get("name"))
    parts = [
        text_of(address.get(k)) for k in ("addressLocality", "addressRegion", "addressCountry")
    ]
    return ", ".join(p for p in parts if p) or text_of(place.get("name"))


def remote_hint(obj: dict[str, Any]) -> RemoteKind:
    kind = text_of(obj.get("jobLocationType")).upper()
    return RemoteKind.REMOTE if "TELECOMMUTE" in kind else RemoteKind.UNKNOWN


def applicant_regions(obj: dict[str, Any]) -> list[str]:
    value = obj.get("applicantLocationRequirements") or []
    values = value if isinstance(value, list) else [value]
    return [name for name in (text_of(v) for v in values) if name]


def applicant_region_details(obj: dict[str, Any]) -> tuple[str, ...]:
    """The JobPosting's applicantLocationRequirements as "remote within <country>"
    details, for ``RemoteReading.with_stated_regions``."""
    names = [region_name(code) if (code := region_code(r)) else r for r in applicant_regions(obj)]
    return tuple(f"remote within {n}" for n in dict.fromkeys(names))


def employment_type(obj: dict[str, Any]) -> str | None:
    value = obj.get("employmentType")
    values = value if isinstance(value, list) else [value]
    names = [text_of(v) for v in values if text_of(v)]
    return ", ".join(names) if names else None


def posted_date(obj: dict[str, Any], key: str = "datePosted") -> date | None:
    value = text_of(obj.get(key))
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def description_html(obj: dict[str, Any]) -> str:
    value = obj.get("description")
    return value if isinstance(value, str) else ""


def salaries(obj: dict[str, Any]) -> list[Salary]:
    """``baseSalary`` as MonetaryAmount, a number, or a string such as "$100,000"."""
    base = obj.get("baseSalary")
    currency = text_of(obj.get("salaryCurrency")) or None
    amounts = base if isinstance(base, list) else [base]
    found: list[Salary] = []
    for amount in amounts:
        found.extend(_monetary_amount(amount, currency))
    return found


def _monetary_amount(amount: Any, currency: str | None) -> list[Salary]:
    if isinstance(amount, int | float) or (
        isinstance(amount, str) and positive_decimal(amount, normalized=False)
    ):
        value = positive_decimal(amount, normalized=False)
        return [Salary(min=value, max=value, currency=currency, period=None)]
    if isinstance(amount, str):
        return parse_salaries(amount, is_pay=True)
    if not isinstance(amount, dict):
        return []
    currency = text_of(amount.get("currency")) or currency
    value = amount.get("value")
    if isinstance(value, str) and positive_decimal(value, normalized=False) is None:
        return [_with_currency(s, currency) for s in parse_salaries(value, is_pay=True)]
    if not isinstance(value, dict):
        single = positive_decimal(value, normalized=False)
        return [Salary(min=single, max=single, currency=currency)] if single else []
    low = positive_decimal(value.get("minValue"), normalized=False)
    high = positive_decimal(value.get("maxValue"), normalized=False)
    exact = positive_decimal(value.get("value"), normalized=False)
    if low is None and high is None and exact is None:
        return []
    period = _UNIT_PERIODS.get(text_of(value.get("unitText")).upper())
    return [
        Salary(
            min=low or exact,
            max=high or exact,
            currency=currency and currency.upper(),
            period=period,
        )
    ]


def _with_currency(salary: Salary, currency: str | None) -> Salary:
    if salary.currency or not currency:
        return salary
    return Salary(
        min=salary.min,
        max=salary.max,
        currency=currency.upper(),
        period=salary.period,
        label=salary.label,
    )
