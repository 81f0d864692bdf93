"""Extraction accuracy on real postings: ``python -m bench.accuracy [--corpus DIR] [--json]``.

Runs every source over the corpus (``../shared/corpus`` by default; the
project's ``seeds/`` when it is missing, and says so) and prints per field how
many postings had it and how many were extracted. For salary it also compares
the *text* extraction with the structured value where the source gives one
(Lever ``salaryRange``, Ashby salary components, Recruitee ``salary``,
JSON-LD ``baseSalary``, Greenhouse's rendered ``div.pay-range`` block), and
counts salaries extracted from postings whose text and fields state none.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from monitor.extract.salary import salaries_from_lines
from monitor.extract.text import html_to_lines, text_to_lines
from monitor.model import Posting, RemoteKind, Salary
from monitor.normalize import normalize
from monitor.sources import SourceRegistry, jsonld
from monitor.sources.base import FetchedPage

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
FIELDS = (
    "title",
    "company",
    "department",
    "locations",
    "salary",
    "remote",
    "requirements",
    "preferred",
    "employment_type",
)
_MONEY = re.compile(r"(?:[$€£¥₹]|\b(?:USD|EUR|GBP|CAD|AUD|CHF)\b)\s?\d")
_PLACE_WORDS = re.compile(r"\bremote\b|\bhybrid\b|\bon-?site\b|\bin[- ]office\b|\btelecommut", re.I)
_REQUIREMENT_HEADING = re.compile(
    r"requir|qualif|you have|you bring|what you.ll need|fit if|expertise|looking for|about you|profile",
    re.I,
)


@dataclass
class Item:
    """One posting as read by our source, with what the raw data says for the report."""

    posting: Posting
    structured_salaries: list[Salary]
    pay_text: list[str]
    """The posting's own words (description, salary description), without structured fields."""
    raw_has: set[str]


@dataclass
class Report:
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    postings: int = 0
    had: Counter[str] = field(default_factory=Counter)
    extracted: Counter[str] = field(default_factory=Counter)
    salary_structured: int = 0
    salary_text_agrees: int = 0
    salary_text_missed: int = 0
    salary_text_differs: list[str] = field(default_factory=list)
    salary_invented: list[str] = field(default_factory=list)


def read_corpus(corpus: Path) -> Iterator[tuple[str, list[Item]] | tuple[str, None]]:
    registry = SourceRegistry.default()
    for path in sorted(corpus.rglob("*")):
        if not path.is_file() or path.suffix not in (".json", ".html"):
            continue
        name = str(path.relative_to(corpus))
        url = _url_for(path)
        if url is None:
            yield name, None
            continue
        source = registry.detect(url)
        content_type = "text/html" if path.suffix == ".html" else "application/json"
        page = FetchedPage(
            url=source.fetch_url(url), status=200, content_type=content_type, body=path.read_bytes()
        )
        postings = [normalize(p) for p in source.parse(page, url=url)]
        if path.suffix == ".html":
            page_raw = {"__html__": path.read_text(encoding="utf-8", errors="replace")}
            yield name, [_item(p, page_raw, source.kind) for p in postings]
            continue
        raws = _raw_items(path, source.kind)
        yield (
            name,
            [_item(p, raws.get(p.source_id.split(":", 1)[-1], {}), source.kind) for p in postings],
        )


def _url_for(path: Path) -> str | None:
    """The URL a user would watch for a corpus file, from its folder and content."""
    folder = path.parent.name
    if path.suffix == ".html":
        return f"https://jobs.example.com/{path.stem}"
    data = json.loads(path.read_bytes())
    board = path.stem.split("_")[0]
    if folder == "greenhouse":
        if "jobs" in data:
            return f"https://boards.greenhouse.io/{board}"
        return f"https://boards.greenhouse.io/{board}/jobs/{data['id']}"
    if folder == "smartrecruiters":
        if "content" in data:
            return f"https://jobs.smartrecruiters.com/{board}"
        return f"https://jobs.smartrecruiters.com/{board}/{data['id']}"
    return {
        "lever": f"https://jobs.lever.co/{board}",
        "ashby": f"https://jobs.ashbyhq.com/{board}",
        "recruitee": f"https://{board}.recruitee.com/",
        "workable": f"https://apply.workable.com/{board}/",
        "seeds": None,
    }.get(folder)


def _raw_items(path: Path, kind: str) -> dict[str, dict[str, Any]]:
    if path.suffix == ".html":
        return {}
    data = json.loads(path.read_bytes())
    items = {
        "greenhouse": lambda: data.get("jobs", [data]),
        "lever": lambda: data,
        "ashby": lambda: data.get("jobs", []),
        "recruitee": lambda: data.get("offers", []),
        "smartrecruiters": lambda: data.get("content", [data]),
        "workable": lambda: data.get("jobs", []),
    }[kind]()
    key = {"lever": "id", "recruitee": "slug", "workable": "shortcode"}.get(kind, "id")
    return {str(item.get(key)): item for item in items}


