"""Extraction accuracy on real postings: ``python -m bench.accuracy [--corpus DIR] [--json] [--misses]``.

Reads every file of the corpus (``../shared/corpus`` by default; the project's
``seeds/`` when it is missing, and says so) the way the daemon would (see
``bench.corpus``) and scores what was read against ``labels.jsonl``, a careful
reader's labels of each posting, never against our own parser's output:

- remote policy: right when the kind matches the label (a label of "unclear"
  wants "unknown"); a confusion matrix and the rate over postings that state a
  policy;
- pay: right when one extracted range has the label's min, max, currency and
  period and no other range contradicts it (another range in the same currency
  and period without a place to tell them apart counts as wrong); "invented"
  when the label says no pay and we read some;
- requirements: where a label lists the minimum requirements
  (``requirements``: a list of strings), right when exactly those items were
  read (case and spacing aside); elsewhere only whether a minimum-requirements
  list was read exactly where the label says the posting has a requirements
  section, reported apart as "requirements section".

Every label is scored or reported as unscorable with its reason (its file is
missing or was not read, or the file read has no posting with its id).

Without labels (the seeds) it prints only how many postings had each field read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.corpus import Read, Unread, read_corpus
from bench.discovery import render_score, score_careerpages
from monitor.model import Posting, RemoteKind, Salary

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
KINDS = ("remote", "hybrid", "onsite", "unknown")
FIELDS = ("title", "company", "locations", "salary", "remote", "requirements", "preferred")


@dataclass
class Tally:
    """Right and total counts of one field for one group of postings."""

    right: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.right += ok
        self.total += 1

    def rate(self) -> str:
        return f"{self.right}/{self.total} ({self.right / self.total:.1%})" if self.total else "-"


@dataclass
class Report:
    files: int = 0
    postings: int = 0
    unread: list[str] = field(default_factory=list)
    unlabelled: int = 0
    extracted: Counter[str] = field(default_factory=Counter)
    labelled: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    remote_stated: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    remote_all: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    pay: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    requirements: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    requirement_lists: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    unscorable: list[str] = field(default_factory=list)
    pay_invented: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def load_labels(corpus: Path) -> dict[tuple[str, str], dict[str, Any]]:
    path = corpus / "labels.jsonl"
    if not path.is_file():
        return {}
    labels = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            label = json.loads(line)
            labels[(label["file"], str(label["posting_id"]))] = label
    return labels


def evaluate(corpus: Path) -> Report:
    labels = load_labels(corpus)
    report = Report()
    reads: list[Read] = []
    unread: dict[str, str] = {}
    for item in read_corpus(corpus):
        if isinstance(item, Unread):
            report.unread.append(f"{item.file}: {item.reason}")
            unread[item.file] = item.reason
        else:
            reads.append(item)
    per_file = Counter(r.file for r in reads)
    scored: set[tuple[str, str]] = set()
    for item in reads:
        report.postings += 1
        _count_fields(report, item.posting)
        key = _label_key(item, labels, per_file)
        if key is None:
            report.unlabelled += 1
            continue
        scored.add(key)
        _score(report, item, labels[key])
    report.files = len(per_file)
    report.unscorable = _unscorable(labels, scored, reads, unread)
    return report


def _label_key(
    item: Read, labels: dict[tuple[str, str], dict[str, Any]], per_file: Counter[str]
) -> tuple[str, str] | None:
    """The label of a read posting: by its id, or the file's only label when the file
    holds one posting (pages whose id the reader cannot know)."""
    if (item.file, item.posting_id) in labels:
        return (item.file, item.posting_id)
    of_file = [key for key in labels if key[0] == item.file]
    return of_file[0] if len(of_file) == 1 and per_file[item.file] == 1 else None


def _unscorable(
    labels: dict[tuple[str, str], dict[str, Any]],
    scored: set[tuple[str, str]],
    reads: list[Read],
    unread: dict[str, str],
) -> list[str]:
    """Each label no read posting was scored against, with the reason."""
    ids: dict[str, list[str]] = defaultdict(list)
    for item in reads:
        ids[item.file].append(item.posting_id)
    found = []
    for file, posting_id in sorted(set(labels) - scored):
        if file in unread:
            why = f"the file was not read ({unread[file]})"
        elif file not in ids:
            why = "no such file in the corpus"
        else:
            why = f"the file has no posting {posting_id!r} (read: {', '.join(ids[file][:5])})"
        found.append(f"{file} {posting_id}: {why}")
    return found


def _count_fields(report: Report, p: Posting) -> None:
    report.extracted.update(
        name
        for name, has in (
            ("title", bool(p.title)),
            ("company", bool(p.company)),
            ("locations", bool(p.locations)),
            ("salary", bool(p.salaries)),
            ("remote", p.remote.kind is not RemoteKind.UNKNOWN),
            ("requirements", bool(p.requirements.minimum)),
            ("preferred", bool(p.requirements.preferred)),
        )
        if has
    )


def _score(report: Report, item: Read, label: dict[str, Any]) -> None:
    report.labelled += 1
    group, p, where = item.via, item.posting, f"{item.file} {item.posting_id}"
    wanted = "unknown" if label["remote"] == "unclear" else label["remote"]
    got = p.remote.kind.value
    report.confusion[(wanted, got)] += 1
    for key in (group, "all"):
        report.remote_all[key].add(got == wanted)
        if wanted != "unknown":
            report.remote_stated[key].add(got == wanted)
    if got != wanted:
        report.misses.append(
            f"remote {where}: label {wanted}, read {got} ({label['remote_evidence'][:90]})"
        )
    _score_pay(report, group, where, label, p)
    _score_requirements(report, group, where, label, p)


def _score_pay(report: Report, group: str, where: str, label: dict[str, Any], p: Posting) -> None:
    pay_ok = _pay_right(label.get("salary"), p.salaries)
    for key in (group, "all"):
        report.pay[key].add(pay_ok)
    if not pay_ok:
        report.misses.append(f"pay {where}: label {label.get('salary')}, read {_fmt(p.salaries)}")
        if label.get("salary") is None:
            report.pay_invented.append(f"{where}: {_fmt(p.salaries)}")


def _score_requirements(
    report: Report, group: str, where: str, label: dict[str, Any], p: Posting
) -> None:
    listed = label.get("requirements")
    if isinstance(listed, list):
        wanted, got = _items(listed), _items(p.requirements.minimum)
        for key in (group, "all"):
            report.requirement_lists[key].add(wanted == got)
        if wanted != got:
            report.misses.append(
                f"requirements {where}: {len(wanted - got)} labelled items not read, "
                f"{len(got - wanted)} read that the label does not list"
            )
        return
    req_ok = bool(p.requirements.minimum) == bool(label["has_requirements_section"])
    for key in (group, "all"):
        report.requirements[key].add(req_ok)
    if not req_ok:
        report.misses.append(
            f"requirements section {where}: label {label['has_requirements_section']}, read {len(p.requirements.minimum)} items"
        )


def _items(items: Any) -> frozenset[str]:
    return frozenset(" ".join(str(item).casefold().split()) for item in items)


def _pay_right(wanted: dict[str, Any] | None, salaries: tuple[Salary, ...]) -> bool:
    """The labelled range read, and no other range that says otherwise: one in the
    same currency and period with no place (a label names one place's pay where a
    posting has several, or one country's where it pays in several currencies)."""
    if wanted is None:
        return not salaries
    right = [s for s in salaries if _same_pay(wanted, s)]
    if not right:
        return False
    others = [s for s in salaries if s not in right]
    return not any(_contradicts(wanted, s) for s in others)


def _contradicts(wanted: dict[str, Any], s: Salary) -> bool:
    same_unit = (
        s.currency == wanted["currency"] and (s.period and s.period.value) == wanted["period"]
    )
    return same_unit and not s.label


def _same_pay(wanted: dict[str, Any], s: Salary) -> bool:
    def dec(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    low, high = dec(wanted["min"]), dec(wanted["max"])
    if (s.min, s.max) != (low, high) and not (high == low and s.min is None and s.max == low):
        return False
    return bool(
        s.currency == wanted["currency"] and (s.period and s.period.value) == wanted["period"]
    )


def _fmt(salaries: tuple[Salary, ...]) -> str:
    def amount(value: Decimal | None) -> str:
        return "?" if value is None else format(value, "f")

    return (
        ", ".join(
            f"{amount(s.min)}-{amount(s.max)} {s.currency}/{s.period.value if s.period else '?'}"
            for s in salaries
        )
        or "none"
    )


def render(report: Report, corpus: Path, used_seeds: bool, misses: bool) -> str:
    lines = [
        f"Extraction accuracy on {corpus}"
        + (" (the shared corpus is missing: seeds/ instead)" if used_seeds else ""),
        f"{report.files} files read, {report.postings} postings, {report.labelled} labelled",
        *(f"  not read: {u}" for u in report.unread),
        f"labels not scored: {len(report.unscorable)}",
        *(f"  unscorable: {u}" for u in report.unscorable),
        "",
        "read from postings: " + ", ".join(f"{name} {report.extracted[name]}" for name in FIELDS),
    ]
    if report.labelled:
        lines += ["", *_table(report), "", *_confusion(report)]
        lines.append(f"pay invented where the label has none: {len(report.pay_invented)}")
        lines += [f"  invented: {i}" for i in report.pay_invented]
    lines += render_score(score_careerpages(corpus))
    if misses:
        lines += ["", *report.misses]
    return "\n".join(lines)


def _table(report: Report) -> list[str]:
    head = (
        f"{'read via':<24}{'remote (stated)':>20}{'remote (all)':>20}{'pay':>20}"
        f"{'requirements list':>20}{'requirements section':>22}"
    )
    groups = [*sorted(k for k in report.remote_all if k != "all"), "all"]
    return [head] + [
        f"{g:<24}{report.remote_stated[g].rate():>20}{report.remote_all[g].rate():>20}"
        f"{report.pay[g].rate():>20}{report.requirement_lists[g].rate():>20}"
        f"{report.requirements[g].rate():>22}"
        for g in groups
    ]


def _confusion(report: Report) -> list[str]:
    lines = ["remote policy: label (rows) against what was read (columns)"]
    lines.append(f"{'':<10}" + "".join(f"{k:>9}" for k in KINDS))
    for wanted in KINDS:
        row = "".join(f"{report.confusion[(wanted, got)]:>9}" for got in KINDS)
        lines.append(f"{wanted:<10}{row}")
    return lines


def as_json(report: Report, corpus: Path = DEFAULT_CORPUS) -> dict[str, Any]:
    def tallies(table: dict[str, Tally]) -> dict[str, dict[str, int]]:
        return {k: {"right": t.right, "total": t.total} for k, t in table.items()}

    return {
        "files": report.files,
        "postings": report.postings,
        "labelled": report.labelled,
        "unread": report.unread,
        "extracted": dict(report.extracted),
        "remote_stated": tallies(report.remote_stated),
        "remote_all": tallies(report.remote_all),
        "pay": tallies(report.pay),
        "requirements": tallies(report.requirements),
        "requirement_lists": tallies(report.requirement_lists),
        "unscorable": report.unscorable,
        "confusion": {f"{w}->{g}": n for (w, g), n in report.confusion.items()},
        "pay_invented": report.pay_invented,
        "misses": report.misses,
        "careerpages": _careerpages_json(corpus),
    }


def _careerpages_json(corpus: Path) -> dict[str, int] | None:
    score = score_careerpages(corpus)
    return (
        None
        if score is None
        else {"right": score.right, "wrong": score.wrong, "missed": score.missed}
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--misses", action="store_true", help="list every posting read wrongly")
    args = parser.parse_args(argv)
    corpus, used_seeds = args.corpus, not args.corpus.is_dir()
    if used_seeds:
        corpus = ROOT / "seeds"
    report = evaluate(corpus)
    if args.json:
        print(json.dumps(as_json(report, corpus), indent=2))
    else:
        print(render(report, corpus, used_seeds, args.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
