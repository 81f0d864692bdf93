"""Reading watch lists for `watch import`: lines, TOML and JSON, each entry placed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.imports import Refused, WatchEntry, read_watch_list
from monitor.model import BoardFilters


def test_one_url_per_line_with_comments_and_fragments() -> None:
    text = (
        "# my watches\n"
        "\n"
        "https://boards.greenhouse.io/acme   # the board\n"
        "  https://example.com/jobs/1#apply\n"
        "not a url\n"
    )
    entries = read_watch_list("list.txt", text)
    assert entries[:2] == [
        WatchEntry(where="line 3", url="https://boards.greenhouse.io/acme"),
        WatchEntry(where="line 4", url="https://example.com/jobs/1#apply"),
    ]
    refused = entries[2]
    assert isinstance(refused, Refused)
    assert refused.where == "line 5"
    assert "is not an http(s) URL" in refused.reason


def test_toml_tables_carry_their_own_settings() -> None:
    text = """
[[watches]]
url = "https://boards.greenhouse.io/acme"
interval = "6h"
channels = ["team"]
filters = { title = ["engineer"] }

[[watches]]
url = "https://example.com/jobs/2"
cron = "0 9 * * mon-fri"

[[watches]]
url = "https://example.com/jobs/3"
interval = "2 fortnights"

[[watches]]
url = "https://example.com/jobs/4"
rules = [{ fields = ["salary"] }]

[[watches]]
url = "https://example.com/jobs/5"
"""
    first, second, bad_interval, with_rules, plain = read_watch_list("w.toml", text)
    assert first == WatchEntry(
        where="watches[0]",
        url="https://boards.greenhouse.io/acme",
        interval=timedelta(hours=6),
        channels=("team",),
        filters=BoardFilters(title=("engineer",)),
    )
    assert isinstance(second, WatchEntry)
    assert second.cron == "0 9 * * mon-fri"
    assert second.interval is not None
    assert isinstance(bad_interval, Refused)
    assert bad_interval.where == "watches[2]"
    assert bad_interval.reason.startswith("interval: ")
    assert isinstance(with_rules, Refused)
    assert "configuration file" in with_rules.reason
    assert plain == WatchEntry(where="watches[4]", url="https://example.com/jobs/5")


def test_json_list_of_urls_and_objects() -> None:
    text = '["https://example.com/a", {"url": "https://example.com/b", "interval": "30m"}, 7, {"href": "x"}]'
    a, b, number, unknown = read_watch_list("w.json", text)
    assert a == WatchEntry(where="[0]", url="https://example.com/a")
    assert b == WatchEntry(where="[1]", url="https://example.com/b", interval=timedelta(minutes=30))
    assert isinstance(number, Refused)
    assert number.where == "[2]"
    assert isinstance(unknown, Refused)
    assert unknown.reason.startswith("href: unknown setting")
    wrapped = read_watch_list("w.json", '{"watches": ["https://example.com/a"]}')
    assert wrapped == [a]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("w.toml", "[[watches]\nurl=", "not valid TOML"),
        ("w.toml", "[[watch]]\nurl = 'https://x.test/'", "unknown key 'watch'"),
        ("w.json", "{", "not valid JSON"),
        ("w.json", '{"url": "https://x.test/"}', "expected a list of watches"),
    ],
)
def test_unreadable_files_say_why(name: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_watch_list(name, text)
