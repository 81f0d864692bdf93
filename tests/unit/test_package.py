from __future__ import annotations

import ast
import inspect
from pathlib import Path

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


def test_nothing_inside_the_package_imports_its_face() -> None:
    """The face (``monitor/__init__.py``) lazily exports from the layers; a module inside
    that imported it back would climb over every layer (import-linter cannot say this
    of the root package, so this test does)."""
    root = Path(monitor.__file__).parent
    climbing = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(a.name == "monitor" for a in node.names):
                climbing.append(f"{path.relative_to(root)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module == "monitor" and node.level == 0:
                climbing.append(f"{path.relative_to(root)}:{node.lineno}")
    assert climbing == []
