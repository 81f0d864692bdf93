"""/metrics of a daemon with checker processes: the checkers' counts added in."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.metrics import Metrics


def scraped(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics).decode()  # type: ignore[arg-type]
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_checkers_counts_are_added_to_the_main_process() -> None:
    main, first, second = Metrics(), Metrics(), Metrics()
    main.checked("changed", 0.1, 1)
    first.checked("changed", 0.2, 2)
    first.checked("unchanged", 3.0, 600)
    second.checked("unchanged", 0.02, 0)
    main.inflight.set(1)
    first.inflight.set(3)
    second.inflight.set(2)
    main.due.set(5)
    first.due.set(99)  # a checker's own view of the queue: the main process's counts
    main.add_peers(lambda: first.snapshot() + second.snapshot())
    values = scraped(main)
    assert values["posting_monitor_checks_total", (("outcome", "changed"),)] == 2
    assert values["posting_monitor_checks_total", (("outcome", "unchanged"),)] == 2
    assert values["posting_monitor_check_duration_seconds_count", ()] == 4
    assert values["posting_monitor_check_duration_seconds_sum", ()] == pytest.approx(3.32)
    assert values["posting_monitor_check_duration_seconds_bucket", (("le", "0.25"),)] == 3
    assert values["posting_monitor_queue_lag_seconds_bucket", (("le", "900.0"),)] == 4
    assert values["posting_monitor_queue_lag_seconds_bucket", (("le", "300.0"),)] == 3
    assert values["posting_monitor_checks_in_flight", ()] == 6
    assert values["posting_monitor_due_postings", ()] == 5


def test_a_series_only_a_checker_has_is_served() -> None:
    main, checker = Metrics(), Metrics()
    checker.delivered(sent=0, failed=2, retrying=0)
    checker.heartbeat.set(1234)
    main.add_peers(checker.snapshot)
    values = scraped(main)
    assert values["posting_monitor_alerts_total", (("result", "failed"),)] == 2
    assert values["posting_monitor_heartbeat_timestamp_seconds", ()] == 0


def test_without_checkers_the_scrape_is_the_registrys() -> None:
    metrics = Metrics()
    metrics.checked("changed", 0.1, 1)
    assert generate_latest(metrics) == generate_latest(metrics.registry)  # type: ignore[arg-type]


def test_an_ended_checkers_counts_stay_in_the_totals() -> None:
    from monitor.metrics import merged_families

    main, gone, replacement = Metrics(), Metrics(), Metrics()
    gone.checked("changed", 0.1, 1)
    gone.inflight.set(4)
    replacement.checked("changed", 0.1, 1)
    kept = merged_families([], gone.snapshot())
    main.add_peers(lambda: kept + replacement.snapshot())
    values = scraped(main)
    assert values["posting_monitor_checks_total", (("outcome", "changed"),)] == 2
    assert values["posting_monitor_checks_in_flight", ()] == 0  # its checks in flight ended


def test_a_scrape_filtered_by_name_is_served() -> None:
    import urllib.request

    metrics, checker = Metrics(), Metrics()
    checker.checked("changed", 0.1, 1)
    metrics.add_peers(checker.snapshot)
    metrics.serve("127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{metrics.port}/metrics?name[]=posting_monitor_checks_total"
        with urllib.request.urlopen(url, timeout=5) as answer:
            text = answer.read().decode()
    finally:
        metrics.close()
    assert 'posting_monitor_checks_total{outcome="changed"} 1.0' in text
    assert "posting_monitor_due_postings" not in text
