"""Who is sent what: the rendered alerts a check's changes and notices become, one
per channel, chosen by the configured rules.

Pure given the configuration and the renderer: it reads no database and sends
nothing; the deliveries it plans are written to the outbox with the check.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from monitor.config import MonitorConfig
from monitor.core.verdicts import monitor_notice
from monitor.model import Alert, CheckResult, Delivery, FieldChange, Posting
from monitor.notify.payload import change_payload, dumps
from monitor.notify.render import Renderer
from monitor.notify.rules import Rule, route
from monitor.records import PostingState
from monitor.urls import shown_url

log = logging.getLogger(__name__)


class AlertPlanner:
    """Plans the deliveries of one check: its changes routed by the rules, and the
    notices about the monitor itself (checks failing, checks working again)."""

    def __init__(self, config: MonitorConfig, renderer: Renderer) -> None:
        self.config = config
        self.renderer = renderer
        self._json_channels = {c.name for c in config.channels if c.format == "json"}
        self._watch_rules = {w.url: w.rules for w in config.watches}

    def resolve_channels(self, wanted: Sequence[str]) -> list[str]:
        """Channel names for a watch's list of names or tags; empty means all."""
        if not wanted:
            return [c.name for c in self.config.channels]
        return [
            c.name for c in self.config.channels if c.name in wanted or set(c.tags) & set(wanted)
        ]

    def rules_for(self, state: PostingState) -> list[Rule]:
        """The watch's own rules, then the global ones; none: everything to its channels."""
        configured = [*self._watch_rules.get(state.watch_url, ()), *self.config.rules]
        if not configured:
            return [Rule(channels=tuple(self.resolve_channels(state.channels)))]
        return [
            Rule(
                channels=tuple(self.resolve_channels(rule.channels)),
                name=rule.name,
                fields=frozenset(rule.fields),
                salary_min_change_percent=Decimal(str(rule.salary_min_change_percent)),
                salary_direction=rule.salary_direction,
                keywords=rule.keywords,
            )
            for rule in configured
        ]

    def plan(
        self, state: PostingState, posting: Posting | None, changes: Sequence[FieldChange]
    ) -> list[Delivery]:
        """One rendered alert per channel, holding the changes the rules send it."""
        if posting is None or not changes:
            return []
        routed = route(posting, changes, self.rules_for(state))
        before = state.current if state.role != "board" else None
        return [
            Delivery(channel=channel, alert=self._alert(channel, before, posting, picked))
            for channel, picked in routed.items()
        ]

    def plan_result(self, state: PostingState, result: CheckResult) -> list[Delivery]:
        """The alerts for what one check found changed (none for a quiet re-read)."""
        return self.plan(state, result.snapshot, _alerted(result))

    def _alert(
        self, channel: str, before: Posting | None, posting: Posting, picked: Sequence[FieldChange]
    ) -> Alert:
        alert = self.renderer.render(posting, picked)
        if channel not in self._json_channels:
            return alert
        payload = change_payload(
            posting_id=None, posting=posting, before=before, changes=picked, headline=alert.title
        )
        return replace(alert, body_json=dumps(payload))

    def notices(self, state: PostingState, result: CheckResult) -> list[Delivery]:
        """One alert when checks start failing (after error_after), one when they recover."""
        change = monitor_notice(state, result, error_after=self.config.alerts.error_after)
        if change is None:
            return []
        posting = state.current or Posting(
            source_kind=state.source_kind,
            source_id=state.source_id,
            url=state.url,
            title=state.title or shown_url(state.url),
        )
        return [replace(d, notice=True) for d in self.plan(state, posting, [change])]


def _alerted(result: CheckResult) -> tuple[FieldChange, ...]:
    """The changes to alert on: none when only our reading of the page changed, or
    for a posting closed because its repost appeared (the repost's alert says it)."""
    if result.quiet and result.changes:
        log.info(
            "posting %s: %d change(s) recorded, not alerted (read again by a newer reader, "
            "or closed as reposted)",
            result.posting_id,
            len(result.changes),
            extra={"action": "reread"},
        )
        return ()
    return result.changes
