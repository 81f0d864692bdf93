from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from monitor.config import MonitorConfig, load_config, parse_duration, requested_log_format
from monitor.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "config" / "monitor.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_need_no_file() -> None:
    config = load_config(None, environ={})
    assert config.database_url == "sqlite:///data/monitor.db"
    assert [c.name for c in config.channels] == ["console"]


def test_example_config_is_valid() -> None:
    config = load_config(EXAMPLE, environ={})
    assert config.watches, "the example should show how to watch something"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("bogus = 1", "bogus: unknown setting", id="unknown-top-level-key"),
        pytest.param(
            "[http]\ntimeout = 'soon'", "http.timeout: 'soon' is not a duration", id="bad-duration"
        ),
        pytest.param(
            "[[watches]]\nurl = 'ftp://x/y'",
            "watches[0].url: 'ftp://x/y' is not an http(s) URL",
            id="bad-url",
        ),
        pytest.param(
            "[[watches]]\nurl = 'https://x.test/j'\ninterval = 0",
            "watches[0].interval: must be between",
            id="zero-interval",
        ),
        pytest.param(
            "[[watches]]\nurl = 'https://x.test/j'\nchannels = ['nope']",
            "no channel named or tagged nope",
            id="unknown-channel",
        ),
        pytest.param(
            "[[watches]]\nurl = 'https://x.test/j'\n[[watches]]\nurl = 'https://x.test/j'",
            "watched twice",
            id="duplicate-watch",
        ),
        pytest.param(
            "[database]\nurl = 'mysql://x'",
            "database.url: only sqlite and postgresql",
            id="unsupported-database",
        ),
        pytest.param(
            "[[channels]]\nname = 'a'\nurl = 'nonsense'",
            "channels[0].url: not a notification URL",
            id="channel-url",
        ),
        pytest.param("watches = [", "cannot read", id="toml-syntax"),
        pytest.param(
            "[http]\nca_bundle = '/nonexistent/ca.pem'",
            "http.ca_bundle: /nonexistent/ca.pem cannot be read as PEM certificates",
            id="ca-bundle-missing",
        ),
        pytest.param(
            "[http]\nca_bundle = 'monitor.toml'",
            "http.ca_bundle: monitor.toml cannot be read as PEM certificates",
            id="ca-bundle-not-pem",
        ),
    ],
)
def test_errors_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.toml", environ={})


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[database]\nurl = 'sqlite:///file.db'\n[http]\nmax_redirects = 3")
    config = load_config(
        path,
        environ={
            "MONITOR_DATABASE__URL": "sqlite:///env.db",
            "MONITOR_HTTP__TIMEOUT": "45s",
            "MONITOR_WATCHES": '[{"url": "https://x.test/j", "interval": "15m"}]',
        },
    )
    assert config.database_url == "sqlite:///env.db"
    assert config.http.timeout == timedelta(seconds=45)
    assert config.http.max_redirects == 3
    assert config.watches[0].interval == timedelta(minutes=15)


def test_environment_errors_name_the_variable() -> None:
    with pytest.raises(
        ConfigError,
        match=r"scheduler.max_concurrent_checks \(from MONITOR_SCHEDULER__MAX_CONCURRENT_CHECKS\)",
    ):
        load_config(None, environ={"MONITOR_SCHEDULER__MAX_CONCURRENT_CHECKS": "-1"})


def test_unrelated_monitor_variables_are_ignored_but_typos_below_are_not() -> None:
    assert load_config(None, environ={"MONITOR_SOMETHING_ELSE": "1"}).channels
    with pytest.raises(
        ConfigError, match=r"http.timeoutt \(from MONITOR_HTTP__TIMEOUTT\): unknown"
    ):
        load_config(None, environ={"MONITOR_HTTP__TIMEOUTT": "1s"})


def test_config_file_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "log_level = 'DEBUG'")
    assert load_config(None, environ={"MONITOR_CONFIG": str(path)}).log_level == "DEBUG"


