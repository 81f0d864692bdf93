"""The one configuration schema, validated before anything starts.

Settings come from a TOML file (``--config``, or ``MONITOR_CONFIG``) and are
overridden by environment variables: ``MONITOR_`` + the setting's path in upper
case with ``__`` between levels, e.g. ``MONITOR_DATABASE__URL`` or
``MONITOR_HTTP__TIMEOUT``. Lists (``MONITOR_WATCHES``) take JSON. Every error
names the file or variable and the field.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.addresses import valid_networks
from monitor.errors import ConfigError
from monitor.urls import url_problem

ENV_PREFIX = "MONITOR_"
CONFIG_ENV = "MONITOR_CONFIG"
CLAIM_LEASE_SENDS = 4  # a claim on alerts lasts this many send timeouts
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def parse_duration(value: Any) -> timedelta:
    """'90s', '15m', '1h30m', '2d', or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value)) if isinstance(value, str) and value.strip() else None
    if match is None or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration; write e.g. '90s', '15m', '1h30m' or '1d'")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    try:
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError as exc:
        raise ValueError(f"{value!r} is longer than any duration this tool can use") from exc


MIN_INTERVAL, MAX_INTERVAL = timedelta(seconds=1), timedelta(days=365)


def check_interval(interval: timedelta) -> timedelta:
    """A watch's interval: between 1 second and 365 days."""
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise ValueError("must be between 1 second and 365 days")
    return interval


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Strict):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: a SQLite file monitor.db in data_dir. "
        "PostgreSQL: postgresql+psycopg://user:password@host/db",
    )
    auto_migrate: bool = Field(default=True, description="Apply schema migrations at start.")
    keep_check_log: Duration = Field(
        default=timedelta(days=90),
        description="Check log rows (one per check: outcome, status, latency) older than this "
        "are deleted by `db prune` and hourly by daemons and workers; 0: keep forever. The "
        "versions and changes that are the history are never deleted.",
    )
    keep_sent_alerts: Duration = Field(
        default=timedelta(days=30),
        description="Alerts sent longer ago than this are deleted likewise (failed and pending "
        "ones never); 0: keep forever.",
    )

    @field_validator("url")
    @classmethod
    def _known_driver(cls, url: str | None) -> str | None:
        if url is None:
            return url
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ValueError("not a database URL (e.g. sqlite:///data/monitor.db)") from None
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("only sqlite and postgresql databases are supported")
        return url


class HostLimits(_Strict):
    concurrency: int = Field(default=2, gt=0, le=256, description="Requests in flight.")
    rate: float = Field(default=2.0, ge=0, description="Requests per second; 0: no limit.")


class HttpConfig(_Strict):
    timeout: Duration = Field(default=timedelta(seconds=20), description="Per-request timeout.")
    user_agent: str = Field(
        default="PostingMonitor/0.1 (+https://github.com/posting-monitor/posting-monitor)",
        description="User-Agent sent with every request.",
    )
    max_body_bytes: int = Field(default=5_000_000, gt=0, description="Larger bodies are an error.")
    max_redirects: int = Field(default=5, ge=0, le=20, description="Redirects followed per fetch.")
    max_connections: int = Field(default=20, gt=0, description="Open connections at most.")
    http2: bool = Field(default=True, description="Use HTTP/2 where an https server offers it.")
    per_host_concurrency: int = Field(
        default=2, gt=0, le=64, description="Requests in flight to one host at most."
    )
    per_host_rate: float = Field(
        default=2.0, ge=0, description="Requests per second to one host at most; 0: no limit."
    )
    hosts: dict[str, HostLimits] = Field(
        default_factory=dict,
        description="Limits for named hosts instead of the per_host ones, e.g. an API you own.",
    )
    host_pause_after: int = Field(
        default=3, gt=0, description="Failed requests in a row before a host is paused."
    )
    max_host_pause: Duration = Field(
        default=timedelta(minutes=30), description="Longest pause for a failing host."
    )
    max_retry_after: Duration = Field(
        default=timedelta(hours=6), description="Longest Retry-After honoured from a server."
    )
    allowed_networks: tuple[str, ...] = Field(
        default=(),
        description="Private, loopback or link-local networks fetches may reach (CIDR, e.g. "
        "127.0.0.0/8); all others are refused.",
    )
    respect_robots_txt: bool = Field(
        default=False, description="Fetch nothing a site's robots.txt disallows for our agent."
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="PEM file of certificate authorities to trust instead of the bundled ones "
        "(certifi), e.g. for a company's TLS-inspecting proxy.",
    )

    @field_validator("ca_bundle")
    @classmethod
    def _readable_certificates(cls, path: Path | None) -> Path | None:
        if path is not None:
            import ssl

            try:
                ssl.create_default_context(cafile=str(path))
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"{path} cannot be read as PEM certificates: {exc}") from None
        return path

    @field_validator("allowed_networks", mode="before")
    @classmethod
    def _networks(cls, values: Any) -> tuple[str, ...]:
        if isinstance(values, str):
            values = [values]
        return valid_networks(list(values))

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(n, strict=False) for n in self.allowed_networks]


