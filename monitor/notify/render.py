"""Turn changes into messages a person reads in one glance.

Built-in Jinja2 templates live in ``notify/templates``; users may replace any
of them (``[templates]`` in the config). Templates run in Jinja2's sandbox with
undefined names as errors, and are test-rendered at start, so a broken template
is a configuration error, never a crash at send time.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from importlib import resources
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from monitor.config import TemplatesConfig
from monitor.core.diff import format_remote, format_salary
from monitor.errors import ConfigError
from monitor.model import (
    Alert,
    ChangeKind,
    ChangeSet,
    FieldChange,
    PayPeriod,
    Posting,
    RemoteKind,
    RemotePolicy,
    Salary,
)
from monitor.notify.payload import change_payload, digest_payload, dumps
from monitor.urls import is_web_url, shown_url

FIELD_LABELS = {
    "salary": "Salary",
    "remote": "Remote policy",
    "requirements.minimum": "Requirements",
    "requirements.preferred": "Preferred qualifications",
    "title": "Title",
    "company": "Company",
    "locations": "Locations",
    "employment_type": "Employment type",
    "status": "Status",
    "monitor": "Monitor",
}
BODY_FORMATS = ("text", "markdown", "html")


@dataclass(frozen=True, slots=True)
class _Compiled:
    title: Any
    bodies: dict[str, Any]
    digest_title: Any
    digest_bodies: dict[str, Any]


class Renderer:
    """Renders alerts and digests from the built-in or the user's templates."""

    def __init__(self, overrides: TemplatesConfig | None = None) -> None:
        overrides = overrides or TemplatesConfig()
        self._plain = _environment(autoescape=False)
        self._html = _environment(autoescape=True)
        self._compiled = _Compiled(
            title=self._compile("title", overrides.title),
            bodies={f: self._compile(f, getattr(overrides, f)) for f in BODY_FORMATS},
            digest_title=self._compile("digest_title", None),
            digest_bodies={f: self._compile(f"digest_{f}", None) for f in BODY_FORMATS},
        )
        self._check_with_a_sample()

    def _compile(self, name: str, source: str | None) -> Any:
        env = self._html if name.endswith("html") else self._plain
        text = source if source is not None else _builtin(name)
        try:
            return env.from_string(text)
        except TemplateError as exc:
            raise ConfigError(f"templates.{name}: template {name!r}: {exc}") from exc

    def _check_with_a_sample(self) -> None:
        try:
            self.render(_SAMPLE.after, _SAMPLE.changes)
        except ConfigError:
            raise
        except Exception as exc:  # a template may fail in any way the sandbox allows
            raise ConfigError(f"templates: fail on a sample alert: {exc}") from exc

    def render(self, posting: Posting, changes: Sequence[FieldChange]) -> Alert:
        context = _context(posting, changes)
        return Alert(
            title=_one_line(self._run("title", self._compiled.title, context)),
            body_text=self._run("text", self._compiled.bodies["text"], context).strip(),
            body_markdown=self._run("markdown", self._compiled.bodies["markdown"], context).strip(),
            body_html=self._run("html", self._compiled.bodies["html"], context).strip(),
        )

    def render_digest(self, alerts: Sequence[Alert]) -> Alert:
        context = {"alerts": [_alert_dict(a) for a in alerts]}
        bodies = {
            f: self._run(f"digest_{f}", t, context).strip()
            for f, t in self._compiled.digest_bodies.items()
        }
        payloads = [json.loads(a.body_json) for a in alerts if a.body_json]
        return Alert(
            title=_one_line(self._run("digest_title", self._compiled.digest_title, context)),
            body_text=bodies["text"],
            body_markdown=bodies["markdown"],
            body_html=bodies["html"],
            body_json=dumps(digest_payload(payloads)) if payloads else "",
        )

    def _run(self, name: str, template: Any, context: dict[str, Any]) -> str:
        try:
            return str(template.render(**context))
        except TemplateError as exc:
            raise ConfigError(f"templates.{name}: template {name!r}: {exc}") from exc


def sample_alert(renderer: Renderer, *, now: datetime | None = None) -> Alert:
    """What ``test-notify`` sends: a made-up change, rendered like a real one (its JSON
    has every field a real one has, ``detected_at`` being ``now``)."""
    alert = renderer.render(_SAMPLE.after, _SAMPLE.changes)
    title = f"[test] {alert.title}"
    payload = change_payload(
        posting_id=None,
        posting=_SAMPLE.after,
        before=_SAMPLE.before,
        changes=_SAMPLE.changes,
        detected_at=now,
        headline=title,
    )
    return replace(alert, title=title, body_json=dumps({**payload, "type": "test"}))


def render_alert(changeset: ChangeSet) -> Alert:
    """The built-in rendering of a change set (for callers without a configured Renderer)."""
    return _default().render(changeset.after, changeset.changes)


@functools.cache
def _default() -> Renderer:
    # The built-in templates never change: compile them once per process.
    return Renderer()