def _item(posting: Posting, raw: dict[str, Any], kind: str) -> Item:
    structured, pay_text = _salary_evidence(posting, raw, kind)
    raw_has = {
        name
        for name in ("title", "company", "department", "locations", "employment_type")
        if _raw_field(raw, kind, name)
    }
    if "__html__" in raw:  # an HTML page: its JSON-LD is the raw data
        raw_has = {
            name
            for name in ("title", "company", "locations", "employment_type")
            if getattr(posting, name)
        }
    all_text = " ".join(pay_text)
    if structured or _money_with_pay_words(pay_text):
        raw_has.add("salary")
    if (
        _PLACE_WORDS.search(all_text)
        or _raw_field(raw, kind, "remote")
        or any(_PLACE_WORDS.search(loc) for loc in posting.locations)
    ):
        raw_has.add("remote")
    lines = [line for text in pay_text for line in text_to_lines(text)]
    if any(
        _REQUIREMENT_HEADING.search(line) and len(line) < 80 and not line.startswith("- ")
        for line in lines
    ):
        raw_has.add("requirements")
    if re.search(r"preferred|nice to have|bonus|plus\b", all_text, re.I):
        raw_has.add("preferred")
    return Item(posting=posting, structured_salaries=structured, pay_text=pay_text, raw_has=raw_has)


def _raw_field(raw: dict[str, Any], kind: str, name: str) -> bool:
    paths = {
        "title": ("title", "text", "name"),
        "company": ("company_name", "company"),
        "department": ("departments", "department", "categories.department"),
        "locations": ("location", "locations", "categories.location", "secondaryLocations"),
        "employment_type": (
            "employmentType",
            "employment_type",
            "employment_type_code",
            "categories.commitment",
            "typeOfEmployment",
        ),
        "remote": (
            "workplaceType",
            "isRemote",
            "remote",
            "hybrid",
            "on_site",
            "telecommuting",
            "location.remote",
        ),
    }[name]
    for path in paths:
        value: Any = raw
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value not in (None, "", [], {}):
            return True
    return False


def _salary_evidence(
    posting: Posting, raw: dict[str, Any], kind: str
) -> tuple[list[Salary], list[str]]:
    """(the structured pay, the posting's own words) for one posting."""
    if "__html__" in raw:  # JSON-LD baseSalary against the description's words
        found = jsonld.job_postings(LexborHTMLParser(raw["__html__"]))
        data = found[0] if found else {}
        words = html_to_lines(jsonld.description_html(data) or raw["__html__"])
        return jsonld.salaries(data), [" \n".join(words)]
    if kind == "greenhouse":
        content = html.unescape(raw.get("content") or "")
        structured = (
            list(posting.salaries) if "pay-range" in content or raw.get("pay_input_ranges") else []
        )
        return structured, [" \n".join(html_to_lines(content))]
    if kind == "lever":
        words = [
            " \n".join(html_to_lines(raw.get(key) or ""))
            for key in ("description", "salaryDescription", "additional")
        ]
        words += [
            " \n".join(html_to_lines(entry.get("content") or ""))
            for entry in raw.get("lists") or []
        ]
        return (list(posting.salaries) if raw.get("salaryRange") else []), words
    if kind == "ashby":
        comp = raw.get("compensation") or {}
        tiers = comp.get("compensationTiers") or []
        summaries = (
            [t.get("tierSummary") or "" for t in tiers]
            if len(tiers) > 1
            else [comp.get("compensationTierSummary") or ""]
        )
        words = [" \n".join(html_to_lines(raw.get("descriptionHtml") or "")), *summaries]
        return (
            list(posting.salaries)
            if any(
                c.get("compensationType") == "Salary"
                for t in tiers
                for c in t.get("components") or []
            )
            else []
        ), words
    if kind == "recruitee":
        words = [
            " \n".join(
                html_to_lines((raw.get("description") or "") + (raw.get("requirements") or ""))
            )
        ]
        return (list(posting.salaries) if (raw.get("salary") or {}).get("min") else []), words
    sections = ((raw.get("jobAd") or {}).get("sections") or {}).values()
    texts = [raw.get("description") or ""] + [
        s.get("text") or "" for s in sections if isinstance(s, dict)
    ]
    return [], [" \n".join(html_to_lines(t)) for t in texts]


