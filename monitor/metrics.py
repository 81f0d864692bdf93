"""Prometheus metrics: what the daemon did, served on ``scheduler.metrics_listen``.

Each ``App`` has its own registry, so tests and several apps in one process do
not share counters. Names follow Prometheus conventions (``_total``, ``_seconds``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.core.renders import ENDINGS, RenderState, overdue
from monitor.errors import ConfigError

log = logging.getLogger(__name__)
Family = tuple[str, str, list[tuple[str, dict[str, str], float]]]
"""A metric family as another process sends it: name, type, samples (name, labels, value)."""
_SUMMED_GAUGES = frozenset(
    {
        "posting_monitor_checks_in_flight",
        "posting_monitor_renders_in_flight",
        "posting_monitor_renders_overdue",
    }
)
_HIGHEST_GAUGES = frozenset({"posting_monitor_render_oldest_seconds"})
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LAG_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.checks = Counter(
            "posting_monitor_checks", "Checks run, by outcome.", ["outcome"], registry=r
        )
        self.check_seconds = Histogram(
            "posting_monitor_check_duration_seconds",
            "Time from a check's start to its result (fetch, parse, compare).",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.lag = Histogram(
            "posting_monitor_queue_lag_seconds",
            "How late checks start after their posting fell due.",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.due = Gauge(
            "posting_monitor_due_postings",
            "Postings due but not yet started, at the last dispatch.",
            registry=r,
        )
        self.inflight = Gauge("posting_monitor_checks_in_flight", "Checks running now.", registry=r)
        self.write_rows = Histogram(
            "posting_monitor_write_batch_checks",
            "Checks written per database transaction.",
            buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000),
            registry=r,
        )
        self.write_seconds = Histogram(
            "posting_monitor_write_duration_seconds",
            "Time to write one batch of checks.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.alerts = Counter(
            "posting_monitor_alerts", "Alert deliveries, by result.", ["result"], registry=r
        )
        self.paused_hosts = Gauge(
            "posting_monitor_paused_hosts", "Hosts paused (Retry-After or failures).", registry=r
        )
        self.heartbeat = Gauge(
            "posting_monitor_heartbeat_timestamp_seconds",
            "When the daemon last recorded its heartbeat (Unix time).",
            registry=r,
        )
        self._server: Any = None
        self._peers: list[Callable[[], list[Family]]] = []

    def add_peers(self, families: Callable[[], list[Family]]) -> None:
        """Add other processes' metrics (a daemon's checker processes: ``families`` gives
        their latest) to what ``/metrics`` serves: counters and histograms summed, gauges
        of work in flight summed, the rest (due, paused hosts, heartbeat) this process's."""
        self._peers.append(families)

    def snapshot(self) -> list[Family]:
        """This process's metrics, to send to the process that serves them."""
        return [
            (m.name, m.type, [(x.name, dict(x.labels), x.value) for x in m.samples])
            for m in self.registry.collect()
        ]

    def served(self) -> CollectorRegistry:
        """What ``/metrics`` serves: this registry with other processes' metrics added
        (a registry of its own, so that scrapes filtered by ``name[]`` work too)."""
        served = CollectorRegistry(auto_describe=True)
        served.register(_Served(self))
        return served

    def collect(self) -> Iterator[Metric]:
        """Every metric, other processes' added (what ``/metrics`` serves)."""
        peers = [family for source in self._peers for family in source()]
        for metric in self.registry.collect():
            yield merged(metric, [f for f in peers if f[0] == metric.name])

    def watch_renderer(self, state: Callable[[], RenderState]) -> None:
        """Report the browser renderer's state at each scrape (read then, never stale)."""
        self.registry.register(_RendererCollector(state))

    def checked(self, outcome: str, seconds: float, lag: float) -> None:
        self.checks.labels(outcome).inc()
        self.check_seconds.observe(seconds)
        self.lag.observe(max(lag, 0.0))

    def observe_write(self, rows: int, seconds: float) -> None:
        self.write_rows.observe(rows)
        self.write_seconds.observe(seconds)

    def delivered(self, *, sent: int, failed: int, retrying: int) -> None:
        for result, count in (("sent", sent), ("failed", failed), ("retrying", retrying)):
            if count:
                self.alerts.labels(result).inc(count)

    def serve(self, host: str, port: int) -> None:
        """Serve ``/metrics`` over HTTP from a background thread."""
        try:
            self._server, _thread = start_http_server(port, addr=host, registry=self.served())
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror}", source="scheduler.metrics_listen"
            ) from exc
        log.info("metrics on http://%s:%d/metrics", host, port, extra={"action": "metrics"})

    @property
    def port(self) -> int | None:
        return int(self._server.server_address[1]) if self._server is not None else None

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def merged_families(base: list[Family], more: list[Family]) -> list[Family]:
    """``base`` with ``more`` added in, family by family (what /metrics would add up):
    the counts of checkers that ended, kept so that counters never go back."""
    totals: dict[str, tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]] = {}
    for name, kind, samples in base + more:
        _kind, values = totals.setdefault(name, (kind, {}))
        for sample, labels, value in samples:
            key = (sample, tuple(sorted(labels.items())))
            values[key] = _combined(name, kind, sample, values.get(key), value)
    return [
        (name, kind, [(sample, dict(pairs), value) for (sample, pairs), value in values.items()])
        for name, (kind, values) in totals.items()
        if kind != "gauge"  # what an ended process has in flight is over
    ]


def merged(metric: Metric, peers: list[Family]) -> Metric:
    """``metric`` with the same family of other processes added in."""
    if not peers:
        return metric
    values = {(x.name, tuple(sorted(x.labels.items()))): x.value for x in metric.samples}
    for _name, kind, samples in peers:
        for name, labels, value in samples:
            key = (name, tuple(sorted(labels.items())))
            values[key] = _combined(metric.name, kind, name, values.get(key), value)
    total = Metric(metric.name, metric.documentation, metric.type, metric.unit)
    for (sample, pairs), value in values.items():
        total.add_sample(sample, dict(pairs), value)
    return total


def _combined(family: str, kind: str, sample: str, ours: float | None, theirs: float) -> float:
    if ours is None:
        return theirs if kind != "gauge" or family in _SUMMED_GAUGES | _HIGHEST_GAUGES else 0.0
    if sample.endswith("_created"):
        return min(ours, theirs)
    if kind == "gauge":
        if family in _SUMMED_GAUGES:
            return ours + theirs
        return max(ours, theirs) if family in _HIGHEST_GAUGES else ours
    return ours + theirs


class _Served(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self._metrics.collect()


class _RendererCollector(Collector):
    def __init__(self, state: Callable[[], RenderState]) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        state = self._state()
        ended = CounterMetricFamily(
            "posting_monitor_renders_ended",
            "Browser renders ended by force, by why (deadline, memory), and browser restarts.",
            labels=["reason"],
        )
        for reason in ENDINGS:
            ended.add_metric([reason], state.ended.get(reason, 0))
        yield ended
        yield GaugeMetricFamily(
            "posting_monitor_renders_in_flight",
            "Browser pages rendering now.",
            value=len(state.rendering),
        )
        yield GaugeMetricFamily(
            "posting_monitor_renders_overdue",
            "Renders running long past their deadline: a stuck renderer (health fails).",
            value=overdue(state),
        )
        yield GaugeMetricFamily(
            "posting_monitor_render_oldest_seconds",
            "How long the oldest render in flight has been running.",
            value=state.oldest_seconds,
        )
