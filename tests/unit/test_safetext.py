"""Stranger's text made safe for a terminal and for XML (S9, S10)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from monitor.safetext import for_terminal, for_xml

# The review's posting title: colour, window title (OSC 0), clipboard write (OSC 52), NUL.
HOSTILE = (
    "Engineer \x1b[31mRED\x1b[0m \x1b]0;PWNED-TITLE\x07 \x1b]52;c;ZWNobyBwd25lZA==\x07 end\x00nul"
)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (HOSTILE, "Engineer RED   endnul"),
        ("Ctl\x1b[2JCo", "CtlCo"),
        ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),  # DCS (sixel) up to its terminator
        ("C1 \x9b2J csi, \x9d0;title\x9c osc", "C1  csi,  osc"),
        ("unterminated \x1b]0;title", "unterminated 0;title"),  # the ESC goes, the text stays
        ("line\r\nnext\ttab\x08\x7f", "line\nnext\ttab"),
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("Zürich · 東京 — €90k", "Zürich · 東京 — €90k"),
    ],
    ids=["review", "clear", "dcs", "c1", "unterminated", "c0", "surrogate", "unicode"],
)
def test_terminal_text_keeps_no_escape_or_control(text: str, shown: str) -> None:
    assert for_terminal(text) == shown


def test_xml_text_keeps_only_what_xml_allows() -> None:
    cleaned = for_xml(HOSTILE + "\ufffe\uffff\ud800 ok\t\n")
    assert cleaned == "Engineer [31mRED[0m ]0;PWNED-TITLE ]52;c;ZWNobyBwd25lZA== endnul ok\t\n"
    element = ET.Element("t", title=cleaned)
    element.text = cleaned
    assert ET.fromstring(ET.tostring(element)).text == cleaned
