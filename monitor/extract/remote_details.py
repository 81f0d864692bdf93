"""The rules a posting's text states beside its remote policy, the ones a person would
quote: office days and share of time in the office, distance rules, allowed regions, time
zones, an office that is optional, travel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from monitor.extract.places import region_code, region_name, regions_in
from monitor.extract.remote_kind import HOME_WORDS, NOT_WORKPLACE, kind_of, rx
from monitor.extract.text import collapse
from monitor.model import RemoteKind

_R, _H, _O = RemoteKind.REMOTE, RemoteKind.HYBRID, RemoteKind.ONSITE

_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5"}
_DETAIL_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(?P<n>\d{1,3})\s*%\s+of (?:their|your|the|our) (?:\w+ )?time", re.I),
        "in office at least {n}% of the time",
    ),
    (
        re.compile(
            r"(?P<n>\d|one|two|three|four|five)\s+days?\s+(?:a|per|each|every)\s+week(?!\s+(?:from home|remote))",
            re.I,
        ),
        "in office {n} days a week",
    ),
    (
        re.compile(
            r"(?P<n>\d{1,4})\+?\s*miles?(?:\s*(?:\(|or\s)\s*\d{1,4}\+?\s*(?:km|kilomet(?:er|re)s?)\)?)?(?:\s*or more)?\s+from",
            re.I,
        ),
        "remote only {n}+ miles from an office",
    ),
)
_UP_TO = re.compile(r"\b(?:up to|no more than|at most|max(?:imum)?(?: of)?)\s*$", re.I)
_REGION_LIST = re.compile(
    r"\bremote(?:ly)?(?: \w+){0,2} (?:with)?in (?:the )?(?P<a>[^.;:!?()]{2,80})|"
    r"\bremote (?:from|across) (?:the )?(?P<b>[^.;:!?()]{2,80})|"
    r"\bremote (?:fellows|candidates|employees|applicants) (?:in|from) (?:the )?(?P<c>[^.;:!?()]{2,80})|"
    r"(?:^|:)\s*remote\s*[-–—,:(]\s*(?:the )?(?P<d>[^.;:!?()]{2,60})|"
    r"\b(?P<e>(?-i:[A-Z][\w.]*(?: [A-Z][\w.]*){0,2}))\s*[-–—]\s*remote\b|"
    r"\bremote\s*\(\s*(?P<f>[^)]{2,60})\)|"
    r"\b(?:reside|live|located|based) (?:anywhere )?(?:with)?in (?:the )?(?P<g>[^.;:!?()]{2,60})",
    re.I,
)
_REGION_TAIL = re.compile(
    r"\s+(?:only|eligible|time zones?|based|preferred|candidates|residents|applicants|is|are|"
    r"and (?:must|you)|with|at|for|who|to|please|but|\d)\b.*$",
    re.I,
)
_REMOTE_WITHIN_A_NAME = re.compile(
    r"remote(?:ly)? (?:with)?in (?:the )?(?P<n>[A-Z][\w .]{1,30}?)(?=[,.;)]|\s+(?:only|time)|$)",
    re.I,
)
_HOME_WORD_RE = re.compile(HOME_WORDS, re.I)
_OFFICE_WORD_RE = re.compile(
    r"\b(?:office|on[- ]?site|in[- ]person|hq|headquarters|studio|hub|büro|bureau|oficina|kantoor)\b",
    re.I,
)


def text_details(
    relevant: list[str], paragraphs: list[str], *, kind: RemoteKind, text: RemoteKind
) -> tuple[str, ...]:
    """The rules the text states, whichever side gave the kind: office days and share of
    time in the office, distance rules, allowed regions, time zones, an office that is
    optional, travel.

    Office days are the text's own: where the text reads remote (or is silent beside a
    remote structured value), "4 days a week" is not about an office. Regions, time
    zones and an optional office belong to remote (or hybrid) work; travel to any known
    kind. ``paragraphs`` are every sentence of the lines that talk about the workplace
    (travel and time zones are often a sentence of their own there).
    """
    found: list[str] = []
    own = text if text is not RemoteKind.UNKNOWN else kind
    away = _R in (kind, text) or _H in (kind, text)
    for sentence in relevant:
        clean = NOT_WORKPLACE.sub(" ", sentence)
        for pattern, template in _DETAIL_PATTERNS:
            match = pattern.search(clean)
            if match is None or (template.startswith("in office") and own is _R):
                continue
            if template.startswith("in office") and _days_at_home(clean, match):
                continue  # "work from home two days a week" counts days away from the office
            n = _NUMBER_WORDS.get(match["n"].lower(), collapse(match["n"]))
            if _UP_TO.search(clean, 0, match.start()):
                template = template.replace("at least", "up to")  # "on-site up to 80% of the time"
            _add(found, template.format(n=n))
        if kind is not RemoteKind.UNKNOWN:
            _add(found, _distance(clean))
        if away:
            _add(found, _region_detail(clean))
        if _R in (own, kind) and kind_of(sentence) is not _O:
            _add(found, _office_optional(clean))
    if away:
        for sentence in paragraphs:
            for zone in _time_zones(sentence):
                _add(found, zone)
    if kind is not RemoteKind.UNKNOWN:
        for sentence in paragraphs:
            _add(found, _travel(sentence))
    return tuple(found)


_DISTANCE = re.compile(
    r"\bwithin (?:a )?(?P<n>\d{1,4})[- ]?(?P<u>miles?|mi\b|km\b|kilomet(?:er|re)s?)(?: radius)? "
    r"(?:of|from) (?P<p>[^.;,()]{2,40}?)(?=\s*(?:[.;,()]|$|\b(?:and|or|to|for|so|in order)\b))",
    re.I,
)


def _distance(sentence: str) -> str:
    """'within 50 miles of Chicago': how near a place the person must live."""
    match = _DISTANCE.search(sentence)
    if match is None:
        return ""
    unit = "km" if match["u"].lower().startswith("k") else "miles"
    return f"within {match['n']} {unit} of {collapse(match['p'])}"


def _region_detail(sentence: str) -> str:
    for match in _REGION_LIST.finditer(sentence):
        raw = next(g for g in match.groups() if g)
        if _TIME_ZONE_WORDS.search(raw):
            return ""  # "remote within US or Canadian time zones" is a time-zone rule
        codes = regions_in(_REGION_TAIL.sub("", raw))
        if codes:
            return "remote within " + names(codes)
    old = _REMOTE_WITHIN_A_NAME.search(sentence)
    if old is None or _TIME_ZONE_WORDS.search(sentence, old.start()):
        return ""
    return f"remote within {collapse(old['n'])}"


_TIME_ZONE_WORDS = re.compile(
    r"\btime[- ]?zones?\b|\b(?:UTC|GMT)\s?[+±−-]\s?\d{1,2}\b[^.;]{0,6}\b(?:to|and)\b|"
    r"\b(?:business|working|office) hours\b",
    re.I,
)
# A list of named zones or places right before "time zone(s)" or "business hours":
# "US or Canadian time zones", "Eastern or Central time zones", "CET working hours".
_ZONE_LIST = re.compile(
    r"(?P<z>(?:(?:[A-Z][\w.]*|[A-Z]{2,5}\s?[+±−-]\s?\d{1,2}(?::\d{2})?)"
    r"(?:\s*(?:,|/|&|\bor\b|\band\b)\s*|\s+))+?)"
    r"(?:(?i:standard)\s+)?(?i:time[- ]?zones?|(?:business|working|office) hours)\b"
)
_ZONE_LEAD = re.compile(
    r"^(?:(?:in|within|across|from|during|the|our|any|all|most|either|both|multiple|different|"
    r"various|other|many|several|global|local|your|their|same|overlapping|compatible|"
    r"normal|regular|core|standard)\s+)+",
    re.I,
)
_ZONE_RANGE = re.compile(
    r"\b(?P<a>(?:UTC|GMT)\s?[+±−-]\s?\d{1,2}(?::\d{2})?)\s*(?:to|-|–|—|and)\s*"
    r"(?P<b>(?:UTC|GMT)?\s?[+±−-]\s?\d{1,2}(?::\d{2})?)",
)
_ZONE = r"(?P<z>[A-Z]{2,5}(?:\s?[+−-]\s?\d{1,2})?|[A-Z][a-z]+(?: [A-Z][a-z]+)?)\b"
_HOURS = r"(?P<n>\d{1,2}|(?i:one|two|three|four|five|six))\+?\s*(?i:hours?|hrs?)\b"
_ZONE_OVERLAPS = (
    re.compile(rf"\b(?i:overlap\w*)\b[^.;]{{0,30}}?\b{_HOURS}[^.;]{{0,30}}?\b{_ZONE}"),
    re.compile(rf"\b{_HOURS}[^.;]{{0,20}}?\b(?i:overlap\w*)\b[^.;]{{0,20}}?\b{_ZONE}"),
)


def _time_zones(sentence: str) -> Iterator[str]:
    """'time zones: United States, Canada', 'time zones: UTC-5 to UTC+1',
    '4 hours overlap with CET': the time zones a remote worker must keep."""
    lowered = sentence.lower()
    if not any(word in lowered for word in ("zone", "hours", "utc", "gmt")):
        return
    for match in _ZONE_RANGE.finditer(sentence):
        low, high = (re.sub(r"\s+", "", g).replace("−", "-") for g in (match["a"], match["b"]))
        if not high.startswith(("UTC", "GMT")):
            high = low[:3] + high
        yield f"time zones: {low} to {high}"
    for match in _ZONE_LIST.finditer(sentence):
        names = _zone_names(_ZONE_LEAD.sub("", match["z"]).strip())
        if names:
            yield "time zones: " + ", ".join(names)
    for pattern in _ZONE_OVERLAPS:
        for match in pattern.finditer(sentence):
            n = _NUMBER_WORDS.get(match["n"].lower(), match["n"])
            yield f"{n} hours overlap with {collapse(match['z'])}"


def _zone_names(listed: str) -> list[str]:
    items = [i for i in re.split(r"\s*(?:,|/|&|\bor\b|\band\b)\s*", listed) if i.strip()]
    names = [region_name(code) if (code := region_code(i)) else collapse(i) for i in items]
    return list(dict.fromkeys(n for n in names if n and not _ZONE_LEAD.fullmatch(n + " ")))


_OFFICE = r"(?:office|offices|hub|hubs|co-?working(?: space)?|workspace|headquarters|hq)"
_OFFICE_OPTIONAL = rx(
    rf"\b{_OFFICE}\b[^.;]{{0,60}}?(?<!not )\b(?:optional|(?:never|not) (?:required|mandatory|"
    r"expected)|if you (?:wish|like|prefer|want)|should you (?:wish|prefer|want)|"
    r"whenever you (?:like|want|wish))\b",
    rf"\b(?:optional|voluntary)\b[^.;]{{0,25}}\b(?:{_OFFICE}|in-office|in-person)\b",
    rf"\b(?:may|can|are welcome to|are free to) (?:also )?(?:use|work from|work in|work out of|"
    rf"come (?:in)?to|visit|drop in(?:to)?)\b[^.;]{{0,30}}\b{_OFFICE}\b",
    rf"\baccess to (?:an? |our |the )?(?:[\w-]+ ){{0,2}}{_OFFICE}\b",
    rf"\bnot (?:be )?required to (?:come|work|be) (?:in|into|from|at) (?:the|an?|our) {_OFFICE}\b",
)


def _office_optional(sentence: str) -> str:
    """'office optional' where an office is there to use but never required."""
    if re.search(r"\bnot optional\b", sentence, re.I):
        return ""
    return "office optional" if _OFFICE_OPTIONAL.search(sentence) else ""


_TRAVEL_NOT = re.compile(
    r"\btravel(?:l?ing)? (?:stipends?|insurance|expenses?|reimburse\w*|industry|budgets?|"
    r"allowances?|costs?|perks?|benefits?|credits?|discounts?|agenc\w*|booking\w*|tech\w*|"
    r"sector|compan\w*|partners?|platforms?|products?|apps?|time is (?:paid|compensated))\b",
    re.I,
)
_TRAVEL_PERCENT = re.compile(
    r"\btravel\w*\b[^.;%]{0,40}?(?P<q>\b(?:up to|approximately|approx\.?|about|around|"
    r"roughly|less than|under|no more than|max(?:imum)?(?: of)?|at least)\s*)?"
    r"(?P<n>\d{1,3}(?:\s*[-–]\s*\d{1,3})?)\s*%|"
    r"(?P<q2>\b(?:up to|approximately|about|around|roughly|less than|under)\s*)?"
    r"(?P<n2>\d{1,3}(?:\s*[-–]\s*\d{1,3})?)\s*%\s+(?:of (?:the |your )?time\s+)?"
    r"(?:domestic\s+|international\s+)?travel",
    re.I,
)
_TRAVEL_FREQUENCY = re.compile(
    r"\btravel\w*\b[^.;]{0,60}?\b(?:(?P<f>once|twice|(?:\d|one|two|three|four) times) "
    r"(?:a|per|each|every) (?P<p>week|month|quarter|year)|(?P<adv>weekly|monthly|quarterly|"
    r"annually|yearly))\b|\b(?P<adv2>weekly|monthly|quarterly|annual|yearly) (?:[\w-]+ )?travel\b",
    re.I,
)
_TRAVEL_AMOUNT = re.compile(
    r"\b(?P<a>little (?:to|or) no|no|occasional|some|minimal|limited|light|frequent|regular|"
    r"extensive|significant|periodic|infrequent|rare)\b(?: [\w-]+)?? travel\b|"
    r"\btravel\w* (?:is )?(?P<b>occasional(?:ly)?|frequent(?:ly)?|regular(?:ly)?|rare(?:ly)?)\b|"
    r"\btravel (?:is )?(?P<none>not required)\b",
    re.I,
)
_PER_ADVERB = {
    "weekly": "once a week", "monthly": "once a month", "quarterly": "once a quarter",
    "annually": "once a year", "annual": "once a year", "yearly": "once a year",
}  # fmt: skip
_LIMIT_WORDS = {
    "approximately": "about", "approx.": "about", "approx": "about", "around": "about",
    "roughly": "about", "under": "less than", "no more than": "up to", "max": "up to",
    "maximum": "up to", "max of": "up to", "maximum of": "up to",
}  # fmt: skip


def _travel(sentence: str) -> str:
    """'travel up to 25%', 'travel once a quarter', 'occasional travel', 'no travel'."""
    if "travel" not in sentence.lower():
        return ""
    text = _TRAVEL_NOT.sub(" ", sentence)
    if match := _TRAVEL_PERCENT.search(text):
        limit = collapse(match["q"] or match["q2"] or "").lower()
        limit = _LIMIT_WORDS.get(limit, limit)
        share = re.sub(r"\s*[-–]\s*", "-", match["n"] or match["n2"])
        return f"travel {limit} {share}%".replace("  ", " ")
    if match := _TRAVEL_FREQUENCY.search(text):
        often = _PER_ADVERB.get((match["adv"] or match["adv2"] or "").lower())
        return f"travel {often or (match['f'].lower() + ' a ' + match['p'].lower())}"
    if match := _TRAVEL_AMOUNT.search(text):
        if match["none"]:
            return "no travel"
        amount = (match["a"] or match["b"]).lower().removesuffix("ly")
        return f"{amount} travel"
    return ""


def _days_at_home(text: str, match: re.Match[str]) -> bool:
    """Whether the home or the office word nearest before the number (or right after
    "a week") is what the days are about."""
    after = text[match.end() : match.end() + 20]
    if re.match(r"\s*(?:from home|remote(?:ly)?|at home|wfh)\b", after, re.I):
        return True
    before = text[: match.start()]
    home = [m.start() for m in _HOME_WORD_RE.finditer(before)]
    office = [m.start() for m in _OFFICE_WORD_RE.finditer(before)]
    return bool(home) and (not office or home[-1] > office[-1])


def regions_of(details: Iterable[str]) -> tuple[str, ...]:
    """ISO 3166 codes (or region names) of every 'remote within' rule among ``details``."""
    codes: list[str] = []
    for detail in details:
        if detail.startswith("remote within "):
            codes.extend(regions_in(detail.removeprefix("remote within ")))
    return tuple(dict.fromkeys(codes))


def _add(found: list[str], detail: str) -> None:
    if detail and detail not in found:
        found.append(detail)


def names(codes: Iterable[str]) -> str:
    return ", ".join(region_name(c) for c in codes)
