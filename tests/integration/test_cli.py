"""The CLI through click's runner, against pages served by a real local HTTP server."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.config import load_config
from monitor.demo import FIRST_VERSION, REVISED_VERSION, SeedServer, seeds_dir
from monitor.records import WatchRecord
from monitor.store import Store
from monitor.store.engine import create_db_engine


@pytest.fixture
def server() -> Iterator[SeedServer]:
    with SeedServer(seeds_dir(), FIRST_VERSION) as seed_server:
        yield seed_server


@pytest.fixture
def config_file(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"[database]\nurl = '{db_url}'\n[http]\nallowed_networks = ['127.0.0.1/32']\n",
        encoding="utf-8",
    )
    return path


def stored_watches(config: Path, *, include_removed: bool = False) -> list[WatchRecord]:
    engine = create_db_engine(load_config(config).database_url)
    try:
        return Store(engine).watches.list_watches(include_removed=include_removed)
    finally:
        engine.dispose()


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_watch_check_history_cycle(config_file: Path, server: SeedServer) -> None:
    added = invoke(config_file, "watch", "add", server.url, "--interval", "15m")
    assert added.exit_code == 0, added.output
    assert "watching #1" in added.output
    assert "every 15m" in added.output

    listed = invoke(config_file, "watch", "list")
    assert server.url in listed.output

    first = invoke(config_file, "check")
    assert first.exit_code == 0
    assert "checked 1 posting (1 baseline)" in first.output
    server.current = REVISED_VERSION
    second = invoke(config_file, "check")
    assert "1 changed" in second.output
    assert "alerts: 1 sent" in second.output
    assert "salary range 155,700–285,600 USD/yr → 165,000–300,000 (+6.0% / +5.0%)" in second.output

    history = invoke(config_file, "history", "1")
    assert "version 2" in history.output
    assert "* requirement added: Experience operating Kubernetes in production." in history.output
    assert "read from:    salary: page text" in history.output
    assert "read from:    remote: JSON-LD jobLocationType and page text" in history.output
    data = json.loads(invoke(config_file, "history", server.url, "--json").output)
    assert len(data["versions"]) == 2
    assert {c["field"] for c in data["changes"]} == {"salary", "remote", "requirements.minimum"}

    removed = invoke(config_file, "watch", "remove", server.url)
    assert "removed #1" in removed.output
    assert "no watches" in invoke(config_file, "watch", "list").output


def test_errors_are_one_line_not_tracebacks(config_file: Path) -> None:
    result = invoke(config_file, "watch", "remove", "42")
    assert result.exit_code == 1
    assert result.output.strip() == "error: no active watch '42' (see 'posting-monitor watch list')"
    bad_interval = invoke(config_file, "watch", "add", "https://x.test/job", "--interval", "soon")
    assert bad_interval.exit_code == 2
    assert "--interval" in bad_interval.output
    not_http = invoke(config_file, "watch", "add", "ftp://x.test/job")
    assert not_http.exit_code == 2
    assert "can never be fetched: not an http or https URL" in not_http.output


def test_config_errors_exit_2_and_name_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[watches]]\nurl = 'https://x.test/j'\ninterval = 'often'\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "check"])
    assert result.exit_code == 2
    assert str(path) in result.output
    assert "watches[0].interval" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "data").exists(), "a bad config must touch no data"


def test_demo_shows_the_three_changes(tmp_path: Path) -> None:
    kept = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--data-dir", str(kept)], catch_exceptions=False)
    assert result.exit_code == 0
    assert "salary range 155,700–285,600 USD/yr → 165,000–300,000 (+6.0% / +5.0%)" in result.output
    assert "requirement added: Experience operating Kubernetes in production." in result.output
    assert "remote policy hybrid → remote" in result.output
    assert "Demo finished: 1 alert delivered." in result.output
    database = (kept / "demo.db").resolve()
    assert f"MONITOR_DATABASE__URL=sqlite:///{database}" in result.output
    assert "posting-monitor web" in result.output
    again = CliRunner().invoke(cli, ["demo", "--data-dir", str(kept)], catch_exceptions=False)
    assert "Demo finished: 1 alert delivered." in again.output  # a fresh database each run


def test_a_configuration_retires_only_the_watches_it_listed(
    tmp_path: Path, server: SeedServer
) -> None:
    """W24: a watch added by the demo, a command, the API or the dashboard stays when a
    configuration that does not list it runs; one the configuration listed and dropped
    is retired."""
    kept = tmp_path / "demo"
    CliRunner().invoke(cli, ["demo", "--data-dir", str(kept)], catch_exceptions=False)
    database = f"sqlite:///{(kept / 'demo.db').resolve()}"
    listed = tmp_path / "listed.toml"
    listed.write_text(
        f'data_dir = "{tmp_path}"\n[database]\nurl = "{database}"\n'
        f'[http]\nallowed_networks = ["127.0.0.1/32"]\n[[watches]]\nurl = "{server.url}"\n',
        encoding="utf-8",
    )
    invoke(listed, "check")
    bare = tmp_path / "bare.toml"
    bare.write_text(
        f'data_dir = "{tmp_path}"\n[database]\nurl = "{database}"\n'
        '[http]\nallowed_networks = ["127.0.0.1/32"]\n',
        encoding="utf-8",
    )
    invoke(bare, "check")
    kinds = {
        w.url: (w.origin, w.removed_at is None) for w in stored_watches(bare, include_removed=True)
    }
    assert [active for url, (origin, active) in kinds.items() if origin == "cli"] == [True]
    assert kinds[server.url] == ("config", False)  # listed, then dropped: retired


def test_demo_can_keep_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["demo", "--temporary"], catch_exceptions=False)
    assert "Demo finished: 1 alert delivered." in result.output
    assert list(tmp_path.iterdir()) == []


def test_features_and_help() -> None:
    runner = CliRunner()
    assert "html" in runner.invoke(cli, ["features"]).output
    for command in (["check"], ["run"], ["watch", "add"], ["history"], ["demo"], ["db", "upgrade"]):
        result = runner.invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage:" in result.output


def test_db_upgrade_says_what_it_applied(config_file: Path) -> None:
    first = invoke(config_file, "db", "upgrade").output.strip()
    assert first.startswith("database upgraded from revision none (new database) to ")
    head = first.rsplit(" ", 1)[-1]
    assert invoke(config_file, "db", "upgrade").output.strip() == (
        f"database is up to date (revision {head})"
    )


@pytest.mark.parametrize(
    "command", [["status"], ["watch", "list"], ["history", "1"], ["alerts", "list"], ["health"]]
)
def test_read_only_commands_in_an_empty_folder_create_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 1
    assert "no database yet" in result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_explicit_sqlite_path_in_a_missing_folder_is_not_created(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(f"[database]\nurl = 'sqlite:///{tmp_path}/nope/x.db'\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert result.exit_code == 2
    assert f"database.url: the folder '{tmp_path}/nope' does not exist" in result.output
    assert not (tmp_path / "nope").exists()


def test_test_source_reads_a_saved_response_and_stores_nothing(tmp_path: Path) -> None:
    seed = seeds_dir() / "greenhouse" / "board-1.json"
    result = CliRunner().invoke(
        cli, ["test-source", "https://boards.greenhouse.io/northwind", "--file", str(seed)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0
    assert "source: greenhouse" in result.output
    assert "3 posting(s)" in result.output
    assert "Germany: 85,000–100,000 EUR/yr" in result.output
    assert "read from:    salary: rendered pay-range block of the content" in result.output
    assert "read from:    remote: location name and description text" in result.output
    assert not (tmp_path / "data").exists()


def test_test_source_shows_where_structured_value_and_text_disagree(tmp_path: Path) -> None:
    job = {
        "id": 7, "title": "Account Executive", "location": {"name": "San Francisco, CA"},
        "metadata": [{"name": "Location Type", "value": "On-Site", "value_type": "single_select"}],
        "content": "&lt;p&gt;Hybrid: in the office 2 days a week.&lt;/p&gt;",
    }  # fmt: skip
    saved = tmp_path / "job.json"
    saved.write_text(json.dumps(job), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["test-source", "https://boards.greenhouse.io/acme/jobs/7", "--file", str(saved)],
        catch_exceptions=False,
    )  # fmt: skip
    assert "remote:       hybrid (in office 2 days a week)" in result.output
    assert (
        "disagreement: remote policy: the metadata field 'Location Type' says onsite, text says"
        " hybrid; chose hybrid"
    ) in result.output


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_test_source_prints_no_escape_sequence_from_a_posting(
    tmp_path: Path, as_json: bool
) -> None:
    job = {
        "id": 7, "location": {"name": "Berlin\x1b[2J"},
        "title": "Engineer \x1b[31mRED\x1b[0m \x1b]0;PWNED\x07 \x1b]52;c;ZWNobyBwd25lZA==\x07 end\x00nul\x9b2J",
        "content": "&lt;p&gt;Python.&lt;/p&gt;",
    }  # fmt: skip
    saved = tmp_path / "job.json"
    saved.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["test-source", "https://boards.greenhouse.io/acme/jobs/7", "--file", str(saved)]
        + (["--json"] if as_json else []),
        catch_exceptions=False,
    )
    assert result.exit_code == 0
    assert as_json or "Engineer RED" in result.output
    assert not set(result.output) & {"\x1b", "\x07", "\x00", "\x9b"}


def test_test_source_fetches_a_page(config_file: Path, server: SeedServer) -> None:
    result = invoke(config_file, "test-source", server.url, "--json")
    (posting,) = json.loads(result.output)
    assert posting["salaries"][0]["min"] == "155700"
    assert posting["remote"]["kind"] == "hybrid"


def test_local_addresses_are_refused_unless_allowed(server: SeedServer) -> None:
    result = CliRunner().invoke(cli, ["test-source", server.url])
    assert result.exit_code == 1
    assert "refused: 127.0.0.1, a loopback address (allow it with http.allowed_networks)" in (
        result.output
    )


def test_board_watch_with_filters_through_the_cli(config_file: Path) -> None:
    added = invoke(
        config_file, "watch", "add", "https://jobs.lever.co/northwind", "--title", "engineer",
        "--location", "seattle",
    )  # fmt: skip
    assert "(lever board, every 1h)" in added.output
    posting = invoke(
        config_file,
        "watch",
        "add",
        "https://jobs.lever.co/northwind/5f2d6c1e-1111-4a4a-9b9b-000000000001",
        "--title",
        "x",
    )
    assert posting.exit_code == 2
    assert "filters only apply to boards" in posting.output
    assert "board #1" in invoke(config_file, "history", "1").output


def test_a_broken_template_stops_everything_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[templates]\ntitle = '{{ posting.title'\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "check"])
    assert result.exit_code == 2
    assert "template 'title'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "data").exists(), "a bad config must touch no data"


def test_status_shows_each_watch_with_its_checks(config_file: Path, server: SeedServer) -> None:
    invoke(config_file, "watch", "add", server.url, "--interval", "15m")
    before = invoke(config_file, "status")
    assert "1 watch, 1 due now" in before.output
    assert "never" in before.output
    invoke(config_file, "check")
    after = invoke(config_file, "status")
    assert after.exit_code == 0, after.output
    assert "baseline" in after.output
    assert "1 watch, 0 due now" in after.output
    assert "no daemon or worker running" in after.output
    data = json.loads(invoke(config_file, "status", "--json").output)
    (row,) = data["watches"]
    assert row["url"] == server.url
    assert row["last_outcome"] == "baseline"
    assert row["consecutive_failures"] == 0


def _board_with_a_closed_member(config: Path) -> None:
    """A board watch whose three postings were found, one of them closed since."""
    from monitor.core.diff import compare
    from monitor.model import BoardResult, CheckOutcome, CheckResult, NewMember, Posting
    from monitor.model import PostingStatus as Status
    from monitor.records import WatchSpec
    from monitor.store.engine import upgrade

    board_url = "https://boards.greenhouse.io/acme"
    engine = create_db_engine(load_config(config).database_url)
    upgrade(engine)
    store = Store(engine)
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    spec = WatchSpec(
        url=board_url,
        source_kind="greenhouse",
        source_id=board_url,
        interval=timedelta(hours=1),
        is_board=True,
    )
    store.watches.add_watch(spec, origin="cli", now=now)
    board = store.postings.get_posting(board_url)

    def job(n: int, status: Status = Status.OPEN) -> Posting:
        url = f"{board_url}/jobs/{n}"
        return Posting(
            source_kind="greenhouse", source_id=url, url=url, title=f"Job {n}", status=status
        )

    def checked(posting_id: int, outcome: CheckOutcome, **kw: object) -> CheckResult:
        return CheckResult(
            posting_id=posting_id,
            outcome=outcome,
            checked_at=now,
            next_check_at=now + timedelta(days=1),
            **kw,
        )

    store.postings.record_board(
        BoardResult(
            board=checked(board.id, CheckOutcome.BASELINE, status=Status.OPEN),
            new_members=tuple(NewMember(posting=job(n)) for n in (1, 2, 3)),
        ),
        board_id=board.id,
    )
    first = store.postings.members_of(board.id)[0]
    closing = compare(job(1), job(1, Status.CLOSED)).changes
    store.postings.record(
        checked(
            first.id,
            CheckOutcome.CHANGED,
            status=Status.CLOSED,
            snapshot=job(1, Status.CLOSED),
            changes=closing,
        )
    )
    engine.dispose()


def test_status_and_history_json_keep_their_fields(config_file: Path) -> None:
    _board_with_a_closed_member(config_file)
    text = invoke(config_file, "status").output
    assert "https://boards.greenhouse.io/acme (3 postings)" in text  # closed ones count too
    data = json.loads(invoke(config_file, "status", "--json").output)
    assert list(data) == ["now", "due", "daemons", "not_beating", "watches"]
    (board,) = data["watches"]
    expected = {
        "watch_id": 1,
        "url": "https://boards.greenhouse.io/acme",
        "source_kind": "greenhouse",
        "role": "board",
        "title": "",
        "status": "open",
        "last_checked_at": "2026-01-05T09:00:00+00:00",
        "last_outcome": "baseline",
        "last_error": None,
        "next_check_at": "2026-01-06T09:00:00+00:00",
        "consecutive_failures": 0,
        "members": 3,
    }
    assert (board, list(board)) == (expected, list(expected))
    history = json.loads(invoke(config_file, "history", "2", "--json").output)
    assert history["posting"] == {
        "id": 2,
        "url": "https://boards.greenhouse.io/acme/jobs/1",
        "status": "closed",
    }
    assert [list(v) for v in history["versions"]] == [
        ["version", "id", "captured_at", "posting"]
    ] * 2
    (closed,) = history["changes"]
    assert list(closed) == [
        "version",
        "version_id",
        "detected_at",
        "field",
        "kind",
        "old",
        "new",
        "summary",
    ]
    assert (closed["version"], closed["field"], closed["kind"]) == (2, "status", "closed")


def _daemon_row(config: Path, *, beat_age: timedelta, host: str | None = None) -> None:
    from monitor.config import load_config
    from monitor.store import Store
    from monitor.store.engine import create_db_engine, upgrade

    engine = create_db_engine(load_config(config).database_url)
    upgrade(engine)
    store = Store(engine)
    started = datetime.now(UTC) - beat_age - timedelta(minutes=1)
    store.processes.daemon_started("d1", host=host or socket.gethostname(), pid=4242, now=started)
    store.processes.heartbeat("d1", now=datetime.now(UTC) - beat_age, checks=17)
    engine.dispose()


def test_health_is_ok_while_the_daemon_beats(config_file: Path) -> None:
    _daemon_row(config_file, beat_age=timedelta(seconds=5))
    result = invoke(config_file, "health", "--require-daemon")
    assert result.exit_code == 0, result.output
    # The row was written a moment ago: on a slow machine the beat is a few seconds older.
    beat = re.search(r"daemon pid 4242 beat (\d+)s ago, 17 checks", result.output)
    assert beat is not None, result.output
    assert 5 <= int(beat[1]) <= 30


def test_health_fails_when_the_heartbeat_is_stale(config_file: Path) -> None:
    _daemon_row(config_file, beat_age=timedelta(minutes=10))
    result = CliRunner().invoke(cli, ["--config", str(config_file), "health"])
    assert result.exit_code == 1
    stale = re.search(r"unhealthy: daemon pid 4242 last beat (10m|\d+s) ago", result.output)
    assert stale is not None, result.output
    assert stale[1] == "10m" or 600 <= int(stale[1][:-1]) <= 630  # "601s" on a slow machine
    assert "stuck or killed" in result.output


def test_health_ignores_daemons_of_other_hosts(config_file: Path) -> None:
    _daemon_row(config_file, beat_age=timedelta(hours=2), host="elsewhere")
    assert invoke(config_file, "health").exit_code == 0
    required = CliRunner().invoke(cli, ["--config", str(config_file), "health", "--require-daemon"])
    assert required.exit_code == 1
    assert "no daemon is running" in required.output


def test_an_unreachable_database_is_a_configuration_error(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(
        "[database]\nurl = 'postgresql+psycopg://bob:s3cret@127.0.0.1:1/jobs'\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert result.exit_code == 2
    assert result.output.startswith(
        "configuration error: database.url: cannot reach the database "
        "postgresql+psycopg://bob:***@127.0.0.1:1/jobs"
    )
    assert "s3cret" not in result.output
    assert len(result.output.strip().splitlines()) == 1


BAD_CONFIGS = {
    "unknown-key": ("[http]\ntimeoutt = 3\n", "http.timeoutt: unknown setting"),
    "wrong-type": ("[scheduler]\nbatch_size = 'many'\n", "scheduler.batch_size"),
    "duplicate-watch": (
        "[[watches]]\nurl = 'https://x.test/j'\n[[watches]]\nurl = 'https://x.test/j'\n",
        "watched twice",
    ),
    "unknown-channel-tag": (
        "[[watches]]\nurl = 'https://x.test/j'\nchannels = ['pagers']\n",
        "no channel named or tagged pagers",
    ),
    "bad-interval": ("[[watches]]\nurl = 'https://x.test/j'\ninterval = '0s'\n", "interval"),
    "bad-cron": (
        "[[watches]]\nurl = 'https://x.test/j'\ncron = '0 25 * * *'\n",
        "watches[0].cron: '0 25 * * *' is not a cron schedule",
    ),
    "bad-daily-time": (
        "[[channels]]\nname = 'd'\nurl = 'console://'\ndigest_at = '25:00'\n",
        "channels[0].digest_at: '25:00' is not a daily time",
    ),
    "unreachable-database": (
        "[database]\nurl = 'postgresql+psycopg://bob:s3cret@127.0.0.1:1/jobs'\n",
        "database.url: cannot reach the database",
    ),
    "url-apprise-cannot-use": (
        "[[channels]]\nname = 'x'\nurl = 'nosuch://bob:s3cret@host/'\n",
        "bad.toml: channels[0].url: Apprise cannot use the URL of channel 'x': Unparseable URL",
    ),
    "broken-template": (
        "[templates]\ntext = '{{ broken'\n",
        "bad.toml: templates.text: template 'text': unexpected end of template",
    ),
}


# Found when channels and templates are built, which commands that only read never do
# (they load neither Apprise nor Jinja2); the commands that send find them first thing.
SENDING_ONLY = frozenset({"url-apprise-cannot-use", "broken-template"})


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        (command, kind)
        for command in ("check", "run", "status")
        for kind in sorted(BAD_CONFIGS)
        if command != "status" or kind not in SENDING_ONLY
    ],
)
def test_every_kind_of_bad_config_exits_2_naming_it_and_touches_no_data(
    tmp_path: Path, kind: str, command: str
) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[http]\nallowed_networks = ['127.0.0.1/32']\n", encoding="utf-8")
    assert invoke(good, "watch", "add", "https://x.test/jobs/1").exit_code == 0
    database = tmp_path / "data" / "monitor.db"
    before = database.read_bytes()
    text, message = BAD_CONFIGS[kind]
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(bad), command])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("configuration error: "), result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "s3cret" not in result.output
    assert database.read_bytes() == before


def test_a_config_that_does_not_load_is_reported_in_the_log_format_it_asks_for(
    tmp_path: Path,
) -> None:
    """A container collects JSON logs: its configuration's own error comes as JSON too."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'log_format = "json"\n[[channels]]\nname = "ops"\nurl = "mailto://u:s3cret@x"\n'
        'throttle = "soon"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(bad), "check"])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    record = json.loads(line)
    assert record["level"] == "error"
    assert record["message"].startswith(f"configuration error: {bad}: ")
    assert "s3cret" not in result.output


