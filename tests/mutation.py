"""The mutation run's score, and a re-check of its survivors.

    .venv/bin/mutmut run                  # every mutant of the core modules ([tool.mutmut])
    .venv/bin/python -m tests.mutation    # the score; exit 1 over the target or on an unlisted survivor
    .venv/bin/python -m tests.mutation --recheck   # after adding tests: judge the survivors again
    .venv/bin/python -m tests.mutation --module web.security   # one module (or package): run, then its score

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
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
EQUIVALENTS = Path(__file__).resolve().parent / "mutation-equivalents.txt"
TARGET = 0.05
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


def _in_modules(name: str, modules: list[str]) -> bool:
    return not modules or any(name.startswith(f"monitor.{m}.") for m in modules)


def report(modules: list[str] | None = None) -> int:
    modules = modules or []
    found = {n: v for n, v in verdicts().items() if _in_modules(n, modules)}
    if not found:
        print(f"no mutation run found for {modules or 'any module'}: run .venv/bin/mutmut run")
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
    made = Counter(n.split(".x")[0] for n in found)
    per_module = Counter(n.split(".x")[0] for n in surviving)
    for name, n in sorted(per_module.items()):
        print(f"  {name}: {n} of {made[name]}")
    for name in unexplained:
        print(f"not killed and not listed: {name}")
    stale = stale_listings(listed, found, modules)
    for name in stale:
        print(f"listed but no such mutant (renumbered? a line moved or a pragma added): {name}")
    unchecked = counts.get("not checked", 0)
    return 0 if share <= TARGET and not unexplained and not unchecked and not stale else 1


def stale_listings(
    listed: list[tuple[str, str]], found: dict[str, str], modules: list[str]
) -> list[str]:
    """Listed names (not patterns) of the run's modules that name no mutant: mutmut numbers
    a function's mutants in order, so a reason written for one would now be read as
    another's."""
    made_modules = {name.split(".x")[0] for name in found}
    return [
        name
        for name, _ in listed
        if "*" not in name
        and name.split(".x")[0] in made_modules
        and _in_modules(name, modules)
        and name not in found
    ]


def recheck(modules: list[str] | None = None) -> int:
    reset = 0
    for meta in sorted(MUTANTS.glob("monitor/**/*.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data["exit_code_by_key"].items():
            if _STATUS.get(code) in _SURVIVING and _in_modules(name, modules or []):
                data["exit_code_by_key"][name] = None
                reset += 1
        meta.write_text(json.dumps(data), encoding="utf-8")
    (MUTANTS / "mutmut-stats.json").unlink(missing_ok=True)
    print(f"{reset} survivors to judge again: run .venv/bin/mutmut run")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__)
    parser.add_argument("--recheck", action="store_true", help="judge the survivors again")
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        help="run the mutants of a module or package of monitor (web.security, store, ...; "
        "repeat it for several) with the tests that reach each, then report its score",
    )
    args = parser.parse_args(argv)
    if args.recheck:
        return recheck(args.module)
    if args.module:
        run_modules(args.module)
    return report(args.module)


def run_modules(modules: list[str]) -> None:
    """``mutmut run`` for some modules' mutants only: the map of which tests reach which
    function is made once (the first run) and kept; each module's run then costs only
    its own mutants."""
    patterns = [f"monitor.{module}.*" for module in modules]
    subprocess.run([sys.executable, "-m", "mutmut", "run", *patterns], check=False)


if __name__ == "__main__":
    sys.exit(main())
