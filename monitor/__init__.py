"""Posting Monitor: watches job postings and tells people what changed.

The public API: the domain values, the error tree, configuration, the pure
core (``normalize``, ``compare``, ``render_alert``) and the ``App`` shell.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from monitor.errors import (
    BlockedAddress,
    BodyTooLarge,
    ConfigError,
    Conflict,
    FetchError,
    FetchTimeout,
    Forbidden,
    HostPaused,
    HttpStatusError,
    MonitorError,
    NotFound,
    NotifyError,
    ParseError,
    ReadLimitExceeded,
    RobotsDisallowed,
    SourceError,
    StoreError,
    TransportError,
    UnsupportedContent,
)
from monitor.model import (
    Alert,
    BoardFilters,
    BoardResult,
    ChangeKind,
    ChangeSet,
    CheckOutcome,
    CheckResult,
    Delivery,
    FieldChange,
    HostPacing,
    NewMember,
    PayPeriod,
    Posting,
    PostingStatus,
    Provenance,
    RemoteKind,
    RemotePolicy,
    Requirements,
    Salary,
    Validators,
)

if TYPE_CHECKING:
    from monitor.app import App
    from monitor.config import MonitorConfig, load_config
    from monitor.core.diff import compare
    from monitor.core.normalize import normalize
    from monitor.engines.runner import PassReport
    from monitor.notify.render import render_alert

# The shell and the parts that pull in large libraries load on first use, so that
# `posting-monitor --version` or a plugin importing an error class stays fast.
_LAZY = {
    "App": "monitor.app",
    "MonitorConfig": "monitor.config",
    "load_config": "monitor.config",
    "compare": "monitor.core.diff",
    "normalize": "monitor.core.normalize",
    "render_alert": "monitor.notify.render",
    "PassReport": "monitor.engines.runner",
    "__version__": "monitor.version",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'monitor' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Alert",
    "App",
    "BoardFilters",
    "BlockedAddress",
    "BoardResult",
    "BodyTooLarge",
    "ChangeKind",
    "ChangeSet",
    "CheckOutcome",
    "CheckResult",
    "ConfigError",
    "Conflict",
    "Delivery",
    "FetchError",
    "FetchTimeout",
    "Forbidden",
    "FieldChange",
    "HostPacing",
    "HostPaused",
    "HttpStatusError",
    "MonitorConfig",
    "MonitorError",
    "NewMember",
    "NotFound",
    "NotifyError",
    "ParseError",
    "ReadLimitExceeded",
    "PassReport",
    "PayPeriod",
    "Posting",
    "Provenance",
    "PostingStatus",
    "RemoteKind",
    "RemotePolicy",
    "Requirements",
    "RobotsDisallowed",
    "Salary",
    "SourceError",
    "StoreError",
    "TransportError",
    "UnsupportedContent",
    "Validators",
    "__version__",
    "compare",
    "load_config",
    "normalize",
    "render_alert",
]