def test_channel_urls_are_secret_in_repr() -> None:
    config = MonitorConfig.model_validate(
        {"channels": [{"name": "mail", "url": "mailto://me:hunter2@example.com"}]}
    )
    assert "hunter2" not in repr(config)
    assert "hunter2" not in str(config.model_dump())


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h30m", 5400), ("2d", 172800), (30, 30), ("1d 2h", 93600)],
)
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_secrets_come_from_environment_variables_and_files(tmp_path: Path) -> None:
    secret = tmp_path / "db_password"
    secret.write_text("s3cret\n", encoding="utf-8")
    path = tmp_path / "monitor.toml"
    path.write_text(
        "[database]\n"
        f'url = "postgresql+psycopg://monitor:${{file:{secret}}}@db/monitor"\n'
        '[[channels]]\nname = "slack"\nurl = "slack://${env:SLACK_TOKEN}/#jobs"\n'
        '[[channels]]\nname = "odd"\nurl = "json://example.com/?q=$${literal}"\n',
        encoding="utf-8",
    )
    config = load_config(path, environ={"SLACK_TOKEN": "T000/B000/XXX"})
    assert config.database.url == "postgresql+psycopg://monitor:s3cret@db/monitor"
    assert config.channels[0].url.get_secret_value() == "slack://T000/B000/XXX/#jobs"
    assert config.channels[1].url.get_secret_value() == "json://example.com/?q=${literal}"
    assert "T000" not in repr(config)


def test_a_missing_secret_names_the_setting_not_the_value(tmp_path: Path) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text('[[channels]]\nname = "slack"\nurl = "slack://${env:SLACK_TOKEN}"\n')
    with pytest.raises(
        ConfigError, match=r"channels\[0\]\.url: environment variable SLACK_TOKEN is not set"
    ):
        load_config(path, environ={})
    path.write_text('[database]\nurl = "${file:/nonexistent/secret}"\n')
    with pytest.raises(
        ConfigError, match=r"database\.url: cannot read secret file /nonexistent/secret"
    ):
        load_config(path, environ={})


def test_secret_references_work_in_environment_overrides(tmp_path: Path) -> None:
    config = load_config(
        None,
        environ={"MONITOR_DATABASE__URL": "sqlite:///${env:DB_FILE}", "DB_FILE": "/tmp/x.db"},
    )
    assert config.database.url == "sqlite:////tmp/x.db"


def test_a_secret_error_names_where_the_reference_was_read(tmp_path: Path) -> None:
    """A reference set by a MONITOR_* variable (as docker-compose.yml does) is blamed on
    that variable, not on the config file beside it; one in the file, on the file."""
    path = tmp_path / "monitor.toml"
    path.write_text('[database]\nurl = "sqlite:///${file:/nonexistent/in-file}"\n')
    environ = {"MONITOR_DATABASE__URL": "postgresql+psycopg://m:${file:/nonexistent/env}@db/m"}
    with pytest.raises(ConfigError) as raised:
        load_config(path, environ=environ)
    assert raised.value.source == "MONITOR_DATABASE__URL"
    assert str(raised.value).startswith(
        "MONITOR_DATABASE__URL: database.url: cannot read secret file /nonexistent/env"
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path, environ={})
    assert raised.value.source == str(path)
    assert "/nonexistent/in-file" in str(raised.value)
    # A whole setting set by a variable: the variable too.
    with pytest.raises(ConfigError, match=r"^MONITOR_CHANNELS: channels: environment variable NO_"):
        load_config(
            None,
            environ={"MONITOR_CHANNELS": '[{name = "s", url = "slack://${env:NO_TOKEN}"}]'},
        )


def test_a_secret_in_a_urls_user_info_is_percent_encoded(tmp_path: Path) -> None:
    """openssl rand -base64 passwords hold "/" and "+"; "@", ":" and "#" break URLs too."""
    secret = tmp_path / "db_password.txt"
    secret.write_text("Xy@Zz/Q9:w#k+\n", encoding="utf-8")
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"[database]\nurl = 'postgresql+psycopg://monitor:${{file:{secret}}}@db:5432/jobs'\n"
        f"[[channels]]\nname = 'hook'\nurl = 'json://bot:${{file:{secret}}}@hooks.test/a/${{file:{secret}}}'\n",
        encoding="utf-8",
    )
    loaded = load_config(config, environ={})
    url = make_url(loaded.database_url)
    assert (url.username, url.password, url.host, url.port) == (
        "monitor",
        "Xy@Zz/Q9:w#k+",
        "db",
        5432,
    )
    hook = loaded.channels[0].url.get_secret_value()
    assert hook == "json://bot:Xy%40Zz%2FQ9%3Aw%23k%2B@hooks.test/a/Xy@Zz/Q9:w#k+"


