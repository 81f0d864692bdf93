"""The API's page cursors: opaque to clients, versioned, and refused with a clear
error when they are not ones this API gave out; and query times made UTC-aware."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from monitor.errors import ConfigError


def encode_cursor(before: int | None) -> str | None:
    if before is None:
        return None
    return base64.urlsafe_b64encode(f"v1:{before}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, value = text.partition(":")
        if version == "v1" and value.isdigit() and int(value) < 2**63:
            return int(value)
    except (ValueError, UnicodeDecodeError):
        pass
    raise ConfigError("not a cursor this API gave out", source="cursor")


def aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
