"""Text written by strangers (postings come from any site or board), made safe for
where it is shown: a terminal, which obeys escape sequences (colours, clearing the
screen, setting the window title, writing the clipboard), and XML, which forbids
most control characters outright (one of them makes a whole feed unreadable).
"""

from __future__ import annotations

import re
from functools import cache

_TERMINAL_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clearing
    r"|\x1b[]P^_X][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"  # OSC, DCS, PM, APC, SOS strings
    r"|\x1b[ -/]*[0-~]"  # the other escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # CSI as one C1 character
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"  # their C1 forms
)
_TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def for_terminal(text: str) -> str:
    """``text`` without escape sequences or control characters, except newline and
    tab (and without lone surrogates, which no terminal encoding can write)."""
    return _TERMINAL_CONTROLS.sub("", _TERMINAL_SEQUENCES.sub("", text))


def for_xml(text: str) -> str:
    """``text`` without the characters XML 1.0 does not allow in a document."""
    return _xml_forbidden().sub("", text)


@cache
def _xml_forbidden() -> re.Pattern[str]:
    # Compiled on first use: its ranges take ~9 ms to compile, which every command
    # would pay at start, and only feeds need it.
    return re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


__all__ = ["for_terminal", "for_xml"]
