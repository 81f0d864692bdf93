from __future__ import annotations

import inspect

import monitor
from monitor import errors, model


def test_all_names_import() -> None:
    for name in monitor.__all__:
        assert hasattr(monitor, name), name


def test_every_public_domain_type_and_error_is_exported() -> None:
    for module in (model, errors):
        public = {
            name for name, obj in vars(module).items()
            if inspect.isclass(obj) and obj.__module__ == module.__name__ and not name.startswith("_")
        }  # fmt: skip
        assert public <= set(monitor.__all__), public - set(monitor.__all__)


def test_every_error_derives_from_monitor_error() -> None:
    for name, obj in vars(errors).items():
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, monitor.MonitorError), name