def test_watch_add_with_a_cron_schedule(config_file: Path) -> None:
    result = invoke(config_file, "watch", "add", "https://x.test/j/1", "--cron", "0 9 * * mon-fri")
    assert result.exit_code == 0, result.output
    assert "cron '0 9 * * mon-fri'" in result.output
    assert "cron '0 9 * * mon-fri'" in invoke(config_file, "watch", "list").output
    bad = CliRunner().invoke(
        cli, ["--config", str(config_file), "watch", "add", "https://x.test/j/2", "--cron", "9am"]
    )
    assert bad.exit_code == 2
    assert bad.output.startswith("configuration error: --cron: '9am' is not a cron schedule")
    both = CliRunner().invoke(
        cli,
        [
            *("--config", str(config_file), "watch", "add", "https://x.test/j/3"),
            "--cron",
            "0 9 * * *",
            "--interval",
            "2h",
        ],
    )
    assert both.exit_code == 2
    assert "set --interval or --cron, not both" in both.output


def test_check_exits_3_when_a_check_fails(config_file: Path, server: SeedServer) -> None:
    invoke(config_file, "watch", "add", server.url)
    invoke(config_file, "watch", "add", "http://127.0.0.1:9/jobs/nothing-listens-here")
    result = invoke(config_file, "check")
    assert "checked 2 postings (1 baseline, 1 error)" in result.output
    assert result.exit_code == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["health", "--max-age", "1x"], "configuration error: --max-age: '1x' is not a duration"),
        (
            ["watch", "add", "https://example.com/x", "--interval", "99999999999999999999d"],
            "configuration error: --interval: '99999999999999999999d' is longer than any duration",
        ),
        (
            ["watch", "add", "https://example.com/x", "--interval", "9999999d"],
            "configuration error: --interval: must be between 1 second and 365 days",
        ),
        (["watch", "add", "https://example.com/x", "--interval", "0s"], "between 1 second"),
    ],
)
def test_bad_durations_are_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert message in result.output


