"""The outbox: alerts waiting to be sent, and who sends each.

A due alert is claimed by one process (``claim_alerts``): however many processes
share the database, none gets what another holds. An alert is queued once per change
and channel (a dedupe key makes a repeated write a no-op), sent at most once, retried
on failure and given up after the last attempt. Part of the code the mutation run
covers (README, "Mutation testing").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Select, insert, or_, select, update

from monitor.model import Alert, CheckResult, Delivery
from monitor.records import QueuedAlert
from monitor.store.db import Database
from monitor.store.leases import pick_and_mark
from monitor.store.tables import outbox


def enqueue(
    conn: Connection,
    result: CheckResult,
    snapshot_id: int | None,
    deliveries: Sequence[Delivery],
) -> None:
    """Queue each delivery once, on the caller's connection (a check's own
    transaction): the dedupe key makes a repeated write a no-op."""
    keyed = {_dedupe_key(result, snapshot_id, d): d for d in deliveries}
    if not keyed:
        return
    present = set(
        conn.scalars(select(outbox.c.dedupe_key).where(outbox.c.dedupe_key.in_(list(keyed))))
    )
    rows = [
        {
            "dedupe_key": key,
            "posting_id": result.posting_id,
            "snapshot_id": None if d.notice else snapshot_id,
            "channel": d.channel,
            "title": d.alert.title,
            "body_text": d.alert.body_text,
            "body_markdown": d.alert.body_markdown,
            "body_html": d.alert.body_html,
            "body_json": d.alert.body_json or None,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": result.checked_at,
            "created_at": result.checked_at,
        }
        for key, d in keyed.items()
        if key not in present
    ]
    if rows:
        conn.execute(insert(outbox), rows)


class Outbox:
    """The ``outbox`` table: alerts to send, their claims, attempts and outcome."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def due_alerts(
        self,
        *,
        now: datetime,
        limit: int = 100,
        skip_channels: Collection[str] = (),
        only_channel: str | None = None,
    ) -> list[QueuedAlert]:
        """Alerts due to be sent that no process holds a claim on (to look at: only
        ``claim_alerts`` hands out alerts to send)."""
        with self._db.transaction() as conn:
            query = _due(now, limit, skip_channels, only_channel)
            return [_queued(row) for row in conn.execute(query)]

    def claim_alerts(
        self,
        *,
        now: datetime,
        lease: timedelta,
        claimant: str,
        limit: int = 100,
        skip_channels: Collection[str] = (),
        only_channel: str | None = None,
    ) -> list[QueuedAlert]:
        """Claim up to ``limit`` due alerts for ``claimant`` until ``now + lease``: no
        other process gets them meanwhile, however many share the database (PostgreSQL
        locks the rows it picks and skips rows others are picking; SQLite's writer lock
        makes the pick and the claim one step)."""
        pick = _due(now, limit, skip_channels, only_channel).with_only_columns(outbox.c.id)
        with self._db.transaction() as conn:
            ids = pick_and_mark(conn, pick, outbox, claimed_by=claimant, claimed_until=now + lease)
            if not ids:
                return []
            rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id))
            return [_queued(row) for row in rows]

    def release_alerts(self, alert_ids: Sequence[int], *, claimant: str) -> None:
        """Give back claimed alerts not sent (a stopping process, a claim running out)."""
        if not alert_ids:
            return
        with self._db.transaction() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(alert_ids)), outbox.c.claimed_by == claimant)
                .values(claimed_by=None, claimed_until=None)
            )

    def alerts(
        self, *, status: str | None = None, statuses: Sequence[str] = ()
    ) -> list[QueuedAlert]:
        """Alerts in the outbox, in order; only those of ``status`` / ``statuses`` if given."""
        wanted = [*statuses, *([status] if status else [])]
        query = select(outbox).order_by(outbox.c.id)
        if wanted:
            query = query.where(outbox.c.status.in_(wanted))
        with self._db.transaction() as conn:
            return [_queued(row) for row in conn.execute(query)]

    def mark_sent(self, alert_id: int, *, now: datetime, claimant: str | None = None) -> bool:
        """The channel took the alert. False if ``claimant`` no longer held its claim
        (it ran out, or someone re-queued the alert meanwhile): marked sent all the same."""
        sent = update(outbox).values(
            status="sent", sent_at=now, attempts=outbox.c.attempts + 1, **_SENT
        )
        with self._db.transaction() as conn:
            if claimant is not None:
                mine = conn.execute(
                    sent.where(outbox.c.id == alert_id, outbox.c.claimed_by == claimant)
                )
                if mine.rowcount:
                    return True
            conn.execute(sent.where(outbox.c.id == alert_id))
            return claimant is None

    def mark_many_sent(self, alert_ids: Sequence[int], *, now: datetime) -> None:
        """A digest went out: every alert in it is sent."""
        with self._db.transaction() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(alert_ids)))
                .values(status="sent", sent_at=now, attempts=outbox.c.attempts + 1, **_SENT)
            )

    def mark_many_failed(
        self, alert_ids: Sequence[int], *, error: str, retry_at: datetime | None
    ) -> None:
        for alert_id in alert_ids:
            self.mark_attempt_failed(alert_id, error=error, retry_at=retry_at)

    def alert_statuses(self, alert_ids: Sequence[int]) -> dict[int, str]:
        """The status of each of ``alert_ids`` that exists."""
        query = select(outbox.c.id, outbox.c.status).where(outbox.c.id.in_(list(alert_ids)))
        with self._db.transaction() as conn:
            return {int(row.id): str(row.status) for row in conn.execute(query)}

    def retry_alerts(self, alert_ids: Sequence[int] = (), *, now: datetime) -> int:
        """Queue failed alerts again (the given ones, or every failed one); returns how many."""
        query = update(outbox).where(outbox.c.status == "failed")
        if alert_ids:
            query = query.where(outbox.c.id.in_(list(alert_ids)))
        with self._db.transaction() as conn:
            result = conn.execute(
                query.values(status="pending", attempts=0, next_attempt_at=now, **_UNCLAIMED)
            )
            return int(result.rowcount)

    def mark_attempt_failed(self, alert_id: int, *, error: str, retry_at: datetime | None) -> None:
        """Count a failed attempt; ``retry_at`` None means give up (status 'failed')."""
        values: dict[str, Any] = {
            "attempts": outbox.c.attempts + 1,
            "last_error": error,
            **_UNCLAIMED,
        }
        if retry_at is None:
            values["status"] = "failed"
        else:
            values["next_attempt_at"] = retry_at
        with self._db.transaction() as conn:
            conn.execute(update(outbox).where(outbox.c.id == alert_id).values(**values))


