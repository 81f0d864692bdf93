"""The mutation run's score, and a re-check of its survivors.

    .venv/bin/mutmut run                  # every mutant of the core modules ([tool.mutmut])
    .venv/bin/python -m tests.mutation    # the score; exit 1 over the target or on an unlisted survivor
    .venv/bin/python -m tests.mutation --recheck   # after adding tests: judge the survivors again

mutmut keeps each mutant's verdict and which tests reach each function; tests added
since are not in that map, so ``--recheck`` forgets the survivors' verdicts and the
map, and the next ``mutmut run`` judges only those survivors, with every test.
A survivor that no test can kill is listed in tests/mutation-equivalents.txt with the
reason (one ``name  reason`` per line; ``*`` at the end of a name covers a function's
mutants).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
EQUIVALENTS = Path(__file__).resolve().parent / "mutation-equivalents.txt"
TARGET = 0.10
"""At most this share of the mutants may survive."""

_STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 36: "timeout",
           24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", 37: "type check",
           None: "not checked"}  # fmt: skip
_SURVIVING = {"survived", "no tests"}


def verdicts() -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in sorted(MUTANTS.glob("monitor/**/*.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data["exit_code_by_key"].items():
            found[name] = _STATUS.get(code, "suspicious")
    return found


def equivalents() -> list[tuple[str, str]]:
    listed = []
    for line in EQUIVALENTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.strip().partition("  ")
            listed.append((name, reason.strip()))
    return listed


def report() -> int:
    found = verdicts()
    if not found:
        print("no mutation run found: run .venv/bin/mutmut run first")
        return 1
    counts = Counter(found.values())
    surviving = [name for name, status in found.items() if status in _SURVIVING]
    listed = equivalents()
    unexplained = [n for n in surviving if not any(fnmatch.fnmatchcase(n, p) for p, _ in listed)]
    gaps = [n for n in surviving if any(fnmatch.fnmatchcase(n, p) and r.startswith("GAP")
                                        for p, r in listed)]  # fmt: skip
    share = len(surviving) / len(found)
    print(f"{len(found)} mutants: " + ", ".join(f"{n} {s}" for s, n in counts.most_common()))
    print(f"surviving: {len(surviving)} ({share:.1%}; target at most {TARGET:.0%}): "
          f"{len(surviving) - len(unexplained) - len(gaps)} listed as equivalent, "
          f"{len(gaps)} listed as known gaps, {len(unexplained)} unexplained")  # fmt: skip
    per_module = Counter(n.split(".x")[0] for n in surviving)
    for module, n in sorted(per_module.items()):
        print(f"  {module}: {n}")
    for name in unexplained:
        print(f"not killed and not listed: {name}")
    unchecked = counts.get("not checked", 0)
    return 0 if share <= TARGET and not unexplained and not unchecked else 1


def recheck() -> int:
    reset = 0
    for meta in sorted(MUTANTS.glob("monitor/**/*.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data["exit_code_by_key"].items():
            if _STATUS.get(code) in _SURVIVING:
                data["exit_code_by_key"][name] = None
                reset += 1
        meta.write_text(json.dumps(data), encoding="utf-8")
    (MUTANTS / "mutmut-stats.json").unlink(missing_ok=True)
    print(f"{reset} survivors to judge again: run .venv/bin/mutmut run")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__)
    parser.add_argument("--recheck", action="store_true", help="judge the survivors again")
    args = parser.parse_args(argv)
    return recheck() if args.recheck else report()


if __name__ == "__main__":
    sys.exit(main())