@pytest.mark.parametrize(
    ("data_dir", "reason"),
    [("a-file/data", "Not a directory"), ("a-file", "it is a file, not a folder")],
)
def test_an_unusable_data_dir_is_a_configuration_error(
    tmp_path: Path, data_dir: str, reason: str
) -> None:
    (tmp_path / "a-file").write_text("a file where a folder should be", encoding="utf-8")
    config = tmp_path / "monitor.toml"
    config.write_text(f"data_dir = '{tmp_path / data_dir}'\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert result.exit_code == 2
    assert result.output.startswith(
        f"configuration error: data_dir: cannot use '{tmp_path / data_dir}' for the database: {reason}"
    )
    assert result.output.count("\n") == 1


def test_a_list_setting_from_the_environment_that_is_not_json_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check"], env={"MONITOR_WATCHES": "not json"})
    assert result.exit_code == 2
    assert result.output == (
        "configuration error: configuration: watches (from MONITOR_WATCHES): not valid JSON"
        " (lists and tables are written as JSON, e.g. '[...]')\n"
    )


def test_a_whole_config_check_names_its_place_without_noise(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "[[watches]]\nurl = 'https://x.test/j'\nchannels = ['pagers']\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["--config", str(bad), "status"])
    assert result.output == (
        f"configuration error: {bad}: watches[0].channels: no channel named or tagged pagers\n"
    )


def test_history_numbers_versions_per_posting_and_json_times_are_iso_8601(
    config_file: Path, server: SeedServer
) -> None:
    invoke(config_file, "watch", "add", server.url)
    invoke(config_file, "check")
    server.current = REVISED_VERSION
    invoke(config_file, "check")  # posting #1 now has versions 1 and 2
    with SeedServer(seeds_dir(), FIRST_VERSION) as other:
        invoke(config_file, "watch", "add", other.url)
        invoke(config_file, "check")
    history = invoke(config_file, "history", "2")
    assert "\nversion 1 captured" in history.output  # its own first version
    assert "version 3" not in history.output
    data = json.loads(invoke(config_file, "history", "2", "--json").output)
    assert [v["version"] for v in data["versions"]] == [1]
    status = json.loads(invoke(config_file, "status", "--json").output)
    times = [status["now"]] + [w["last_checked_at"] for w in status["watches"]]
    assert all("T" in t and t.endswith("+00:00") for t in times), times


def test_watch_list_lines_up_and_shows_board_filters(config_file: Path) -> None:
    invoke(config_file, "watch", "add", "https://boards.greenhouse.io/acme", "--title", "backend",
           "--exclude-title", "intern")  # fmt: skip
    invoke(config_file, "watch", "add", "https://x.test/jobs/1", "--cron", "0 9 * * mon-fri")
    lines = invoke(config_file, "watch", "list").output.splitlines()
    assert lines[0].split() == ["ID", "SOURCE", "SCHEDULE", "CHANNELS", "ORIGIN", "URL"]
    url_column = lines[0].index("URL")
    assert all(line[url_column:].startswith("https://") for line in lines[1:])
    assert "filters: title backend; not-title intern" in lines[1]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://0177.0.0.1/x", "'0177.0.0.1' is not a valid IP address"),
        (
            "http://10.0.0.1/x",
            "10.0.0.1 is a private address (allow it with http.allowed_networks)",
        ),
        ("http://example.com:99999/x", "the port is not valid"),
        ("http://exa mple.com/x", "a space in the host name"),
        ("http://[2002:7f00:1::]/x", "a loopback address inside a 6to4 address"),
    ],
)
def test_watch_add_refuses_urls_that_can_never_be_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, why: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["watch", "add", url])
    assert result.exit_code == 2
    assert result.output.startswith(f"configuration error: URL: {url} can never be fetched: ")
    assert why in result.output
    assert result.output.count("\n") == 1