def _money_with_pay_words(texts: list[str]) -> bool:
    return any(
        _MONEY.search(line)
        and re.search(
            r"salary|pay|compensation|wage|rate|ote|earn|hour|year|annual|base|range|brutto|gehalt|jahr|salaire",
            line,
            re.I,
        )
        for text in texts
        for line in text_to_lines(text)
    )


def _same(text: list[Salary], structured: list[Salary]) -> bool:
    """Text agrees when it found every structured range (amounts, currency, period if both
    known), or when one structured range is the envelope of the text's ranges: ATS fields
    often hold the span of per-location ranges the text states one by one."""
    if len(structured) == 1 and len(text) > 1 and _envelope(text, structured[0]):
        return True

    def key(s: Salary) -> tuple[Decimal | None, Decimal | None, str | None]:
        return (s.min, s.max, s.currency)

    found = {key(s): s for s in text}
    for wanted in structured:
        match = found.get(key(wanted))
        if match is None or (match.period and wanted.period and match.period != wanted.period):
            return False
    return True


def _envelope(text: list[Salary], wanted: Salary) -> bool:
    same_currency = [s for s in text if s.currency == wanted.currency]
    lows = [s.min for s in same_currency if s.min is not None]
    highs = [s.max for s in same_currency if s.max is not None]
    return bool(lows and highs) and (min(lows), max(highs)) == (wanted.min, wanted.max)


def evaluate(corpus: Path) -> Report:
    report = Report()
    for name, items in read_corpus(corpus):
        if items is None:
            report.skipped.append(name)
            continue
        report.files += 1
        for item in items:
            _count(report, name, item)
    return report


def _count(report: Report, name: str, item: Item) -> None:
    p = item.posting
    report.postings += 1
    extracted = {
        "title": bool(p.title),
        "company": bool(p.company),
        "department": bool(p.department),
        "locations": bool(p.locations),
        "salary": bool(p.salaries),
        "remote": p.remote.kind is not RemoteKind.UNKNOWN,
        "requirements": bool(p.requirements.minimum),
        "preferred": bool(p.requirements.preferred),
        "employment_type": bool(p.employment_type),
    }
    for field_name in FIELDS:
        report.had[field_name] += field_name in item.raw_has
        report.extracted[field_name] += extracted[field_name]
    if item.structured_salaries:
        report.salary_structured += 1
        text_salaries = salaries_from_lines(
            [line for t in item.pay_text for line in text_to_lines(t)]
        )
        if not text_salaries:
            report.salary_text_missed += 1
        elif _same(list(text_salaries), item.structured_salaries):
            report.salary_text_agrees += 1
        else:
            report.salary_text_differs.append(
                f"{name} {p.source_id}: structured {_fmt(item.structured_salaries)} text {_fmt(list(text_salaries))}"
            )
    elif "salary" not in item.raw_has and p.salaries:
        report.salary_invented.append(f"{name} {p.source_id}: {_fmt(list(p.salaries))}")


def _fmt(salaries: list[Salary]) -> str:
    def amount(value: Decimal | None) -> str:
        return "?" if value is None else format(value, "f")

    return ", ".join(
        f"{amount(s.min)}-{amount(s.max)} {s.currency}/{s.period.value if s.period else '?'}"
        for s in salaries
    )


def render(report: Report, corpus: Path, used_seeds: bool) -> str:
    lines = [
        f"Extraction accuracy on {corpus}"
        + (" (the shared corpus is missing: seeds/ instead)" if used_seeds else ""),
        f"{report.files} files read, {report.postings} postings; skipped (no source for them yet): {', '.join(report.skipped) or 'none'}",
        "",
        f"{'field':<16}{'had it':>8}{'extracted':>11}",
    ]
    lines += [f"{f:<16}{report.had[f]:>8}{report.extracted[f]:>11}" for f in FIELDS]
    compared = report.salary_text_agrees + len(report.salary_text_differs)
    rate = f"{report.salary_text_agrees / compared:.1%}" if compared else "n/a"
    lines += [
        "",
        f"salary given structurally: {report.salary_structured} postings",
        f"  text extraction agrees:  {report.salary_text_agrees} of {compared} where text states pay ({rate})",
        f"  text states no pay:      {report.salary_text_missed} (pay only in structured fields)",
        f"salary invented where none is written: {len(report.salary_invented)}",
    ]
    lines += [f"  differs: {d}" for d in report.salary_text_differs]
    lines += [f"  invented: {i}" for i in report.salary_invented]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    corpus, used_seeds = args.corpus, not args.corpus.is_dir()
    if used_seeds:
        corpus = ROOT / "seeds"
    report = evaluate(corpus)
    if args.json:
        print(
            json.dumps(
                {**report.__dict__, "had": dict(report.had), "extracted": dict(report.extracted)},
                indent=2,
            )
        )
    else:
        print(render(report, corpus, used_seeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
