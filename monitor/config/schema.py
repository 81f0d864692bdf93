"""What is watched, where alerts go, and the top-level schema that holds every
section and checks them against each other."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from monitor.config.sections import (
    AlertConfig,
    BrowserConfig,
    DatabaseConfig,
    HttpConfig,
    ReadingConfig,
    SchedulerConfig,
    WebConfig,
)
from monitor.config.values import (
    Duration,
    _Strict,
    check_interval,
    host_port,
    is_loopback_host,
    parse_daily_time,
)
from monitor.urls import url_problem

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


JSON_SCHEMES = frozenset({"json", "jsons", "http", "https"})


class ChannelConfig(_Strict):
    name: str = Field(description="Unique channel name; watches may name it.")
    url: SecretStr = Field(
        description="Apprise URL (mailto://, slack://, discord://, json://, ...) or console://"
    )
    tags: tuple[str, ...] = Field(default=(), description="Tags watches can route by.")
    format: Literal["markdown", "text", "html", "json"] = Field(
        default="markdown",
        description="Body format sent to this channel; json: POST the structured payload "
        "(README, 'Structured webhooks') to a json://, jsons://, http:// or https:// URL.",
    )
    digest: Duration | None = Field(
        default=None, description="Send one summary every this long instead of each alert."
    )
    digest_at: str | None = Field(
        default=None,
        description="Send one summary a day at this time: 'HH:MM' (UTC) or 'HH:MM Area/City'.",
    )

    @field_validator("digest_at")
    @classmethod
    def _daily_time(cls, value: str | None) -> str | None:
        if value is not None:
            parse_daily_time(value)
        return value

    @model_validator(mode="after")
    def _one_digest_mode(self) -> ChannelConfig:
        if self.digest is not None and self.digest_at is not None:
            raise ValueError("set digest (an interval) or digest_at (a daily time), not both")
        if self.digest is not None and self.digest < timedelta(minutes=1):
            raise ValueError("digest must be at least 1 minute")
        return self

    @model_validator(mode="after")
    def _json_goes_to_a_webhook(self) -> ChannelConfig:
        scheme = self.url.get_secret_value().strip().split("://", 1)[0].lower()
        if self.format == "json" and scheme not in JSON_SCHEMES:
            raise ValueError(
                f"format 'json' posts to a web address: use json://, jsons://, http:// or "
                f"https:// (not {scheme}://)"
            )
        return self

    @field_validator("name")
    @classmethod
    def _valid_name(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError("use letters, digits, '.', '_' or '-' (at most 64)")
        return name

    @field_validator("url")
    @classmethod
    def _has_scheme(cls, url: SecretStr) -> SecretStr:
        if "://" not in url.get_secret_value():
            raise ValueError("not a notification URL: expected scheme://... (see Apprise's list)")
        return url


AlertField = Literal[
    "salary",
    "remote",
    "requirements",
    "title",
    "company",
    "location",
    "employment_type",
    "new",
    "closed",
    "reopened",
    "reposted",
    "error",
]


class RuleConfig(_Strict):
    """Which changes alert, and where. A change that matches no rule is stored, not sent."""

    name: str = Field(default="", description="Shown in logs.")
    fields: tuple[AlertField, ...] = Field(
        default=(), description="Kinds of change that alert; empty means every kind."
    )
    salary_min_change_percent: float = Field(
        default=0, ge=0, description="Pay changes smaller than this (in %) do not alert."
    )
    salary_direction: Literal["any", "increase", "decrease"] = Field(
        default="any", description="Only pay raises, only cuts, or both."
    )
    keywords: tuple[str, ...] = Field(
        default=(), description="Only postings whose title, company or department has one of these."
    )
    channels: tuple[str, ...] = Field(
        default=(), description="Channel names or tags; empty means every channel."
    )


class TemplatesConfig(_Strict):
    """Jinja2 templates (sandboxed) replacing the built-in ones; see README."""

    title: str | None = Field(default=None, description="One line: the alert's title.")
    text: str | None = Field(default=None, description="Plain-text body.")
    markdown: str | None = Field(default=None, description="Markdown body.")
    html: str | None = Field(default=None, description="HTML body (autoescaped).")


class FiltersConfig(_Strict):
    title: tuple[str, ...] = Field(default=(), description="Follow titles with any of these words.")
    exclude_title: tuple[str, ...] = Field(default=(), description="Skip titles with any of these.")
    department: tuple[str, ...] = Field(default=(), description="Follow these departments.")
    location: tuple[str, ...] = Field(default=(), description="Follow postings in these places.")


Render = Literal["plain", "browser", "auto"]
Members = Literal["full", "list"]


class WatchConfig(_Strict):
    url: str = Field(description="A posting page or a company board URL.")
    interval: Duration = Field(default=timedelta(hours=1), description="Time between checks.")
    render: Render = Field(
        default="plain",
        description="browser: load the page in headless Chromium (pages that build the posting "
        "with JavaScript); auto: only when a plain fetch finds no posting in an app shell.",
    )
    members: Members = Field(
        default="full",
        description="Boards: full reads each posting's job too where the board's list lacks "
        "pay, remote policy and requirements (Workday, SmartRecruiters, BambooHR, JazzHR, "
        "Breezy), one request per posting per interval; list reads the list only (new and "
        "closed postings, titles, places).",
    )
    source: str | None = Field(
        default=None,
        description="The source kind to read it with (see `posting-monitor features`); "
        'default: picked from the URL. Needed where nothing in the URL says, e.g. "workday" '
        "for a Workday site on a company's own domain.",
    )
    channels: tuple[str, ...] = Field(
        default=(), description="Channel names or tags to alert; empty means every channel."
    )
    filters: FiltersConfig = Field(
        default_factory=FiltersConfig, description="For boards: which postings are followed."
    )
    rules: tuple[RuleConfig, ...] = Field(
        default=(), description="Routing rules for this watch (before the global ones)."
    )
    tags: tuple[str, ...] = Field(
        default=(),
        description="Words to file it under in the dashboard (the watches list filters by "
        "them): lower case letters, digits, '-', '_' or '.'.",
    )

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        from monitor.records import watch_tags

        return watch_tags(tags)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url.strip()

    cron: str | None = Field(
        default=None,
        description="Check on a cron schedule instead of an interval: 'minute hour day month "
        "weekday', optionally a time zone after it (default UTC), e.g. '0 9 * * mon-fri "
        "Europe/Berlin'.",
    )

    @field_validator("interval")
    @classmethod
    def _sane_interval(cls, interval: timedelta) -> timedelta:
        return check_interval(interval)

    @field_validator("cron")
    @classmethod
    def _cron_schedule(cls, expression: str | None) -> str | None:
        if expression is None:
            return None
        from monitor.core.schedule import normalized

        return normalized(expression)

    @model_validator(mode="after")
    def _interval_or_cron(self) -> WatchConfig:
        if self.cron is None:
            return self
        if "interval" in self.model_fields_set:
            raise ValueError("set interval or cron, not both")
        from monitor.core.schedule import typical_gap

        object.__setattr__(self, "interval", typical_gap(self.cron, datetime.now(UTC)))
        return self


def _default_channels() -> tuple[ChannelConfig, ...]:
    return (ChannelConfig(name="console", url=SecretStr("console://"), tags=("default",)),)


class MonitorConfig(_Strict):
    data_dir: Path = Field(default=Path("data"), description="Where the SQLite database lives.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO")
    log_format: Literal["text", "json"] = Field(default="text", description="json for containers.")
    engine: Literal["local", "procrastinate"] = Field(
        default="local",
        description="local: one process (run) schedules and checks; procrastinate: any number "
        "of `posting-monitor worker` processes share the work through PostgreSQL.",
    )
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    reading: ReadingConfig = Field(default_factory=ReadingConfig)
    alerts: AlertConfig = Field(default_factory=AlertConfig)
    channels: tuple[ChannelConfig, ...] = Field(
        default_factory=_default_channels, description="Where alerts go; default: the console."
    )
    watches: tuple[WatchConfig, ...] = Field(default=(), description="Postings and boards.")
    rules: tuple[RuleConfig, ...] = Field(
        default=(),
        description="Routing rules for every watch; none: everything to each watch's channels.",
    )
    templates: TemplatesConfig = Field(default_factory=TemplatesConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    browser: BrowserConfig = Field(default_factory=BrowserConfig)

    @model_validator(mode="after")
    def _consistent(self) -> MonitorConfig:
        names = [c.name for c in self.channels]
        duplicated = sorted(n for n, count in Counter(names).items() if count > 1)
        if duplicated:
            raise ValueError(f"channel names must be unique: {', '.join(duplicated)}")
        known = set(names) | {t for c in self.channels for t in c.tags}
        for index, watch in enumerate(self.watches):
            _known_targets(known, watch.channels, f"watches[{index}].channels")
            for r, rule in enumerate(watch.rules):
                _known_targets(known, rule.channels, f"watches[{index}].rules[{r}].channels")
        for r, rule in enumerate(self.rules):
            _known_targets(known, rule.channels, f"rules[{r}].channels")
        networks = self.http.networks()
        for index, watch in enumerate(self.watches):
            problem = url_problem(watch.url, networks)
            if problem is not None:
                raise ValueError(f"watches[{index}].url: can never be fetched: {problem}")
        counts = Counter(w.url for w in self.watches)
        repeated = sorted(u for u, n in counts.items() if n > 1)
        if repeated:
            raise ValueError(f"a URL is watched twice: {', '.join(repeated)}")
        if self.web.listen is not None and not self.web.has_credentials:
            host = host_port(self.web.listen)[0]
            if not is_loopback_host(host):
                raise ValueError(
                    f"web.listen: {self.web.listen} is beyond this machine: set web.token "
                    "(or web.username and web.password), or listen on 127.0.0.1"
                )
        if self.engine == "procrastinate" and not self.database_url.startswith("postgresql"):
            raise ValueError(
                'engine = "procrastinate" needs PostgreSQL: set database.url to a '
                "postgresql+psycopg:// URL (workers on several machines share one database)"
            )
        return self

    @property
    def database_setting(self) -> str:
        """The setting the database URL comes from, for error messages."""
        return "database.url" if self.database.url else "data_dir"

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'monitor.db'}"

    def checker_processes(self) -> int:
        """Processes that check under one ``run``: ``scheduler.processes`` with the local
        engine; one with procrastinate (each worker is a process of its own)."""
        return self.scheduler.process_count() if self.engine == "local" else 1


def _known_targets(known: set[str], wanted: tuple[str, ...], where: str) -> None:
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise ValueError(f"{where}: no channel named or tagged {', '.join(unknown)}")
