"""The README, the example config and --help stay in step with the code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
from pydantic import BaseModel

from monitor.cli import cli
from monitor.config import MonitorConfig
from monitor.sources import SourceRegistry

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = (ROOT / "config" / "monitor.example.toml").read_text(encoding="utf-8")


def setting_paths(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from setting_paths(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def test_every_setting_is_documented_in_readme() -> None:
    missing = [p for p in setting_paths(MonitorConfig) if f"`{p}`" not in README]
    assert missing == []


def test_every_setting_appears_in_the_example_config() -> None:
    for path in setting_paths(MonitorConfig):
        *tables, key = path.split(".")
        if tables:
            assert f"[{tables[0]}]" in EXAMPLE, path
        assert re.search(rf"^#?\s*(?:\[\[)?{key}\b", EXAMPLE, re.MULTILINE), path


def test_every_source_kind_is_documented() -> None:
    for source in SourceRegistry.default():
        assert f"| `{source.kind}` |" in README, source.kind


def commands(group: click.Group, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"


def test_every_command_is_in_the_reference() -> None:
    missing = [c for c in commands(cli) if f"`posting-monitor {c}" not in README]
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    (test_command,) = re.findall(r"^(python3 -m venv .*pytest)$", README, re.MULTILINE)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
