"""The structured JSON a ``format = "json"`` channel receives: what changed, as values.

Documented in the README ("Structured webhooks"); ``PAYLOAD_VERSION`` goes up only
when a field is removed or changes meaning (new fields may be added within a version).
Pure: values in, a ``dict`` out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from monitor.model import FieldChange, Posting, Salary, utc_isoformat

PAYLOAD_VERSION = 1
SCHEMA_URL = "https://github.com/posting-monitor/posting-monitor#structured-webhooks"


def change_payload(
    *,
    posting_id: int | None,
    posting: Posting,
    before: Posting | None,
    changes: Sequence[FieldChange],
    detected_at: datetime | None = None,
    headline: str = "",
) -> dict[str, Any]:
    """One alert: the posting and each change with its old and new values."""
    return {
        "version": PAYLOAD_VERSION,
        "schema": SCHEMA_URL,
        "type": "change",
        "detected_at": utc_isoformat(detected_at) if detected_at else None,
        "headline": headline,
        "posting": _posting(posting_id, posting),
        "changes": [_change(change, before, posting) for change in changes],
    }


def digest_payload(payloads: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several alerts in one message (a digest channel)."""
    return {
        "version": PAYLOAD_VERSION,
        "schema": SCHEMA_URL,
        "type": "digest",
        "alerts": list(payloads),
    }


def with_identity(body_json: str, *, posting_id: int, detected_at: datetime) -> str:
    """The payload with what only the store knows: the posting's id (a posting new on
    a board has none until it is written) and when the change was found."""
    payload = json.loads(body_json)
    for alert in payload.get("alerts", [payload]):
        alert["posting"]["id"] = posting_id
        alert["detected_at"] = utc_isoformat(detected_at)
    return dumps(payload)


def dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _posting(posting_id: int | None, posting: Posting) -> dict[str, Any]:
    return {
        "id": posting_id,
        "url": posting.url,
        "title": posting.title,
        "company": posting.company,
        "source": {"kind": posting.source_kind, "id": posting.source_id},
        "status": posting.status.value,
        "locations": list(posting.locations),
        "remote": posting.remote.kind.value,
        "pay": [pay_values(s) for s in posting.salaries],
    }


def _change(change: FieldChange, before: Posting | None, after: Posting) -> dict[str, Any]:
    item: dict[str, Any] = {
        "field": change.field,
        "kind": change.kind.value,
        "summary": change.summary,
        "old": change.old,
        "new": change.new,
        "percent": float(change.percent) if change.percent is not None else None,
        "direction": change.direction or None,
    }
    if change.field == "salary":
        item["old_value"] = [pay_values(s) for s in before.salaries] if before else None
        item["new_value"] = [pay_values(s) for s in after.salaries]
    elif change.field == "remote":
        item["old_value"] = before.remote.to_dict() if before else None
        item["new_value"] = after.remote.to_dict()
    return item


def pay_values(salary: Salary) -> dict[str, Any]:
    """A pay range as numbers (integers where whole), with its currency and period."""
    return {
        "min": _number(salary.min),
        "max": _number(salary.max),
        "currency": salary.currency,
        "period": salary.period.value if salary.period else None,
        "label": salary.label,
    }


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)