class SchedulerConfig(_Strict):
    dispatch_every: Duration = Field(
        default=timedelta(seconds=5), description="How often the daemon looks for due postings."
    )
    deliver_every: Duration = Field(
        default=timedelta(seconds=5), description="How often the daemon delivers queued alerts."
    )
    max_concurrent_checks: int = Field(default=32, gt=0, le=256, description="Checks in flight.")
    batch_size: int = Field(default=200, gt=0, description="Due postings claimed per dispatch.")
    jitter: float = Field(
        default=0.1,
        ge=0,
        le=0.5,
        description="Spread of each next check around its interval (0.1: +/-10%).",
    )
    write_batch_size: int = Field(
        default=500, gt=0, description="Check results written per database transaction at most."
    )
    heartbeat_every: Duration = Field(
        default=timedelta(seconds=15), description="How often the daemon records that it lives."
    )
    metrics_listen: str | None = Field(
        default=None,
        description="Serve Prometheus /metrics on this host:port (e.g. 0.0.0.0:9464; port 0: any free one); none: off.",
    )
    shutdown_grace: Duration = Field(
        default=timedelta(seconds=20), description="How long SIGTERM waits for in-flight checks."
    )
    worker_batches: int = Field(
        default=4,
        gt=0,
        le=64,
        description="procrastinate engine: batches of checks (one host each) a worker runs at "
        "once; they share max_concurrent_checks.",
    )

    @field_validator("metrics_listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        return None if value is None else check_host_port(value, example="127.0.0.1:9464")

    def metrics_address(self) -> tuple[str, int] | None:
        return None if self.metrics_listen is None else host_port(self.metrics_listen)


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host_port(value: str, *, example: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"{value!r} is not host:port (e.g. {example})")
    return value


def host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


DEFAULT_WEB_LISTEN = "127.0.0.1:8080"


class BrowserConfig(_Strict):
    executable: Path | None = Field(
        default=None,
        description="Chromium to drive (render = browser); none: chromium on PATH. Never "
        "downloaded.",
    )
    max_pages: int = Field(default=2, gt=0, le=16, description="Pages rendered at once.")
    timeout: Duration = Field(
        default=timedelta(seconds=30), description="Longest one page may take to render."
    )
    max_heap_mb: int = Field(
        default=512, ge=64, le=8192, description="JavaScript heap of each page at most (MB)."
    )


class WebConfig(_Strict):
    listen: str | None = Field(
        default=None,
        description="host:port where `run` and `worker` also serve the dashboard and JSON API "
        f"(`posting-monitor web` serves here too, or on {DEFAULT_WEB_LISTEN}); none: off.",
    )
    token: SecretStr | None = Field(
        default=None,
        description="API token (Authorization: Bearer ...), also accepted at the dashboard's "
        "sign-in; write it by reference: ${env:NAME} or ${file:/path}.",
    )
    username: str | None = Field(
        default=None, description="Dashboard user name (HTTP Basic), with password."
    )
    password: SecretStr | None = Field(
        default=None, description="Dashboard password (HTTP Basic); by reference, like token."
    )
    public_url: str | None = Field(
        default=None,
        description="The address people reach the dashboard at (https://monitor.example.com), "
        "for links in feeds; none: the address of each request.",
    )
    page_size: int = Field(default=50, gt=0, le=200, description="Rows per page and API call.")

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        return None if value is None else check_host_port(value, example=DEFAULT_WEB_LISTEN)

    @model_validator(mode="after")
    def _pair(self) -> WebConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username and password, or neither")
        if self.token is not None and len(self.token.get_secret_value()) < 16:
            raise ValueError("token: use at least 16 characters (openssl rand -hex 24)")
        return self

    @property
    def has_credentials(self) -> bool:
        return self.token is not None or self.username is not None


class ReadingConfig(_Strict):
    workers: int | None = Field(
        default=None,
        ge=0,
        le=64,
        description="Processes that read pages (parse and extract), off the event loop so a "
        "hostile page costs one check; none: one per CPU (2 at least, 8 at most); 0: read on the "
        "event loop with no time limit (debugging only).",
    )
    time_limit: Duration = Field(
        default=timedelta(seconds=10),
        description="Longest one page may take to read; longer: the check fails and the "
        "reader process is replaced.",
    )

    @field_validator("time_limit")
    @classmethod
    def _sane_limit(cls, value: timedelta) -> timedelta:
        return _tenth_of_a_second_to_ten_minutes(value)

    def worker_count(self) -> int:
        if self.workers is not None:
            return self.workers
        return min(max(_cpus(), 2), 8)


def _tenth_of_a_second_to_ten_minutes(value: timedelta) -> timedelta:
    if not timedelta(milliseconds=100) <= value <= timedelta(minutes=10):
        raise ValueError("must be between 0.1 seconds and 10 minutes")
    return value


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class AlertConfig(_Strict):
    max_attempts: int = Field(default=8, gt=0, description="Delivery attempts before 'failed'.")
    retry_base: Duration = Field(
        default=timedelta(seconds=30), description="First retry delay; doubles each attempt."
    )
    send_timeout: Duration = Field(
        default=timedelta(seconds=30),
        description="Longest one send may take before it counts as a failed attempt. A process "
        "claims the alerts it sends for 4 times this, so no other process sends them; after a "
        "crash, the alerts it had claimed and not sent wait that long.",
    )
    close_after: int = Field(
        default=2, gt=0, description="404/410 answers in a row before a posting counts as closed."
    )
    confirm_suspect: int = Field(
        default=2,
        ge=0,
        description="Further checks that must return a suspect read (captcha, login or error "
        "page, far fewer fields) unchanged before it counts as a change.",
    )
    repost_window: Duration = Field(
        default=timedelta(days=30),
        description="A posting new on a board with the title, place and nearly the text of "
        "one closed within this long is reported as reposted (0: never).",
    )
    error_after: int = Field(
        default=3,
        gt=0,
        description="Failed checks in a row before one error alert (and, later, one recovery alert).",
    )

    @field_validator("send_timeout")
    @classmethod
    def _sane_send_timeout(cls, value: timedelta) -> timedelta:
        return _tenth_of_a_second_to_ten_minutes(value)

    @property
    def claim_lease(self) -> timedelta:
        return self.send_timeout * CLAIM_LEASE_SENDS


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


class WatchConfig(_Strict):
    url: str = Field(description="A posting page or a company board URL.")
    interval: Duration = Field(default=timedelta(hours=1), description="Time between checks.")
    render: Render = Field(
        default="plain",
        description="browser: load the page in headless Chromium (pages that build the posting "
        "with JavaScript); auto: only when a plain fetch finds no posting in an app shell.",
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


def _known_targets(known: set[str], wanted: tuple[str, ...], where: str) -> None:
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise ValueError(f"{where}: no channel named or tagged {', '.join(unknown)}")


_DAILY = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)(?:\s+([A-Za-z_]+(?:/[A-Za-z_+-]+)*))?\s*$")


def parse_daily_time(value: str) -> tuple[int, int, str]:
    """'08:00' or '08:00 Europe/Berlin' to (hour, minute, time zone name)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    match = _DAILY.match(value)
    if match is None:
        raise ValueError(
            f"{value!r} is not a daily time; write e.g. '08:00' or '08:00 Europe/Berlin'"
        )
    zone = match[3] or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r}") from None
    return int(match[1]), int(match[2]), zone


def load_config(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> MonitorConfig:
    """Read, override from the environment and validate; ConfigError on any problem."""
    environ = os.environ if environ is None else environ
    path = config_path(path, environ)
    data = _read_toml(path) if path is not None else {}
    overridden = _apply_env(data, environ)
    data = _resolve_secrets(data, environ, source=str(path or "configuration"))
    try:
        return MonitorConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, overridden), source=str(path or "configuration")) from exc


def config_path(path: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The configuration file: the one named, else ``MONITOR_CONFIG``'s, else none."""
    return path or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)


