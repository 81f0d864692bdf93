"""The API's page cursors: opaque to clients, versioned, and refused with a clear
error when they are not ones this API gave out; and query times made UTC-aware."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from monitor.errors import ConfigError

# A cursor is "v2." and the id to page before; documented as this pattern, so a client
# (or schemathesis) can tell a well-formed one. An id beyond 64 bits pages from the start.
CURSOR_PATTERN = r"^v2\.[0-9]{1,19}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_MAX_ID = 2**63 - 1


def encode_cursor(before: int | None) -> str | None:
    return None if before is None else f"v2.{before}"


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    if _CURSOR.fullmatch(cursor) is None:
        raise ConfigError("not a cursor this API gave out", source="cursor")
    return min(int(cursor[3:]), _MAX_ID)


def aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