def _environment(*, autoescape: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["md"] = escape_markdown
    return env


def _builtin(name: str) -> str:
    return (resources.files("monitor.notify") / "templates" / f"{name}.j2").read_text(
        encoding="utf-8"
    )


def _context(posting: Posting, changes: Sequence[FieldChange]) -> dict[str, Any]:
    change_dicts = [_change_dict(c) for c in changes]
    groups: dict[str, list[dict[str, Any]]] = {}
    for change in change_dicts:
        groups.setdefault(change["label"], []).append(change)
    return {
        "posting": {
            **posting.to_dict(),
            "url": link_target(shown_url(posting.url)),
            "display_name": posting.display_name,
        },
        "changes": change_dicts,
        "groups": [{"label": label, "changes": items} for label, items in groups.items()],
        "headline": headline(changes),
        "facts": posting_facts(posting) if _announces(changes) else [],
    }


def _announces(changes: Sequence[FieldChange]) -> bool:
    return any(c.kind in (ChangeKind.NEW, ChangeKind.REPOSTED) for c in changes)


def posting_facts(posting: Posting) -> list[dict[str, str]]:
    """What a person wants to know of a posting new to them: pay, remote policy,
    employment type, how many requirements (those it states)."""
    facts = []
    if posting.salaries:
        facts.append(("Pay", "; ".join(format_salary(s) for s in posting.salaries)))
    if posting.remote.kind is not RemoteKind.UNKNOWN:
        facts.append(("Remote policy", format_remote(posting.remote)))
    if posting.employment_type:
        facts.append(("Employment type", posting.employment_type))
    minimum, preferred = posting.requirements.minimum, posting.requirements.preferred
    if minimum or preferred:
        facts.append(("Requirements", f"{len(minimum)} minimum, {len(preferred)} preferred"))
    return [{"label": label, "value": value} for label, value in facts]


def _change_dict(change: FieldChange) -> dict[str, Any]:
    return {
        "field": change.field,
        "kind": change.kind.value,
        "old": change.old,
        "new": change.new,
        "summary": change.summary,
        "label": FIELD_LABELS.get(change.field, change.field),
        "percent": float(change.percent) if change.percent is not None else None,
        "direction": change.direction,
    }


def _alert_dict(alert: Alert) -> dict[str, str]:
    return {
        "title": alert.title,
        "body_text": alert.body_text,
        "body_markdown": alert.body_markdown,
        "body_html": alert.body_html,
    }


def headline(changes: Sequence[FieldChange]) -> str:
    """One change: the change itself. Several: each in a few words, most important first."""
    if len(changes) == 1:
        return changes[0].summary
    return ", ".join(dict.fromkeys(_short(change) for change in changes))


def _short(change: FieldChange) -> str:
    if (
        change.field == "salary"
        and change.kind is ChangeKind.CHANGED
        and change.percent is not None
    ):
        verb = {"up": "raised", "down": "lowered"}.get(change.direction)
        return f"salary range {verb} {abs(change.percent):.1f}%" if verb else "salary range changed"
    # Every summary starts with its own short form: "requirement added: ...".
    return change.summary.split(":", 1)[0]


def _one_line(text: str) -> str:
    return " ".join(text.split())


_LINK_BREAKERS = re.compile(r"[()<>|\\`\s\x00-\x1f\x7f-\x9f]")


def link_target(url: str) -> str:
    """A posting's URL as templates get it: an http(s) URL with the characters that
    would end a Markdown link target (or a Slack ``<url|text>``) percent-encoded, so
    the URL cannot add links or text of its own; anything but http(s), nothing."""
    encoded = _LINK_BREAKERS.sub(lambda m: "".join(f"%{b:02X}" for b in m[0].encode()), url.strip())
    return encoded if is_web_url(encoded) else ""


def escape_markdown(text: str) -> str:
    """Escape the characters Markdown would read as formatting."""
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text


# The test alert is shaped like a real pay raise (W8): pay numbers before and after,
# the percent and direction, so a no-code tool can map every field from it.
_SAMPLE_BEFORE = Posting(
    source_kind="html",
    source_id="https://example.com/jobs/1",
    url="https://example.com/jobs/1",
    title="Backend Engineer",
    company="Example",
    locations=("Berlin, DE",),
    salaries=(
        Salary(min=Decimal(100000), max=Decimal(120000), currency="USD", period=PayPeriod.YEAR),
    ),
    remote=RemotePolicy(kind=RemoteKind.HYBRID, details=("in the office 3 days a week",)),
)
_SAMPLE_AFTER = replace(
    _SAMPLE_BEFORE,
    salaries=(
        Salary(min=Decimal(106000), max=Decimal(126000), currency="USD", period=PayPeriod.YEAR),
    ),
    remote=RemotePolicy(
        kind=RemoteKind.REMOTE, details=("remote within the European Union",), regions=("EU",)
    ),
)
_SAMPLE = ChangeSet(
    before=_SAMPLE_BEFORE,
    after=_SAMPLE_AFTER,
    changes=(
        FieldChange(
            field="salary",
            kind=ChangeKind.CHANGED,
            old="100,000–120,000 USD/yr",
            new="106,000–126,000 USD/yr",
            summary="salary range 100,000–120,000 USD/yr → 106,000–126,000 (+6.0% / +5.0%)",
            percent=Decimal("6.0"),
            direction="up",
        ),
        FieldChange(
            field="remote",
            kind=ChangeKind.CHANGED,
            old="hybrid",
            new="remote",
            summary="remote policy hybrid → remote",
        ),
        FieldChange(
            field="requirements.minimum",
            kind=ChangeKind.ADDED,
            old=None,
            new="Kubernetes",
            summary="requirement added: Kubernetes",
        ),
    ),
)
