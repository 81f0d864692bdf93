"""Score the changes a run detected against the edits the benchmark made.

An edit is one change a person would care about, made to one posting, with what
its new value must show (the new pay figures, the requirement added, the new
remote policy). Each detected change is matched to at most one edit:

- detected: a change of the edit's field whose new value shows what the edit made;
- wrong value: a change of the edit's field whose new value does not;
- missed: no change of the edit's field at all;
- false: a change on a posting nobody edited;
- extra: a change on an edited posting that no edit accounts for (another field, or
  a second change where one edit was made).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Edit:
    posting: str
    """The edited posting's source id."""
    field: str
    """The field a person would name: salary, requirements or remote (a change of
    ``requirements.minimum`` is a change of requirements)."""
    shows: tuple[str, ...]
    """Texts the detected change's new value must all hold."""
    what: str = ""
    """What kind of edit, where the field alone does not say ("remote rules": the
    remote policy's rules moved while its kind stayed); reported per kind."""


@dataclass(frozen=True, slots=True)
class Detected:
    posting: str
    field: str
    new: str | None


@dataclass(slots=True)
class Score:
    made: int = 0
    detected: int = 0
    wrong_values: list[tuple[Edit, Detected]] = field(default_factory=list)
    missed: list[Edit] = field(default_factory=list)
    false: list[Detected] = field(default_factory=list)
    extra: list[Detected] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    """Per kind of edit (``Edit.what``, else its field): [made, detected]."""

    @property
    def perfect(self) -> bool:
        return self.detected == self.made and not (self.false or self.extra)

    def summary(self) -> dict[str, object]:
        return {
            "edits_made": self.made,
            "edits_detected": self.detected,
            "wrong_values": len(self.wrong_values),
            "missed": len(self.missed),
            "false_changes": len(self.false),
            "extra_changes": len(self.extra),
            "by_kind": {
                kind: {"made": m, "detected": d} for kind, (m, d) in sorted(self.by_kind.items())
            },
            "examples": {
                "wrong_values": [
                    f"{e.posting} {e.field}: wanted {e.shows}, got {d.new!r}"
                    for e, d in self.wrong_values[:5]
                ],
                "missed": [f"{e.posting} {e.field}" for e in self.missed[:5]],
                "false": [f"{d.posting} {d.field}: {d.new!r}" for d in self.false[:5]],
                "extra": [f"{d.posting} {d.field}: {d.new!r}" for d in self.extra[:5]],
            },
        }


def score(edits: Sequence[Edit], found: Iterable[Detected]) -> Score:
    """Match each edit, in the order made, to a change detected on its posting."""
    unmatched: dict[str, list[Detected]] = defaultdict(list)
    for change in found:
        unmatched[change.posting].append(change)
    result = Score(made=len(edits))
    for edit in edits:
        tally = result.by_kind.setdefault(edit.what or edit.field, [0, 0])
        tally[0] += 1
        candidates = [c for c in unmatched[edit.posting] if _field_of(c.field) == edit.field]
        right = next((c for c in candidates if _shows(c.new, edit.shows)), None)
        if right is not None:
            result.detected += 1
            tally[1] += 1
            unmatched[edit.posting].remove(right)
        elif candidates:
            result.wrong_values.append((edit, candidates[0]))
            unmatched[edit.posting].remove(candidates[0])
        else:
            result.missed.append(edit)
    edited = {edit.posting for edit in edits}
    for posting, left in unmatched.items():
        (result.extra if posting in edited else result.false).extend(left)
    return result


def _field_of(name: str) -> str:
    return name.split(".", 1)[0]


def _shows(value: str | None, wanted: tuple[str, ...]) -> bool:
    return value is not None and all(part in value for part in wanted)
