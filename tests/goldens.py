"""Golden files: what each recorded seed reads as, pinned.

The tests only compare. Rewriting a golden is a deliberate act, never a side effect of
a test run: ``python -m tests.goldens`` prints the unified diff of every golden whose
reading changed and writes it; ``--check`` prints the diffs and exits 1 without
writing. Read each diff before committing it: a golden that moves is a behaviour that
moved.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from monitor.core.normalize import normalize
from monitor.model import Posting
from monitor.sources import SourceRegistry
from monitor.sources.base import FetchedPage
from monitor.sources.page import WebPageSource
from tests.conftest import SEEDS
from tests.unit.test_extract_cases import load_cases

GOLDEN = Path(__file__).resolve().parent / "golden"
PAGE_URL = "https://stripe.example/jobs/backend-engineer"
PAGE_SEEDS = (
    "stripe-backend-engineer.html",
    "stripe-backend-engineer.v2.html",
    "acme-data-analyst.html",
)
REGISTRY = SourceRegistry.default()


def read(seed: str, url: str, content_type: str = "application/json") -> list[Posting]:
    """A recorded response read by the source the URL picks, normalized."""
    source = REGISTRY.detect(url)
    page = FetchedPage(
        url=source.fetch_url(url), status=200, content_type=content_type,
        body=(SEEDS / seed).read_bytes(),
    )  # fmt: skip
    return [normalize(p) for p in source.parse(page, url=url)]


def read_page(seed: str) -> Posting:
    page = FetchedPage(
        url=PAGE_URL, status=200, content_type="text/html", body=(SEEDS / seed).read_bytes()
    )
    (posting,) = WebPageSource().parse(page, url=PAGE_URL)
    return normalize(posting)


def goldens() -> Iterator[tuple[Path, Callable[[], Any]]]:
    """Each golden file and how to compute what it should hold."""
    for param in load_cases("sources.yaml"):
        case = param.values[0]
        yield (
            GOLDEN / "sources" / f"{case['id']}.json",
            lambda c=case: [
                p.to_dict()
                for p in read(c["seed"], c["url"], c.get("content_type", "application/json"))
            ],
        )
    for seed in PAGE_SEEDS:
        yield GOLDEN / f"{seed}.json", lambda s=seed: read_page(s).to_dict()


def written(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def expected(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Show the diffs; write nothing.")
    args = parser.parse_args(argv)
    changed = 0
    for path, compute in goldens():
        new = written(compute())
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        if json.loads(new) == (json.loads(old) if old else None):
            continue
        changed += 1
        name = str(path.relative_to(GOLDEN.parent.parent))
        sys.stdout.writelines(
            difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True), name, name + " (now)"
            )
        )
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new, encoding="utf-8")
    verb = "differ" if args.check else "rewritten"
    print(f"{changed} golden file(s) {verb}", file=sys.stderr)
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
