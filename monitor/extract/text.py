"""HTML and plain text to the lines a person reads.

Every extractor works on the same shape: a list of lines with whitespace
collapsed, where list items start with ``"- "`` whatever glyph the page used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

BULLET = "- "
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd details div dl dt fieldset figcaption figure footer "
    "form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot "
    "th thead tr ul".split()
)
_INVISIBLE_TAGS = ("script", "style", "noscript", "template", "svg", "head", "iframe")
# Page chrome: site navigation, sidebars, footers and widgets listing *other* jobs, whose
# amounts and "remote" words are not this posting's.
_CHROME = ", ".join(
    [
        "nav", "aside", "footer", "[role=navigation]", "[role=complementary]",
        "[role=contentinfo]", "[aria-hidden=true]",
        *(
            f'[{attr}*="{word}"]'
            for attr in ("class", "id")
            for word in ("related", "similar", "recommended", "other-jobs", "more-jobs",
                         "otherjobs", "morejobs", "cookie", "breadcrumb")
        ),
    ]
)  # fmt: skip
_BULLET_GLYPHS = re.compile(r"^\s*(?:[-*•·▪◦‣●○■□–—]|\d{1,2}[.)])\s+")
_SPACE = re.compile(r"\s+")


def collapse(text: str) -> str:
    """Collapse every run of whitespace (including NBSP) to one space."""
    return _SPACE.sub(" ", text.replace("\xa0", " ")).strip()


MAX_NESTING_DEPTH = 512
"""Real pages nest a few dozen elements deep. A hostile page of 100,000 nested <div>
makes the HTML parser's time grow faster than linearly (minutes, during which a
daemon reading on its event loop does nothing else) and overflows our tree walk."""
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^<>]*?(/?)>")
# Elements that never hold others, or that the parser closes by themselves.
_NO_DEPTH = frozenset(
    "area base br col embed hr img input link meta param source track wbr "
    "p li dt dd tr td th option optgroup thead tbody tfoot colgroup rb rt rp".split()
)


class TooDeep(ValueError):
    """An HTML text nests more elements than ``MAX_NESTING_DEPTH``."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        super().__init__(
            f"the page nests elements {depth:,} deep; the limit is {MAX_NESTING_DEPTH:,}"
        )


def nesting_depth(html: str, limit: int = MAX_NESTING_DEPTH) -> int:
    """How deep ``html`` nests elements (0 without scanning when it has fewer tags than
    ``limit``: most texts)."""
    if html.count("<") <= limit:
        return 0
    depth = deepest = 0
    for closing, name, self_closing in _TAG.findall(html):
        if self_closing or name.lower() in _NO_DEPTH:
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def parse_html(html: str) -> LexborHTMLParser:
    """Parse HTML after checking its nesting depth; ``TooDeep`` for a hostile page."""
    depth = nesting_depth(html)
    if depth > MAX_NESTING_DEPTH:
        raise TooDeep(depth)
    return LexborHTMLParser(html)


def html_to_lines(html: str) -> list[str]:
    """Visible text of an HTML document or fragment, one block per line."""
    tree = parse_html(html)
    for node in tree.css(",".join(_INVISIBLE_TAGS)):
        node.decompose()
    if _may_have_chrome(html):
        for node in tree.css(_CHROME):
            node.decompose()
    root = tree.body or tree.root
    if root is None:
        return []
    return _join_lone_glyphs(line for line in (_finish(raw) for raw in _walk_blocks(root)) if line)


_CHROME_HINTS = (
    "<nav", "<aside", "<footer", "role=", "aria-hidden", "related", "similar", "recommended",
    "other-jobs", "more-jobs", "otherjobs", "morejobs", "cookie", "breadcrumb",
)  # fmt: skip


def _may_have_chrome(html: str) -> bool:
    """Most fragments (an ATS's description) have no chrome: skip the costly selector."""
    lowered = html.lower()
    return any(hint in lowered for hint in _CHROME_HINTS)


def text_to_lines(text: str) -> list[str]:
    """Plain text (one block per line) to normalized lines."""
    return _join_lone_glyphs(line for line in (_finish(raw) for raw in text.splitlines()) if line)


_LONE_GLYPH = re.compile(r"[-*•·▪◦‣●○■□–—]")


def _join_lone_glyphs(lines: Iterable[str]) -> list[str]:
    """A glyph alone on its line ("<p>-</p><p>Python</p>") makes the next line a bullet."""
    joined: list[str] = []
    pending = False
    for line in lines:
        if _LONE_GLYPH.fullmatch(line):
            pending = True
            continue
        joined.append(BULLET + line if pending and not is_bullet(line) else line)
        pending = False
    return joined


def _finish(raw: str) -> str:
    line = collapse(raw)
    if not line:
        return ""
    if not _BULLET_GLYPHS.match(line):
        return line
    item = line
    # "<li>• text</li>" carries our bullet and the page's glyph: strip both.
    while match := _BULLET_GLYPHS.match(item):
        item = item[match.end() :]
    return BULLET + item.strip() if item.strip() else ""


def _walk_blocks(root: LexborNode) -> Iterator[str]:
    buffer: list[str] = []
    yield from _emit(root, buffer)
    if buffer:
        yield "".join(buffer)


def _emit(node: LexborNode, buffer: list[str]) -> Iterator[str]:
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            buffer.append(child.text_content or "")
            continue
        if tag not in _BLOCK_TAGS:
            yield from _emit(child, buffer)
            continue
        # A block nested right inside a list item (<li><p>..</p></li>) keeps the bullet.
        if buffer and not _only_bullet(buffer):
            yield "".join(buffer)
            buffer.clear()
        if tag == "li":
            buffer.append(BULLET)
        yield from _emit(child, buffer)
        if buffer:
            yield "".join(buffer)
            buffer.clear()


def _only_bullet(buffer: list[str]) -> bool:
    return "".join(buffer).strip() == BULLET.strip()


def is_bullet(line: str) -> bool:
    return line.startswith(BULLET)


def bullet_text(line: str) -> str:
    return line[len(BULLET) :] if is_bullet(line) else line


def sentences(line: str) -> list[str]:
    """Split a line into sentences without breaking numbers such as 155.700 or 34.62."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z(\"“])", line)
    return [p for p in parts if p]
