from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from monitor.config import RuleConfig
from monitor.model import ChangeKind, FieldChange, Posting
from monitor.notify.rules import Rule, route
from tests.unit.test_extract_cases import load_cases

POSTING = Posting(
    source_kind="html", source_id="x", url="https://x.test/j", title="Backend Engineer",
    company="Stripe", department="Infrastructure",
)  # fmt: skip


def change(spec: list[Any]) -> FieldChange:
    field, kind, percent, direction = spec
    return FieldChange(
        field=field, kind=ChangeKind(kind), old=None, new=None, summary=f"{field} {kind}",
        percent=None if percent is None else Decimal(str(percent)), direction=direction,
    )  # fmt: skip


def rule_from(config: dict[str, Any], channels: tuple[str, ...] = ("c",)) -> Rule:
    parsed = RuleConfig.model_validate(config)
    return Rule(
        channels=channels,
        fields=frozenset(parsed.fields),
        salary_min_change_percent=Decimal(str(parsed.salary_min_change_percent)),
        salary_direction=parsed.salary_direction,
        keywords=parsed.keywords,
    )


@pytest.mark.parametrize("case", load_cases("rules.yaml"))
def test_rule_case(case: dict[str, Any]) -> None:
    rule = rule_from(case["rule"])
    changes = [change(c) for c in case["changes"]]
    assert [i for i, c in enumerate(changes) if rule.matches(POSTING, c)] == case["expected"]


def test_route_merges_rules_per_channel_in_change_order() -> None:
    salary, remote, title = (change(["salary", "changed", 6, "up"]), change(["remote", "changed", None, ""]),
                             change(["title", "changed", None, ""]))  # fmt: skip
    rules = [
        rule_from({"fields": ["title", "salary"]}, channels=("email",)),
        rule_from({"fields": ["remote"]}, channels=("email", "discord")),
    ]
    routed = route(POSTING, [salary, remote, title], rules)
    assert routed == {"email": (salary, remote, title), "discord": (remote,)}


def test_a_change_no_rule_matches_goes_nowhere() -> None:
    rules = [rule_from({"fields": ["salary"]})]
    assert route(POSTING, [change(["title", "changed", None, ""])], rules) == {}


def test_unknown_rule_field_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="fields"):
        RuleConfig.model_validate({"fields": ["wages"]})


def test_a_remote_rule_hears_of_a_change_of_the_policy_rules_alone() -> None:
    """The kind stays remote; the text's region and office rule move: a remote change."""
    from dataclasses import replace

    from monitor.core.diff import compare
    from monitor.model import RemoteKind, RemotePolicy

    before = replace(
        POSTING,
        remote=RemotePolicy(kind=RemoteKind.REMOTE, details=("remote within United States",)),
    )
    after = replace(
        POSTING,
        remote=RemotePolicy(
            kind=RemoteKind.REMOTE,
            details=("remote within United States, Canada", "office optional"),
        ),
    )
    changes = compare(before, after).changes
    routed = route(after, changes, [rule_from({"fields": ["remote"]}, channels=("email",))])
    assert [c.summary for c in routed["email"]] == [
        "remote policy remote (United States) → remote (United States, Canada; office optional)"
    ]
