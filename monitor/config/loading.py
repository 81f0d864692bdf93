"""Loading the configuration: the file, ``MONITOR_*`` overrides, secrets by reference.

Settings come from a TOML file (``--config``, or ``MONITOR_CONFIG``) and are
overridden by environment variables: ``MONITOR_`` + the setting's path in upper
case with ``__`` between levels, e.g. ``MONITOR_DATABASE__URL`` or
``MONITOR_HTTP__TIMEOUT``. Lists (``MONITOR_WATCHES``) take JSON. Every error
names the file or variable and the field.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import ValidationError

from monitor.config.schema import MonitorConfig
from monitor.errors import ConfigError

ENV_PREFIX = "MONITOR_"
CONFIG_ENV = "MONITOR_CONFIG"


def load_config(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> MonitorConfig:
    """Read, override from the environment and validate; ConfigError on any problem."""
    environ = os.environ if environ is None else environ
    path = config_path(path, environ)
    data = _read_toml(path) if path is not None else {}
    overridden = _apply_env(data, environ)
    # A reference that came from a MONITOR_* variable is blamed on that variable.
    data = _resolve_secrets(
        data,
        environ,
        source=str(path or "configuration"),
        sources={".".join(key): name for key, name in overridden.items()},
    )
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


def _resolve_secrets(
    data: Any,
    environ: Mapping[str, str],
    *,
    source: str,
    at: str = "",
    sources: Mapping[str, str] | None = None,
) -> Any:
    """Replace ``${env:NAME}`` and ``${file:/path}`` inside string values, so a config
    file can hold a password or token by reference (``$${`` is a literal ``${``).
    ``sources`` maps settings (dotted) set by environment variables to their names."""
    sources = sources or {}
    source = sources.get(at, source)
    if isinstance(data, dict):
        return {
            k: _resolve_secrets(
                v, environ, source=source, at=f"{at}.{k}" if at else str(k), sources=sources
            )
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [
            _resolve_secrets(v, environ, source=source, at=f"{at}[{i}]", sources=sources)
            for i, v in enumerate(data)
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


def _unreadable(name: object) -> str:
    """Why a file cannot be read, and the fix. A secrets tool or `umask 077` writes
    0600 files owned by someone else: the monitor (uid 10001 in its container) cannot
    read them."""
    uid = os.getuid() if hasattr(os, "getuid") else "?"
    return (
        f"permission denied; it must be readable by uid {uid}, the user the "
        f"monitor runs as: chmod 0644 {name}, or chown it to that user"
    )


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
        raise ConfigError(
            f"{at}: cannot read secret file {name}: {_unreadable(name)}", source=source
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"{at}: cannot read secret file {name}: {exc.strerror}", source=source
        ) from exc


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # here: compiling its patterns costs a command with no file ~15 ms

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("file not found", source=str(path)) from None
    except PermissionError as exc:
        raise ConfigError(f"cannot read: {_unreadable(path)}", source=str(path)) from exc
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
