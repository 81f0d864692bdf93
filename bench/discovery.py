"""Discovery on real careers pages: the board each page names, right / wrong / missed.

The expected answers are the corpus MANIFEST's (rows 101-110 and its table "Careers
pages and the board they embed"): the system and board token each page embeds, and
"none" for the page whose only ATS link is another company's board. A page is
right when the first board discovery gives as the page's own is the expected one,
wrong when it gives another, missed when it gives none; on the trap page, right
means nothing of the page's own. Whether a source reads the board is not scored
here (sources for some systems are written elsewhere).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from monitor.core.discover import discover

# corpus file -> (the page's URL from the capture manifest, "system:token" or "" for none)
EXPECTED: dict[str, tuple[str, str]] = {
    "dexory_career_greenhouse_boards_api_fetch.html": (
        "https://www.dexory.com/career",
        "greenhouse:dexory",
    ),
    "accurx_careers_ashby_posting_api_ajax.html": (
        "https://www.accurx.com/careers",
        "ashby:accurx",
    ),
    "shiftmove_it_careers_workable_whr_embed.html": (
        "https://www.shiftmove.com/it/careers/job-board",
        "workable:670249",
    ),
    "gtlaw_berlin_karriere_workday_link.html": (
        "https://www.gtlaw.com/de/general/careers/berlin/karriere",
        "workday:gtlaw",
    ),
    "nexcess_careers_rippling_ats_link.html": (
        "https://www.nexcess.com/careers/",
        "rippling:nexcess",
    ),
    "medivise_jobs_join_widget.html": (
        "https://medivise.de/jobs/",
        "join:a18207b2f1792496b47e341e5e97ca29",
    ),
    "playlist_careers_opportunities_personio_link.html": (
        "https://www.playlist.com/careers/opportunities",
        "",
    ),
    "newsela_careers_greenhouse_board_link.html": (
        "https://newsela.com/careers",
        "greenhouse:newsela",
    ),
    "degreed_careers_greenhouse_job_links.html": (
        "https://degreed.com/experience/careers/",
        "greenhouse:degreed",
    ),
    "stormking_jobs_adp_workforcenow_link.html": (
        "https://stormking.org/jobs/",
        "adp:7204acfe-35ab-415e-ab3c-650d162cd2cf",
    ),
}


@dataclass
class DiscoveryScore:
    right: int = 0
    wrong: int = 0
    missed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.right + self.wrong + self.missed


def score_careerpages(corpus: Path) -> DiscoveryScore | None:
    """Discovery scored on ``corpus/careerpages``; None when the folder is missing."""
    folder = corpus / "careerpages"
    if not folder.is_dir():
        return None
    score = DiscoveryScore()
    for name, (url, wanted) in EXPECTED.items():
        found = discover(url, (folder / name).read_text(encoding="utf-8", errors="replace"))
        own = [f"{b.system}:{b.token}" for b in found.boards if b.other_company is None]
        got = own[0] if own else ""
        if got == wanted:
            score.right += 1
        elif got and wanted:
            score.wrong += 1
            score.notes.append(f"  wrong: {name}: {got}, wanted {wanted}")
        elif wanted:
            score.missed += 1
            score.notes.append(f"  missed: {name}: wanted {wanted}")
        else:
            score.wrong += 1
            score.notes.append(f"  wrong: {name}: {got}, wanted no board of its own")
    return score


def render_score(score: DiscoveryScore | None) -> list[str]:
    if score is None:
        return []
    head = (
        f"careers pages (discovery): right {score.right}, wrong {score.wrong}, "
        f"missed {score.missed} of {score.total}"
    )
    return ["", head, *score.notes]


# Pages made to be slow to read (each about 1 MB, under the 5 MB fetch limit): how long
# discovery takes on them stays linear in their size.
HOSTILE: dict[str, Callable[[int], str]] = {
    "one ADP-like link of 1 MB": lambda n: (
        '<a href="https://workforcenow.adp.com/' + "recruitment" * (n // 11) + '">x</a>'
    ),
    "40,000 links in one block": lambda n: (
        "<div>" + '<a href="/x">aaaaaaaaaa</a>' * (n // 25) + "</div>"
    ),
    "20,000 board links in one block": lambda n: (
        "<div>"
        + "".join(f'<a href="https://boards.greenhouse.io/x{i}">a</a>' for i in range(n // 50))
        + "</div>"
    ),
    "a script of URL-like dots": lambda n: "<script>//" + "a." * (n // 2) + "</script>",
    "JOIN widget URLs by the thousand": lambda n: (
        "<script>"
        + ("join.com/api/widget/bundle/" + "a" * 100 + ".eyJ9." + "b" * 10 + " ") * (n // 150)
        + "</script>"
    ),
}


def hostile_timings(size: int = 1_000_000) -> list[tuple[str, float]]:
    """Seconds discovery takes on each hostile page of about ``size`` characters."""
    timings = []
    for name, make in HOSTILE.items():
        page = make(size)
        started = time.perf_counter()
        discover("https://acme.example/careers", page)
        timings.append((name, time.perf_counter() - started))
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description="Discovery on hostile pages (timings).")
    parser.add_argument("--size", type=int, default=1_000_000, help="characters a page")
    args = parser.parse_args()
    for name, seconds in hostile_timings(args.size):
        print(f"  {name:<36} {seconds:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