@pytest.mark.parametrize(
    ("file_text", "environ", "expected"),
    [
        ('log_format = "json"\ninterval = "soon"\n', {}, "json"),  # the rest is broken
        ('log_format = "json"\n', {"MONITOR_LOG_FORMAT": "text"}, "text"),  # env wins
        ('log_format = "text"\n', {"MONITOR_LOG_FORMAT": "json"}, "json"),
        ("", {"MONITOR_LOG_FORMAT": "json"}, "json"),
        ('log_format = "yaml"\n', {}, "text"),  # not a format: text
        ('log_format = "json"\n[[watches]\n', {}, "text"),  # not TOML: nothing to go on
        (None, {}, "text"),  # no such file
    ],
)
def test_the_log_format_asked_for_is_read_from_a_config_that_does_not_load(
    tmp_path: Path, file_text: str | None, environ: dict[str, str], expected: str
) -> None:
    path = tmp_path / "monitor.toml"
    if file_text is not None:
        path.write_text(file_text, encoding="utf-8")
    assert requested_log_format(path, environ) == expected
    assert requested_log_format(None, {**environ, "MONITOR_CONFIG": str(path)}) == expected


@pytest.mark.parametrize(
    ("cpus", "processes", "engine", "checkers", "readers_each"),
    [
        (2, None, "local", 1, 1),  # one process per two cores; the other core reads
        (1, None, "local", 1, 1),  # one core: one process, still a reader
        (4, None, "local", 2, 1),  # the 2 cores the processes leave, shared
        (5, None, "local", 2, 2),  # 3 readers among 2: rounded up
        (8, 3, "local", 3, 2),  # set: 3 processes; 5 readers among them
        (20, None, "local", 10, 1),  # 8 readers at most, but each process reads
        (4, None, "procrastinate", 1, 3),  # each worker is a process of its own
    ],
)
def test_checker_processes_and_their_readers(
    monkeypatch: pytest.MonkeyPatch,
    cpus: int,
    processes: int | None,
    engine: str,
    checkers: int,
    readers_each: int,
) -> None:
    from monitor.config import sections

    monkeypatch.setattr(sections, "_cpus", lambda: cpus)
    database = {"url": "postgresql+psycopg://db.example/monitor"} if engine != "local" else {}
    config = MonitorConfig.model_validate(
        {"engine": engine, "database": database, "scheduler": {"processes": processes}}
    )
    assert config.checker_processes() == checkers
    readers = sections.readers_per_process(None, checkers=config.checker_processes(), cpus=cpus)
    assert readers == readers_each


def test_readers_set_are_per_checker_process() -> None:
    from monitor.config.sections import readers_per_process

    assert readers_per_process(3, checkers=4, cpus=8) == 3
    assert readers_per_process(0, checkers=1, cpus=8) == 0


@pytest.mark.parametrize("processes", [0, 65, -1])
def test_processes_out_of_range_name_the_setting(processes: int) -> None:
    with pytest.raises(ValueError, match=r"scheduler\.processes"):
        MonitorConfig.model_validate({"scheduler": {"processes": processes}})


def test_a_permission_error_names_the_user_to_give_the_file_to() -> None:
    import os

    from monitor.config.loading import _unreadable

    message = _unreadable("/run/secrets/db")
    assert f"readable by uid {os.getuid()}," in message
    assert "chmod 0644 /run/secrets/db" in message


def test_the_machines_usable_cores_are_those_this_process_may_run_on() -> None:
    import os

    from monitor.config import sections

    assert sections._cpus() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("seconds", "allowed"),
    [(0.1, True), (0.099, False), (600, True), (600.001, False), (10, True)],
)
def test_a_reading_time_limit_lies_between_a_tenth_of_a_second_and_ten_minutes(
    seconds: float, allowed: bool
) -> None:
    settings = {"reading": {"time_limit": seconds}}
    if allowed:
        limit = MonitorConfig.model_validate(settings).reading.time_limit
        assert limit == timedelta(seconds=seconds)
        return
    with pytest.raises(
        ValueError,
        match=r"reading\.time_limit\n  Value error, must be between 0\.1 seconds and 10 minutes \[",
    ):
        MonitorConfig.model_validate(settings)


def test_readers_are_eight_at_most_by_default() -> None:
    from monitor.config.sections import readers_per_process

    assert readers_per_process(None, checkers=1, cpus=20) == 8
    assert readers_per_process(None, checkers=1, cpus=9) == 8
    assert readers_per_process(None, checkers=1, cpus=8) == 7  # a core for the checking


@pytest.mark.parametrize(("cpu_count", "expected"), [(6, 6), (None, 1)])
def test_without_cpu_affinity_the_cores_are_the_machines(
    monkeypatch: pytest.MonkeyPatch, cpu_count: int | None, expected: int
) -> None:
    import os

    from monitor.config import sections

    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: cpu_count)
    assert sections._cpus() == expected
