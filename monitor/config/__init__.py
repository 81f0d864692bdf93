"""The one configuration schema, validated before anything starts.

Every setting is a field with a type, a default and its help text, in one schema
(``MonitorConfig`` in ``schema.py``, its process sections in ``sections.py``, the
kinds of value they are written in in ``values.py``); ``loading.py`` reads it from
the TOML file and ``MONITOR_*`` environment variables, resolving secrets by
reference. Every error names the file or variable and the field. The names below
are what the rest of the package uses.
"""

from monitor.config.loading import (
    describe_validation,
    load_config,
    requested_log_format,
)
from monitor.config.schema import (
    AlertField,
    ChannelConfig,
    FiltersConfig,
    MonitorConfig,
    RuleConfig,
    TemplatesConfig,
    WatchConfig,
)
from monitor.config.sections import (
    CLAIM_LEASE_SENDS,
    AlertConfig,
    BrowserConfig,
    DatabaseConfig,
    HostLimits,
    HttpConfig,
    ReadingConfig,
    SchedulerConfig,
    WebConfig,
)
from monitor.config.values import (
    DEFAULT_WEB_LISTEN,
    check_host_name,
    check_host_port,
    check_interval,
    host_port,
    is_loopback_host,
    parse_daily_time,
    parse_duration,
)

__all__ = [
    "CLAIM_LEASE_SENDS",
    "DEFAULT_WEB_LISTEN",
    "AlertConfig",
    "AlertField",
    "BrowserConfig",
    "ChannelConfig",
    "DatabaseConfig",
    "FiltersConfig",
    "HostLimits",
    "HttpConfig",
    "MonitorConfig",
    "ReadingConfig",
    "RuleConfig",
    "SchedulerConfig",
    "TemplatesConfig",
    "WatchConfig",
    "WebConfig",
    "check_host_name",
    "check_host_port",
    "check_interval",
    "describe_validation",
    "host_port",
    "is_loopback_host",
    "load_config",
    "parse_daily_time",
    "parse_duration",
    "requested_log_format",
]
