from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from monitor.config import TemplatesConfig
from monitor.errors import ConfigError
from monitor.model import Alert, ChangeKind, FieldChange, Posting
from monitor.notify.deliver import DigestSchedule, run_inline
from monitor.notify.render import Renderer

POSTING = Posting(
    source_kind="html", source_id="x", url="https://x.test/j?a=1&b=2", title="Engineer <Backend>",
    company="Acme_Co",
)  # fmt: skip
RAISE = FieldChange(
    field="salary", kind=ChangeKind.CHANGED, old="100,000–120,000 USD/yr", new="106,000–126,000",
    summary="salary range 100,000–120,000 USD/yr → 106,000–126,000 (+6.0% / +5.0%)",
    percent=Decimal("6.0"), direction="up",
)  # fmt: skip
ADDED = FieldChange(
    field="requirements.minimum", kind=ChangeKind.ADDED, old=None, new="Kubernetes",
    summary="requirement added: Kubernetes",
)  # fmt: skip


def test_builtin_alert_in_every_format() -> None:
    alert = Renderer().render(POSTING, [RAISE, ADDED])
    assert (
        alert.title == "Acme_Co · Engineer <Backend>: salary range raised 6.0%, requirement added"
    )
    assert (
        "Salary:\n  - salary range 100,000–120,000 USD/yr → 106,000–126,000 (+6.0% / +5.0%)"
        in alert.body_text
    )
    assert "Requirements:\n  - requirement added: Kubernetes" in alert.body_text
    assert alert.body_text.endswith(POSTING.url)
    assert r"**[Acme\_Co · Engineer \<Backend\>](https://x.test/j?a=1&b=2)**" in alert.body_markdown
    assert "<li>requirement added: Kubernetes</li>" in alert.body_html
    assert "Engineer &lt;Backend&gt;" in alert.body_html  # HTML is escaped
    assert 'href="https://x.test/j?a=1&amp;b=2"' in alert.body_html


PHISH = (
    "https://jobs.example/a) **URGENT: [Re-authenticate your account]"
    "(https://phish.example/login) ** (x"
)


def test_a_posting_url_cannot_add_links_to_a_markdown_alert() -> None:
    alert = Renderer().render(
        replace(POSTING, url=PHISH, title="[Click](https://x.example)"), [RAISE]
    )
    first = alert.body_markdown.splitlines()[0]
    assert first == (
        "**[Acme\\_Co · \\[Click\\](https://x.example)](https://jobs.example/a%29%20**URGENT:"
        "%20[Re-authenticate%20your%20account]%28https://phish.example/login%29%20**%20%28x)**"
    )


@pytest.mark.parametrize("url", ["javascript:alert(4)//", "data:text/html,<script>x</script>"])
def test_only_http_links_reach_an_alert(url: str) -> None:
    alert = Renderer().render(replace(POSTING, url=url), [RAISE])
    for body in (alert.body_text, alert.body_markdown, alert.body_html):
        assert "javascript:" not in body
        assert "data:" not in body


def test_single_change_title_is_the_change() -> None:
    assert (
        Renderer().render(POSTING, [ADDED]).title
        == "Acme_Co · Engineer <Backend>: requirement added: Kubernetes"
    )


def test_user_templates_replace_builtins() -> None:
    renderer = Renderer(TemplatesConfig(
        title="{{ posting.company }}: {{ changes | length }} change(s)",
        # Blocks are trimmed (trim_blocks): a newline right after a tag is dropped.
        text="{% for c in changes %}* {{ c.label }}: {{ c.summary }}{% if c.percent %} [{{ c.percent }}%]{% endif %}\n\n{% endfor %}",
    ))  # fmt: skip
    alert = renderer.render(POSTING, [RAISE, ADDED])
    assert alert.title == "Acme_Co: 2 change(s)"
    assert alert.body_text.splitlines() == [
        "* Salary: salary range 100,000–120,000 USD/yr → 106,000–126,000 (+6.0% / +5.0%) [6.0%]",
        "* Requirements: requirement added: Kubernetes",
    ]


