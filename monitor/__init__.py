"""Posting Monitor: watches job postings and tells people what changed.

The public API: the domain values, the error tree, configuration, the pure
core (``normalize``, ``compare``, ``render_alert``) and the ``App`` shell.
"""

from importlib.metadata import PackageNotFoundError, version

from monitor.app import App
from monitor.config import MonitorConfig, load_config
from monitor.diff import compare
from monitor.errors import (
    BlockedAddress,
    BodyTooLarge,
    ConfigError,
    FetchError,
    FetchTimeout,
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
from monitor.normalize import normalize
from monitor.notify.render import render_alert
from monitor.runner import PassReport

try:
    __version__ = version("posting-monitor")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

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
    "Delivery",
    "FetchError",
    "FetchTimeout",
    "FieldChange",
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