def requested_log_format(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Literal["text", "json"]:
    """The log format a configuration asks for, read as far as it can be when the
    configuration as a whole does not load, so the error about it comes in the format
    the logs are collected in: ``MONITOR_LOG_FORMAT``, else the file's ``log_format``,
    else text."""
    environ = os.environ if environ is None else environ
    wanted: object = environ.get(f"{ENV_PREFIX}LOG_FORMAT")
    if wanted is None:
        path = config_path(path, environ)
        try:
            wanted = _read_toml(path).get("log_format") if path is not None else None
        except ConfigError:
            wanted = None
    return "json" if wanted == "json" else "text"


_SECRET_REF = re.compile(r"\$\$\{|\$\{(env|file):([^}]*)\}")


def _resolve_secrets(data: Any, environ: Mapping[str, str], *, source: str, at: str = "") -> Any:
    """Replace ``${env:NAME}`` and ``${file:/path}`` inside string values, so a config
    file can hold a password or token by reference (``$${`` is a literal ``${``)."""
    if isinstance(data, dict):
        return {
            k: _resolve_secrets(v, environ, source=source, at=f"{at}.{k}" if at else str(k))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [
            _resolve_secrets(v, environ, source=source, at=f"{at}[{i}]") for i, v in enumerate(data)
        ]
    if not isinstance(data, str) or "${" not in data:
        return data
    in_userinfo = _refs_in_userinfo(data)
    values = iter(in_userinfo)

    def substitute(match: re.Match[str]) -> str:
        value = _secret(match, environ, source=source, at=at)
        # A password in a URL's user-info may hold "/", "@", ":" or "#" (openssl rand
        # -base64 makes such): encoded, it cannot break the URL or leak past the mask.
        return quote(value, safe="") if next(values) else value

    return _SECRET_REF.sub(substitute, data)


def _refs_in_userinfo(text: str) -> list[bool]:
    """For each reference in ``text``, whether it stands in a URL's user-info."""
    marked = _SECRET_REF.sub("\0", text)
    start = marked.find("://")
    authority_end = len(marked)
    if start >= 0:
        slash = marked.find("/", start + 3)
        authority_end = slash if slash >= 0 else len(marked)
    at = marked.rfind("@", start + 3, authority_end) if start >= 0 else -1
    flags: list[bool] = []
    for index, char in enumerate(marked):
        if char == "\0":
            flags.append(start >= 0 and start + 3 <= index < at)
    return flags


def _secret(match: re.Match[str], environ: Mapping[str, str], *, source: str, at: str) -> str:
    kind, name = match[1], (match[2] or "").strip()
    if kind is None:
        return "${"
    if kind == "env":
        if name not in environ:
            raise ConfigError(f"{at}: environment variable {name} is not set", source=source)
        return environ[name]
    try:
        return Path(name).read_text(encoding="utf-8").rstrip("\r\n")
    except PermissionError as exc:
        # A secrets tool or `umask 077` writes 0600 files owned by someone else: the
        # monitor (uid 10001 in its container) cannot read them.
        uid = os.getuid() if hasattr(os, "getuid") else "?"
        raise ConfigError(
            f"{at}: cannot read secret file {name}: permission denied; it must be readable "
            f"by uid {uid}, the user the monitor runs as: chmod 0644 {name}, or chown it "
            "to that user",
            source=source,
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"{at}: cannot read secret file {name}: {exc.strerror}", source=source
        ) from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("file not found", source=str(path)) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", source=str(path)) from exc


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> dict[tuple[str, ...], str]:
    """Overlay MONITOR_* variables onto ``data``; returns which paths came from where."""
    overridden: dict[tuple[str, ...], str] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        path = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        # Other programs may use MONITOR_* too: only names that start with one of our
        # settings are ours; below that level, a typo is an error like in the file.
        if not all(path) or path[0] not in MonitorConfig.model_fields:
            continue
        target = data
        for key in path[:-1]:
            target = target.setdefault(key, {})
            if not isinstance(target, dict):
                raise ConfigError(f"{'.'.join(path[:-1])} is not a table", source=name)
        target[path[-1]] = _env_value(raw)
        overridden[path] = name
    return overridden


def _env_value(raw: str) -> Any:
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def describe_validation(exc: ValidationError) -> str:
    """A validation error as one line naming each setting, for settings read elsewhere
    than the configuration file (a watch list being imported)."""
    return _describe(exc, {})


def _describe(exc: ValidationError, overridden: Mapping[tuple[str, ...], str]) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(str(p) for p in error["loc"])
        where = _format_loc(error["loc"])
        origin = next((v for k, v in overridden.items() if loc[: len(k)] == k), None)
        prefix = f"{where} (from {origin})" if origin else where
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        elif origin and error["type"] in _SHAPE_ERRORS and isinstance(error.get("input"), str):
            message = "not valid JSON (lists and tables are written as JSON, e.g. '[...]')"
        # A whole-config check (a watch naming an unknown channel) names its own place.
        lines.append(f"{prefix}: {message}" if prefix else message)
    return "; ".join(lines)


_SHAPE_ERRORS = frozenset(
    {"tuple_type", "list_type", "dict_type", "model_type", "model_attributes_type", "set_type"}
)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