def _dedupe_key(result: CheckResult, snapshot_id: int | None, delivery: Delivery) -> str:
    if delivery.notice:
        return f"notice:{result.posting_id}:{result.checked_at.isoformat()}:{delivery.channel}"
    return f"{result.posting_id}:{snapshot_id}:{delivery.channel}"


_UNCLAIMED: dict[str, Any] = {"claimed_by": None, "claimed_until": None}
_SENT: dict[str, Any] = {"last_error": None, **_UNCLAIMED}


def _due(
    now: datetime, limit: int, skip_channels: Collection[str], only_channel: str | None
) -> Select[Any]:
    query = (
        select(outbox)
        .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
        .where(or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now))
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if skip_channels:
        query = query.where(outbox.c.channel.not_in(list(skip_channels)))
    if only_channel is not None:
        query = query.where(outbox.c.channel == only_channel)
    return query


def _queued(row: Row[Any]) -> QueuedAlert:
    return QueuedAlert(
        id=row.id,
        posting_id=row.posting_id,
        channel=row.channel,
        alert=Alert(
            title=row.title,
            body_text=row.body_text,
            body_markdown=row.body_markdown,
            body_html=row.body_html or "",
            body_json=row.body_json or "",
        ),
        attempts=row.attempts,
        status=row.status,
        last_error=row.last_error,
        created_at=row.created_at,
    )
