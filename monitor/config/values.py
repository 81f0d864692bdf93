"""The kinds of value settings are written in: durations, intervals, host:port,
daily times; and the strict base every section of the schema is built on."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")


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


_HOST_NAME = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$")


def check_host_name(value: str) -> str:
    """A host name for the dashboard's allow-list, lower-cased: a name, ``*.`` and a
    domain (any name under it), or an IP address (IPv6 with or without brackets)."""
    name = value.strip().lower()
    bare = name.strip("[]")
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    if not _HOST_NAME.match(name):
        raise ValueError(f"{value!r} is not a host name (monitor.lan, *.example.com, 10.0.0.5)")
    return name


DEFAULT_WEB_LISTEN = "127.0.0.1:8080"


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
