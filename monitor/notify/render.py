"""Turn a change set into a message a person reads in one glance. Pure."""

from __future__ import annotations

from monitor.model import Alert, ChangeKind, ChangeSet, FieldChange

_FIELD_LABELS = {
    "salary": "Salary",
    "remote": "Remote policy",
    "requirements.minimum": "Requirements",
    "requirements.preferred": "Preferred qualifications",
    "title": "Title",
    "company": "Company",
    "locations": "Locations",
    "employment_type": "Employment type",
    "status": "Status",
}


def render_alert(changeset: ChangeSet) -> Alert:
    posting = changeset.after
    title = f"{posting.display_name}: {_headline(changeset.changes)}"
    groups = _grouped(changeset.changes)
    text_lines = [title, ""]
    markdown_lines = [f"**[{_md(posting.display_name)}]({posting.url})**", ""]
    for label, items in groups:
        text_lines.append(f"{label}:")
        markdown_lines.append(f"**{label}**")
        for change in items:
            text_lines.append(f"  - {change.summary}")
            markdown_lines.append(f"- {_md(change.summary)}")
        markdown_lines.append("")
    text_lines += ["", posting.url]
    return Alert(
        title=title,
        body_text="\n".join(text_lines),
        body_markdown="\n".join(markdown_lines).strip(),
    )


def _headline(changes: tuple[FieldChange, ...]) -> str:
    if len(changes) == 1:
        return changes[0].summary
    parts = list(dict.fromkeys(_short(change) for change in changes))
    return ", ".join(parts)


def _short(change: FieldChange) -> str:
    if change.field == "salary" and change.kind is ChangeKind.CHANGED:
        return _salary_move(change)
    # Every summary starts with its own short form: "requirement added: ...".
    return change.summary.split(":", 1)[0]


def _salary_move(change: FieldChange) -> str:
    if "(" not in change.summary:
        return "salary range changed"
    moves = change.summary.rsplit("(", 1)[1].rstrip(")").split(" / ")
    signs = {m[0] for m in moves if m}
    verb = "raised" if signs == {"+"} else "lowered" if signs == {"-"} else "changed"
    return (
        f"salary range {verb} {moves[0].lstrip('+-')}"
        if verb != "changed"
        else "salary range changed"
    )


def _grouped(changes: tuple[FieldChange, ...]) -> list[tuple[str, list[FieldChange]]]:
    groups: dict[str, list[FieldChange]] = {}
    for change in changes:
        groups.setdefault(_FIELD_LABELS.get(change.field, change.field), []).append(change)
    return list(groups.items())


def _md(text: str) -> str:
    """Escape the characters Markdown would read as formatting."""
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text
