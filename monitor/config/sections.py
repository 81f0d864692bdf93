"""How the process runs: the database, HTTP, scheduling, the browser, the web
server, reading and alert delivery, one section each."""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from monitor.addresses import valid_networks
from monitor.config.values import (
    DEFAULT_WEB_LISTEN,
    Duration,
    _Strict,
    check_host_name,
    check_host_port,
    host_port,
)

CLAIM_LEASE_SENDS = 4  # a claim on alerts lasts this many send timeouts


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
    max_concurrent_checks: int = Field(
        default=32, gt=0, le=256, description="Checks in flight (in each checker process)."
    )
    batch_size: int = Field(
        default=200,
        gt=0,
        description="Due postings claimed per database round trip (local engine, check); the "
        "procrastinate dispatcher makes whole batches of one host instead.",
    )
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
    processes: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Checker processes under one `run` (local engine): they share the due "
        "postings through the database's leases and one set of host limits; none: one per two "
        "usable cores (a checking process keeps about one core busy and its page readers "
        "another); 1: checks run in the daemon's own process only.",
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

    def process_count(self) -> int:
        """Checker processes of the local engine (the daemon's own included)."""
        if self.processes is not None:
            return self.processes
        # Measured (bench.daemon, 2 cores): a check costs its process about as much CPU
        # as its reading costs the readers, so each checking process needs two cores.
        return max(_cpus() // 2, 1)


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
        default=512, ge=64, le=8192, description="Memory of each page at most (MB)."
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
    feed_token: SecretStr | None = Field(
        default=None,
        description="Read-only token for feed readers (`/feeds/...?token=`); it opens the "
        "feeds and nothing else (web.token is not taken there); by reference, like token.",
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=("127.0.0.1",),
        description="Addresses of reverse proxies whose X-Forwarded-Proto and X-Forwarded-For "
        "are believed (https for the Secure cookie, the client address for sign-in "
        'throttling); "*" trusts any.',
    )
    allowed_hosts: tuple[str, ...] = Field(
        default=(),
        description="Host names the dashboard answers to besides loopback, the listen address "
        "and public_url's host (monitor.lan, *.example.com); any other Host header: 400.",
    )
    max_connections: int = Field(
        default=100, gt=0, le=10_000, description="Open connections at most; more: 503."
    )
    request_timeout: Duration = Field(
        default=timedelta(seconds=10),
        gt=timedelta(0),
        description="A request (headers and body) must arrive within this long of its start.",
    )
    idle_timeout: Duration = Field(
        default=timedelta(seconds=5),
        gt=timedelta(0),
        description="An idle kept-alive connection is closed.",
    )
    max_request_bytes: int = Field(
        default=1_000_000, gt=0, description="Larger request bodies: 413, never read."
    )
    max_url_bytes: int = Field(
        default=8192, ge=256, description="Longer request paths with query: 414."
    )

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_host_name(name) for name in value)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        return None if value is None else check_host_port(value, example=DEFAULT_WEB_LISTEN)

    @model_validator(mode="after")
    def _pair(self) -> WebConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username and password, or neither")
        for name in ("token", "password", "feed_token"):
            secret: SecretStr | None = getattr(self, name)
            if secret is not None and len(secret.get_secret_value()) < 16:
                raise ValueError(f"{name}: use at least 16 characters (openssl rand -hex 24)")
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
        "hostile page costs one check, in each checker process; none: one per CPU the checker "
        "processes leave (1 at least, 8 at most), shared among them; 0: read on the event loop "
        "with no time limit (debugging only).",
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

    def worker_count(self, checkers: int = 1) -> int:
        """Readers of one checker process (see ``readers_per_process``)."""
        return readers_per_process(self.workers, checkers=checkers, cpus=_cpus())


def _tenth_of_a_second_to_ten_minutes(value: timedelta) -> timedelta:
    if not timedelta(milliseconds=100) <= value <= timedelta(minutes=10):
        raise ValueError("must be between 0.1 seconds and 10 minutes")
    return value


def readers_per_process(workers: int | None, *, checkers: int, cpus: int) -> int:
    """Page readers of one checking process. Set: that many in each. Default: one per
    core the ``checkers`` leave (1 at least, 8 at most), split among them. Measured
    (bench.daemon, 2 cores, one checking process, three runs each): one reader was as
    fast as two (570 / 993 / 1,651 checks/s beside 551 / 910 / 1,538, medians) in 60 MB
    less (a tree of 217 MB, not 277): the checking process keeps a core busy itself."""
    if workers is not None:
        return workers
    return -(-min(max(cpus - checkers, 1), 8) // checkers)


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