@pytest.mark.parametrize(
    ("templates", "message"),
    [
        pytest.param({"title": "{{ posting.title"}, "template 'title'", id="syntax-error"),
        pytest.param({"text": "{{ posting.nope }}"}, "nope", id="undefined-name"),
        pytest.param(
            {"markdown": "{{ posting.__class__.__mro__ }}"},
            "templates",
            id="sandbox-blocks-internals",
        ),
    ],
)
def test_broken_templates_fail_at_start(templates: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Renderer(TemplatesConfig(**templates))


def test_digest_holds_every_alert() -> None:
    alerts = [
        Alert(
            title=f"t{i}", body_text=f"text {i}", body_markdown=f"md {i}", body_html=f"<p>{i}</p>"
        )
        for i in range(3)
    ]
    digest = Renderer().render_digest(alerts)
    assert digest.title == "Posting Monitor digest: 3 updates"
    assert [line for line in digest.body_text.splitlines() if line in ("t0", "t1", "t2")] == [
        "t0",
        "t1",
        "t2",
    ]
    assert "text 1" in digest.body_text
    assert "### t2\nmd 2" in digest.body_markdown
    assert "<p>1</p>" in digest.body_html  # bodies are already HTML: not escaped twice


NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "oldest", "now", "due"),
    [
        (DigestSchedule(every=timedelta(hours=1)), NOON, NOON + timedelta(minutes=59), False),
        (DigestSchedule(every=timedelta(hours=1)), NOON, NOON + timedelta(hours=1), True),
        (DigestSchedule(hour=8), NOON, NOON + timedelta(hours=19, minutes=59), False),
        (DigestSchedule(hour=8), NOON, NOON + timedelta(hours=20), True),
        (
            DigestSchedule(hour=7, minute=30),
            NOON.replace(hour=6),
            NOON.replace(hour=7, minute=30),
            True,
        ),
        # 08:00 in Berlin is 07:00 UTC in winter.
        (DigestSchedule(hour=8, zone="Europe/Berlin"), NOON, NOON + timedelta(hours=19), True),
        (
            DigestSchedule(hour=8, zone="Europe/Berlin"),
            NOON,
            NOON + timedelta(hours=18, minutes=59),
            False,
        ),
    ],
)
def test_digest_schedules(
    schedule: DigestSchedule, oldest: datetime, now: datetime, due: bool
) -> None:
    assert schedule.due(oldest, now) is due


@pytest.mark.parametrize(
    ("oldest", "sends_at"),
    [
        # 08:00:45.5 Berlin (07:00:45.5 UTC): today at 09:30:00.000 sharp.
        (
            datetime(2026, 11, 30, 7, 0, 45, 500_000, tzinfo=UTC),
            datetime(2026, 11, 30, 8, 30, tzinfo=UTC),
        ),
        # Queued exactly at 09:30 Berlin: the next day's, not a digest of one instant.
        (datetime(2026, 11, 30, 8, 30, tzinfo=UTC), datetime(2026, 12, 1, 8, 30, tzinfo=UTC)),
        # A second before: today's.
        (datetime(2026, 11, 30, 8, 29, 59, tzinfo=UTC), datetime(2026, 11, 30, 8, 30, tzinfo=UTC)),
    ],
)
def test_a_daily_digest_goes_at_its_minute_sharp_in_its_zone(
    oldest: datetime, sends_at: datetime
) -> None:
    schedule = DigestSchedule(hour=9, minute=30, zone="Europe/Berlin")
    moment = schedule._next_daily_time(oldest)
    assert moment == sends_at
    assert moment.tzinfo is UTC
    assert schedule.due(oldest, sends_at)
    assert not schedule.due(oldest, sends_at - timedelta(microseconds=1))


def test_delivery_without_a_database_thread_makes_its_calls_in_place() -> None:
    # run_inline is the DbRunner used when there is no Store.run: like it, it passes
    # the call's positional and keyword arguments on.
    assert asyncio.run(run_inline(divmod, 7, 2)) == (3, 1)
    assert asyncio.run(run_inline(int, "ff", base=16)) == 255