def test_a_configured_watch_that_can_never_be_fetched_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text("[[watches]]\nurl = 'http://192.168.1.10/jobs'\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert result.exit_code == 2
    assert (
        "watches[0].url: can never be fetched: 192.168.1.10 is a private address" in result.output
    )


def test_check_prints_one_summary_line_unless_verbose(
    config_file: Path, server: SeedServer
) -> None:
    invoke(config_file, "watch", "add", server.url)
    quiet = invoke(config_file, "check")
    assert quiet.output.splitlines() == [
        "checked 1 posting (1 baseline); alerts: 0 sent, 0 to retry, 0 failed"
    ]
    server.current = REVISED_VERSION
    verbose = invoke(config_file, "check", "-v")
    assert "monitor.pipeline: checked http://127.0.0.1" in verbose.output


READ_COMMANDS = (("status",), ("watch", "list"), ("alerts", "list"), ("--version",))
HEAVY = (
    "apprise",
    "aiohttp",
    "httpx",
    "jinja2",
    "alembic",
    "selectolax",
    "deepdiff",
    "apscheduler",
)


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_read_commands_load_no_http_client_channels_parsers_or_migrations(
    config_file: Path, command: tuple[str, ...]
) -> None:
    """Start-up time is mostly imports: a command that only reads must not load the
    libraries of checking, alerting or migrating (bench/oneshot.py times it)."""
    import subprocess
    import sys

    assert invoke(config_file, "db", "upgrade").exit_code == 0
    probe = (
        "import sys\n"
        "from monitor.cli import cli\n"
        "try:\n"
        f"    cli.main({['--config', str(config_file), *command]!r})\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_watch_import_adds_skips_and_refuses_naming_each_line(
    config_file: Path, tmp_path: Path
) -> None:
    assert invoke(config_file, "watch", "add", "https://example.com/jobs/1").exit_code == 0
    listing = tmp_path / "watches.txt"
    listing.write_text(
        "https://boards.greenhouse.io/acme\n"
        "https://example.com/jobs/1\n"  # already watched
        "https://example.com/jobs/2\n"
        "https://example.com/jobs/2\n"  # twice in the file
        "http://10.1.2.3/jobs/3\n"  # never fetchable
        "https://example.com/jobs/4\n",
        encoding="utf-8",
    )
    result = invoke(
        config_file, "watch", "import", str(listing), "--interval", "6h", "--title", "engineer"
    )
    assert result.exit_code == 1, result.output
    assert "added 3 watches, skipped 2 already watched, refused 1" in result.output
    assert (
        f"refused  {listing}, line 5: http://10.1.2.3/jobs/3: can never be fetched" in result.output
    )
    rows = {r.url: r for r in stored_watches(config_file)}
    assert set(rows) == {
        "https://example.com/jobs/1",
        "https://boards.greenhouse.io/acme",
        "https://example.com/jobs/2",
        "https://example.com/jobs/4",
    }
    assert rows["https://example.com/jobs/4"].interval == timedelta(hours=6)
    # The option filters go to boards only; a posting among them is not refused.
    board_filters = rows["https://boards.greenhouse.io/acme"].filters
    assert board_filters is not None
    assert board_filters.title == ("engineer",)
    again = invoke(config_file, "watch", "import", str(listing))
    assert "added 0 watches, skipped 5 already watched, refused 1" in again.output


def test_watch_import_toml_with_per_watch_settings_and_from_stdin(
    config_file: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "watches.toml"
    listing.write_text(
        '[[watches]]\nurl = "https://example.com/jobs/7"\ncron = "0 9 * * mon-fri"\n'
        '[[watches]]\nurl = "https://example.com/jobs/8"\nfilters = { title = ["x"] }\n',
        encoding="utf-8",
    )
    result = invoke(config_file, "watch", "import", str(listing))
    assert result.exit_code == 1
    assert (
        "watches[1]: https://example.com/jobs/8: filters: filters only apply to boards"
        in result.output
    )
    rows = stored_watches(config_file)
    assert [(r.url, r.cron) for r in rows] == [("https://example.com/jobs/7", "0 9 * * mon-fri")]
    piped = CliRunner().invoke(
        cli,
        ["--config", str(config_file), "watch", "import", "-"],
        input="https://example.com/jobs/9\n",
    )
    assert piped.exit_code == 0, piped.output
    assert "added 1 watch," in piped.output


def test_watch_import_of_an_unreadable_file_is_one_line_naming_it(
    config_file: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "w.json"
    broken.write_text("[", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config_file), "watch", "import", str(broken)])
    assert result.exit_code == 2
    assert result.output.startswith(f"configuration error: {broken}: not valid JSON")
    missing = CliRunner().invoke(
        cli, ["--config", str(config_file), "watch", "import", str(tmp_path / "nope.txt")]
    )
    assert missing.exit_code == 2
    assert "nope.txt: cannot read it: No such file or directory" in missing.output


def test_check_shows_no_progress_when_stderr_is_not_a_terminal(
    config_file: Path, server: SeedServer
) -> None:
    assert invoke(config_file, "watch", "add", server.url).exit_code == 0
    result = CliRunner().invoke(cli, ["--config", str(config_file), "check"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert len(result.stdout.strip().splitlines()) == 1


def test_watch_add_reads_a_url_with_the_source_named(config_file: Path) -> None:
    fronted = "https://careers.northwind.example/en-US/External_Careers"
    added = invoke(config_file, "watch", "add", fronted, "--source", "workday")
    assert added.exit_code == 0, added.output
    assert "(workday board," in added.output
    wrong = invoke(config_file, "watch", "add", "https://x.test/jobs/1", "--source", "lever")
    assert wrong.exit_code == 2
    assert "is not a URL the lever source reads" in wrong.output
    unknown = invoke(config_file, "watch", "add", "https://x.test/jobs/1", "--source", "nope")
    assert unknown.exit_code == 2
    assert "unknown source kind 'nope'" in unknown.output


def test_a_process_restarted_with_the_same_pid_ends_the_row_of_the_one_before(
    config_file: Path,
) -> None:
    """A container restarted after a kill is pid 1 of the same host again: its new row
    ends the old one, and health judges the process running now."""
    from monitor.config import load_config
    from monitor.store import Store
    from monitor.store.engine import create_db_engine, upgrade

    _daemon_row(config_file, beat_age=timedelta(minutes=10))  # killed: no stop written
    engine = create_db_engine(load_config(config_file).database_url)
    upgrade(engine)
    store = Store(engine)
    store.processes.daemon_started(
        "d2", host=socket.gethostname(), pid=4242, now=datetime.now(UTC) - timedelta(seconds=5)
    )
    (running,) = store.processes.daemons(running_only=True)
    earlier = next(d for d in store.processes.daemons() if d.id == "d1")
    engine.dispose()
    assert running.id == "d2"
    assert earlier.stopped_at == earlier.beat_at  # stopped as of its last beat
    assert invoke(config_file, "health", "--require-daemon").exit_code == 0


def test_status_says_a_process_that_stopped_beating_stopped_uncleanly(config_file: Path) -> None:
    _daemon_row(config_file, beat_age=timedelta(minutes=10), host="elsewhere")
    result = invoke(config_file, "status")
    assert "daemon elsewhere pid 4242" in result.output
    assert "stopped uncleanly" in result.output
    assert "no daemon or worker running" in result.output
    listed = json.loads(invoke(config_file, "status", "--json").output)
    assert listed["daemons"] == []
    assert [d["pid"] for d in listed["not_beating"]] == [4242]


def test_a_taken_port_names_where_the_address_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """W25: with no web.listen set, the message says the default was used and names
    both --listen and web.listen; with web.listen set, it names it and --listen."""
    import monitor.config

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        plain = tmp_path / "plain.toml"
        plain.write_text(f'data_dir = "{tmp_path}"\n', encoding="utf-8")
        monkeypatch.setattr(monitor.config, "DEFAULT_WEB_LISTEN", address)
        default = CliRunner().invoke(cli, ["--config", str(plain), "web"])
        listed = tmp_path / "listed.toml"
        listed.write_text(
            f'data_dir = "{tmp_path}"\n[web]\nlisten = "{address}"\n', encoding="utf-8"
        )
        configured = CliRunner().invoke(cli, ["--config", str(listed), "web"])
    assert default.exit_code == configured.exit_code == 2
    assert f"cannot listen on {address} (the default)" in default.output
    assert "web.listen: " not in default.output
    assert "neither --listen nor web.listen is set" in default.output
    assert f"web.listen: cannot listen on {address}" in configured.output
    assert "--listen HOST:PORT" in configured.output


def test_an_unreadable_config_file_is_a_json_line_when_json_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 0600 config file owned by someone else (what `umask 077` writes): in the
    container (MONITOR_LOG_FORMAT=json) the error is one JSON line naming the fix, not
    click's plain-text usage error."""
    import os

    path = tmp_path / "monitor.toml"
    path.write_text('log_format = "json"\n', encoding="utf-8")
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: deny it as the kernel would
        access, opened = os.access, Path.open

        def deny_access(name: object, mode: int, *args: object, **kwargs: object) -> bool:
            return False if Path(str(name)) == path else access(name, mode, *args, **kwargs)  # type: ignore[arg-type]

        def deny_open(self: Path, *args: object, **kwargs: object) -> object:
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return opened(self, *args, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr(os, "access", deny_access)
        monkeypatch.setattr(Path, "open", deny_open)
    result = CliRunner().invoke(
        cli, ["--config", str(path), "check"], env={"MONITOR_LOG_FORMAT": "json"}
    )
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    record = json.loads(line)
    assert record["level"] == "error"
    assert str(path) in record["message"]
    assert "permission denied" in record["message"]
    assert f"chmod 0644 {path}" in record["message"]


def test_watch_add_files_a_watch_under_tags(config_file: Path, server: SeedServer) -> None:
    added = invoke(config_file, "watch", "add", server.url, "--tag", "Backend", "--tag", "eu")
    assert added.exit_code == 0, added.output
    assert [w.tags for w in stored_watches(config_file)] == [("backend", "eu")]
    wrong = invoke(config_file, "watch", "add", server.url + "?b", "--tag", "no spaces")
    assert wrong.exit_code == 2
    assert "not a tag" in wrong.output


def test_configured_tags_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "tags.toml"
    path.write_text("[[watches]]\nurl = 'https://x.test/j'\ntags = ['a b']\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "check"])
    assert result.exit_code == 2
    assert "not a tag" in result.output


def test_test_source_content_type_without_a_file_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        cli, ["test-source", "https://boards.greenhouse.io/acme", "--content-type", "text/html"]
    )
    assert result.exit_code == 2
    assert "--content-type needs --file" in result.output
