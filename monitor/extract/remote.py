"""Remote policy (onsite / hybrid / remote) and the rules a person would quote.

Each sentence that talks about where the work happens is read on its own, by
families of phrasing in the order a careful reader weighs them:

1. a sentence that lists every mode ("work onsite, hybrid or fully virtually,
   depending on the role") is company boilerplate and says nothing;
2. a negated remote ("not eligible for remote work", "Remote: No", "kein
   Homeoffice") is on-site, unless the same sentence offers hybrid;
3. hybrid in the workplace sense ("hybrid schedule", "Hybrid - London",
   "3 days a week in the office", "occasional home working", "télétravail
   partiel"), never "hybrid cloud" or "a hybrid role for someone who ...";
4. remote with an office the person *may* use is remote;
5. a choice of office or remote ("in an office or as a remote position") is hybrid;
6. remote; 7. on-site ("in-person", "office-based", "based in our X office").

Words about other things are set aside first: the on-site interview, on-site
perks (gym, charging), remote sensing or remote customers.

Across sentences: any hybrid sentence makes the posting hybrid; remote and
on-site sentences both present make it hybrid only when they are equally
weighty, else the side said in a "Location:"-style line, then the majority.

A structured value (ATS workplace field, JSON-LD ``jobLocationType``, a
location named "Remote - US") is ``hint``. The documented rule: the hint
stands, except that text saying hybrid refines an on-site or unknown hint
(ATS dropdowns default to on-site and schema.org has no hybrid); the text alone
decides when there is no hint. ``read_remote`` keeps what each side said, so
a disagreement can be shown.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from monitor.extract.places import region_name, regions_in
from monitor.extract.text import bullet_text, collapse, sentences
from monitor.model import RemoteKind, RemotePolicy

_R, _H, _O = RemoteKind.REMOTE, RemoteKind.HYBRID, RemoteKind.ONSITE


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts), re.I)


_PERKS = (
    r"(?:perks?|benefits?|lunch\w*|snacks?|meals?|equipment|stipends?|allowances?|budgets?|"
    r"set-?ups?|furniture|gym|fitness|wellness|caf[eé]s?|cafeteria|dining|parking|child ?care|"
    r"daycare|clinic|health\w*|amenit\w*|electric|ev\b|charging|laundry|massage|restaurants?|"
    r"kitchens?|barista|events?|meetings?|conferences?|gatherings?|offsites?|interviews?|visits? to)"
)
# Things that share words with workplace phrasing but say nothing about it.
_NOT_WORKPLACE = _rx(
    rf"\b(?:on[- ]?site|in[- ]office|in[- ]person|home[- ]office|remote[- ]work(?:ing)?|wfh|"
    rf"office) {_PERKS}[\w ]*",
    r"\b(?:an|the|final|virtual) on[- ]?site\b(?! (?:role|position|work|job))[^.;]*",
    r"\binterview\w*[^.;]{0,60}\bon[- ]?site\b[^.;]*|\bon[- ]?site\b[^.;]{0,40}\binterview\w*",
    r"\bremote (?:sensing|control\w*|monitoring|access|desktop|diagnostics?|patients?|areas?|"
    r"locations|communities|sites?|servers?|devices?|management|troubleshooting|learning|"
    r"customers?|clients?|hiring|onboarding|"
    r"collaboration tools?|first responders|operations? center|instruction)\b",
    r"\b(?:support|manage|lead|with|across|for|of) (?:a |our )?(?:distributed|remote|hybrid) "
    r"(?:teams?|workforce|employees|staff)\b",
    r"\bhybrid (?:cloud|multi[- ]cloud|infrastructure|vehicles?|cars?|engines?|electric|"
    r"powertrains?|app\w*|mobile|models? of care|approach\w*|architecture|systems?|solutions?|"
    r"environments? \(|networks?|IT|data|deployments?|storage|events?|meetings?|learning|"
    r"classes|instruction)\b",
    r"\bhybrid[/-]multi[- ]cloud\b",
    r"\bhybrid (?:role|position|job)s? (?:for|that|which|combining|blending|spanning|bridging|"
    r"between|where|covering|of|mixing|with (?:a|both))\b",
    r"\bhybrid (?:of|between)\b",
    # Occasional office visits do not make a remote role on-site.
    r"\b(?:occasional(?:ly)?|periodic(?:ally)?|sometimes|from time to time|quarterly|annual(?:ly)?|"
    r"as needed)\b[^.;]{0,30}\b(?:office|on[- ]?site|in[- ]person)\b[^.;]*",
    r"\b(?:is|are|be) (?:a )?hybrid (?:of|between)\b",
)
# Office, remote and hybrid words this module reads; a sentence without one is skipped.
_PLACE_WORDS = (
    "hybrid", "hybride", "híbrid", "hibrid", "hybryd", "remote", "remot", "work from", "working from",
    "site", "office", "person", "vor ort", "homeoffice", "home office", "home-office", "mobil",
    "télétravail", "teletravail", "télé-travail", "presencial", "teletrabajo", "thuiswerk",
    "kantoor", "op locatie", "zdaln", "headquarter", " hq", "day", "week", "telecommut",
    "telework", "virtual", "anywhere", "distance", "présentiel", "presentiel", "locaux", "bureau",
    "büro", "standort", "oficina", "from home", "wfh", "in-house", "distributed", "commut",
    "telearbeit",
)  # fmt: skip

_ALL_MODES = _rx(
    r"\b(?:on[- ]?site|in[- ]office|in[- ]person)\b[^.;]{0,80}\bhybrid\b[^.;]{0,80}"
    r"\b(?:remote(?:ly)?|virtual(?:ly)?|from home)\b",
    r"\bremote\b[^.;]{0,80}\bhybrid\b[^.;]{0,80}\b(?:on[- ]?site|in[- ]office|in[- ]person)\b",
    r"\b(?:vary|varies|depend(?:s|ing)?)\b[^.;]{0,60}\b(?:role|team|position)\b[^.;]{0,80}"
    r"\b(?:on[- ]?site|hybrid|remote)\b[^.;]{0,60}\b(?:on[- ]?site|hybrid|remote)\b",
)
_NEGATED_REMOTE = _rx(
    r"\bnot (?:a |an |be |been |)(?:fully |100% )?remote\b",
    r"\b(?:not|n[’']t|never) (?:offer|allow|permit|support|provide|accept|consider|hire)\w* "
    r"(?:\w+ ){0,2}(?:remote|telecommut\w*|telework\w*|work(?:ing)? from home|wfh)\b",
    r"\bremote (?:candidates|applicants|applications|work(?:ers)?)\b[^.;]{0,30}\b(?:not|n[’']t|never) "
    r"(?:be )?(?:considered|accepted|eligible|possible|available)\b",
    r"\bunable to (?:consider|accept|hire|offer|support) (?:\w+ ){0,2}remote\b",
    r"\bnot (?:\w+ ){0,3}(?:eligible|available|open|suitable|possible|offered|an option|considered)"
    r" (?:\w+ ){0,2}(?:for |to )?(?:remote|telecommut\w*|telework\w*|work(?:ing)? from home)\b",
    r"\b(?:remote|telecommut\w*|telework\w*|work(?:ing)? from home)(?: work(?:ing)?)?(?: \w+){0,3} "
    r"(?:is|are) not (?:\w+ ){0,2}(?:possible|available|an option|offered|permitted|allowed|"
    r"eligible|supported)\b",
    r"\bno (?:option (?:for|of) |possibility (?:for|of) )?(?:remote|telecommut\w*|telework\w*|"
    r"work(?:ing)? from home)\b",
    r"\b(?:cannot|can ?not|can't|will not|won't|unable to) be (?:\w+ ){0,2}(?:performed|done|"
    r"worked|completed|carried out) (?:\w+ ){0,2}remotely\b",
    r"\bremote(?: work| working| option| eligible| eligibility)?\s*[:?]\s*(?:no|none|not (?:available|"
    r"possible|eligible)|n/a)\b",
    r"\b(?:telecommuting|telework(?:ing)?)(?: options?)?\s*[:?]\s*(?:no|none|onsite|on-site)\b",
    r"\bkein(?:e|en)? (?:home[- ]?office|remote|mobiles arbeiten)\b|\bnicht (?:remote|im homeoffice)\b",
    r"\bpas (?:de |en )?t[ée]l[ée]travail\b|\bt[ée]l[ée]travail\s*:\s*non\b",
    r"\bno (?:es )?remoto\b|\bsin (?:teletrabajo|remoto)\b",
    r"\bgeen (?:thuiswerk\w*|remote)\b",
    r"\bpraca zdalna\s*:\s*(?:brak|nie)\b",
    r"\bnot (?:a )?(?:work from home|wfh) (?:role|position|job)\b",
)
_HOME_WORDS = r"\b(?:remote(?:ly)?|home|wfh|telework\w*|mobil\w*|telearbeit|t[ée]l[ée]travail|teletrabajo|thuis\w*)\b"
_NOT_FULLY_REMOTE = _rx(r"\bnot (?:a )?(?:fully|100%|entirely|completely) remote\b")
# Hybrid in the workplace sense, in three families so that each runs only where it can match.
_HYBRID_WORD = _rx(
    r"\bhybrid(?:e|o|a|ní)?\b(?=[^.;]{0,40}\b(?:work\w*|schedule|model|policy|arrangement|set-?up|"
    r"environment|office|remote|on[- ]?site|in[- ]person|days?|week|home|location|position|role|job|"
    r"opportunity|basis|mode|structure|format|flexib\w*|travail|trabajo|arbeit\w*|modell?)\b)",
    r"\b(?:work\w*|schedule|model|policy|arrangement|location|position|role|job|basis|mode|type|"
    r"environment|setup|travail|trabajo|modalidad|arbeits\w*|werkplek)\b[^.;]{0,25}\bhybrid\w*",
    r"\bhybrid(?:e|o|a)?\s*$",
    r"^\s*hybrid(?:e|o|a)?\b",
    r"\(\s*hybrid(?:e|o|a)?\s*\)|\bhybrid(?:e|o|a)?\s*[-–—:|/,]|[-–—:|/,]\s*hybrid(?:e|o|a)?\b",
    r"\bhybrydow\w*\b|\bhíbrid[oa]\b|\bhybride\b",
)
_HYBRID_TIME = _rx(
    rf"{_HOME_WORDS}[^.;]{{0,40}}\b(?:up to |max(?:imum)? )?(?:[1-4]|one|two|three|four)\s+"
    r"(?:[\w-]+\s+){0,2}(?:days?|tage?n?|jours?|d[ií]as|dagen?)\b[^.;]{0,12}"
    r"\b(?:week|woche|semaine|semana)\b",
    r"\b(?:[1-4]|one|two|three|four)\s+(?:home[- ]?office|remote|wfh|work[- ]from[- ]home|mobile)\s+"
    r"days?\b",
    r"\b(?:[1-4]|one|two|three|four)(?:\s*(?:-|to|or)\s*[1-4])? days? (?:a|per|each|every) week\b[^.;]{0,40}\b(?:office|on[- ]?site|in[- ]person|hq|headquarters|studio|hub)\b",
    r"\b(?:office|on[- ]?site|in[- ]person|hq|headquarters)\b[^.;]{0,40}\b(?:[1-4]|one|two|three|four)(?:\s*(?:-|to|or)\s*[1-4])? days? (?:a|per|each|every) (?:week|month)\b",
    r"\b(?:[1-4]|one|two|three|four) days? (?:a|per|each) week (?:from home|remote(?:ly)?|at home|wfh)\b",
    r"\b(?:at least |minimum (?:of )?)?\d{1,2}\s*% of (?:their|your|the|our) (?:\w+ )?time\b[^.;]{0,40}\b(?:office|on[- ]?site|in[- ]person)\b",
    r"\b(?:office|on[- ]?site|in[- ]person)[^.;]{0,40}\b(?:at least |minimum (?:of )?)\d{1,2}\s*% of\b",
)
_HYBRID_HOME = _rx(
    r"\b(?:occasional|some|partial|part-time|flexible|optional)\s+(?:home[- ]?working|home office|"
    r"remote work\w*|work(?:ing)? from home|telework\w*|wfh)\b",
    r"\bflexibility to work (?:from home|remotely)\b",
    r"\bwork(?:ing)? from home (?:up to |for )?(?:[1-4]|one|two|three|four|a few|some) days?\b",
    r"\b(?:office|on[- ]?site) (?:with|plus|and) (?:some|occasional|partial) (?:telework|remote|home)\w*",
    r"\bsplit (?:your |their )?time between\b[^.;]{0,40}\b(?:home|office|remote)\b",
    r"\bhome[- ]?office\s*[:(]?\s*(?:bis zu|up to|max(?:imal)?\.?)\s*\d",
    r"\bbis zu \d+ tage?n? (?:pro|die|in der) woche\b[^.;]{0,40}\b(?:mobil\w*|home[- ]?office|remote)\b",
    r"\b(?:mobiles arbeiten|homeoffice|home-office)\b[^.;]{0,40}\b(?:tage?n?|anteilig|teilweise|möglich)\b",
    r"\bmöglichkeit (?:zum|zu) (?:mobilen arbeiten|homeoffice|home[- ]office)\b",
    r"\bt[ée]l[ée]travail (?:partiel|possible|\d+ ?j|jusqu'?à|flexible|occasionnel|hybride)\b|"
    r"\b\d+ jours? (?:de )?t[ée]l[ée]travail\b",
    r"\bteletrabajo (?:parcial|\d+ d[ií]as)\b|\bmodalidad mixta\b|\b\d+ d[ií]as (?:de )?teletrabajo\b",
    r"\b(?:deels|gedeeltelijk) thuis\w*\b|\b\d+ dagen? (?:per week )?(?:thuis|op kantoor)\b|"
    r"\bthuiswerk\w*[^.;]{0,20}\b\d+ dag(?:en)?\b",
    r"\bremote[- ]first\b[^.;]{0,40}\b(?:office|on[- ]?site)\b[^.;]{0,30}\b(?:minimum|at least|once|twice|required|expected)\b",
)
_OPTIONAL_OFFICE = _rx(
    r"\b(?:optional|if you (?:wish|like|prefer|want)|should you (?:wish|prefer)|are welcome to|"
    r"may (?:also )?(?:use|choose|work from|come)|access to (?:an? |our )?(?:office|hub|co-?working)|"
    r"co-?working (?:stipend|space|allowance)|available (?:to you )?if)\b",
)
_CHOICE = _rx(
    r"\b(?:in (?:an?|our|the) office|office location|on[- ]?site)\b[^.;]{0,20}\bor (?:as )?(?:an? )?"
    r"(?:fully )?remote(?:ly)?\b",
    r"\bremote(?:ly)?\b[^.;]{0,10}\bor (?:in[- ]office|on[- ]?site|in (?:an?|our|the) office)\b",
)
_REMOTE = _rx(
    r"\b(?:fully|full|100\s?%|completely|entirely|full[- ]time|permanently|totally) remote(?:ly)?\b",
    r"\b(?:done|performed|worked|work|working|based|live|hire|hiring) (?:\w+ )?from anywhere\b|"
    r"\bfrom anywhere (?:in|within|across|on)\b|\bvollständig remote\b|\btelearbeit\b",
    r"\bremote[- ]?(?:first|friendly|ok|okay|eligible|based|only|possible|allowed|position|role|job|"
    r"opportunity|work\w*|employee|contract|option|\(|-)",
    r"^\s*remote\b|\bremote\s*$|\(\s*remote[^)]*\)|\bremote\s*[-–—:|/,]|[-–—:|/,(]\s*remote\b",
    r"\b(?:is|are|be|as a|this) remote\b|\bwork(?:ing)? remotely\b|\bremote(?:ly)? (?:within|in|across|from|anywhere)\b",
    r"\bwork (?:from|at) home\b|\bwork from anywhere\b|\bwfh\b|\btelecommut\w+\b|\btelework\w*\b|"
    r"\bdistributed (?:company|team|workforce)\b|\ball[- ]remote\b|\bvirtual (?:role|position|job)\b",
    r"\bhome[- ]?based\b|\bopen to remote\b|"
    r"\bremote (?:candidates|applicants|fellows|employees|workers|hires) (?:in|from|based|located)\b",
    r"\bremote (?:m[öo]glich|mogelijk|possible)\b|\b100\s?% (?:homeoffice|t[ée]l[ée]travail|remote|"
    r"remoto|teletrabajo)\b|\bt[ée]l[ée]travail (?:complet|total|à 100)\b|\bfull t[ée]l[ée]travail\b",
    r"\b(?:trabajo )?remoto\b|\bteletrabajo\b|\bvolledig (?:remote|thuis\w*)\b|\bthuiswerk\w*\b",
    r"\bpraca zdalna\s*:\s*(?:w całości|tak|pełna)\b|\bw pełni zdaln\w*\b",
    r"\b(?:homeoffice|home office|home-office|mobiles arbeiten)\b",
    r"\bt[ée]l[ée]travail\b",
)
_ONSITE = _rx(
    r"\bon[- ]?site\b|\bonsite\b|\bin[- ]office\b|\bin[- ]person\b|\bin the office\b",
    r"\b(?:commut\w*|commuting distance)\b[^.;]{0,40}\b(?:office|site|campus|facility|plant|"
    r"hq|headquarters|studio|lab)\b",
    r"\boffice[- ]based\b|\b(?:headquarters|hq)[- ]based\b|\bbased (?:at|in|out of) (?:our|the) "
    r"(?:[\w.,' -]{0,40} )?(?:office|offices|headquarters|hq|campus|facility|plant|site|studio|lab)\b",
    r"\b(?:from|at|in) (?:an?|the|our) (?:[\w.,' -]{0,30} )?(?:office|headquarters|hq)(?: location)?\b",
    r"\b(?:five|5) days (?:a|per) week\b[^.;]{0,30}\b(?:office|on[- ]?site|in[- ]person)\b|"
    r"\b(?:office|on[- ]?site|in[- ]person)\b[^.;]{0,30}\b(?:five|5) days (?:a|per) week\b",
    r"\b(?:must|required to|expected to|need to|able to) (?:\w+ ){0,2}(?:work|report|commute|be present) "
    r"(?:\w+ ){0,3}(?:on[- ]?site|in[- ]person|in (?:the|our) office|at (?:the|our) (?:office|facility|site))\b",
    r"\bvor ort\b|\bpräsenz\w*\b|\bim büro\b|\bsur site\b|\bsur place\b|\ben présentiel\b|"
    r"\bpr[ée]sentiel\b|\bpresencial\b|\ben la oficina\b|\bop kantoor\b|\bop locatie\b|"
    r"\bstacjonarn\w*\b",
    r"\bwork location\s*:\s*in person\b|\battendance (?:is )?required\b",
)
_LOCATION_LINE = re.compile(
    r"^\s*(?:location|locations|work location|workplace|workplace type|location type|work model|"
    r"work arrangement|remote(?: status| work)?|telecommuting(?: options?)?|type of environment|"
    r"lieu|localisation|standort|arbeitsort|ubicación|locatie|modalidad|praca zdalna|"
    r"customer location|your location)\s*[:\-–]",
    re.I,
)
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
_HOME_WORD_RE = re.compile(_HOME_WORDS, re.I)
_OFFICE_WORD_RE = re.compile(
    r"\b(?:office|on[- ]?site|in[- ]person|hq|headquarters|studio|hub|büro|bureau|oficina|kantoor)\b",
    re.I,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteReading:
    """The policy chosen, with what the structured value and the text each said."""

    policy: RemotePolicy
    hint: RemoteKind
    text: RemoteKind

    def disagreements(self, field: str) -> tuple[str, ...]:
        """What to show when the structured ``field`` and the text said different kinds;
        nothing when they agree or one is silent."""
        unknown = RemoteKind.UNKNOWN
        if unknown in (self.hint, self.text) or self.hint is self.text:
            return ()
        return (
            f"remote policy: the {field} says {self.hint.value}, text says {self.text.value}; "
            f"chose {self.policy.kind.value}",
        )


@dataclass(frozen=True, slots=True)
class _Said:
    kind: RemoteKind
    labelled: bool
    """Said in a "Location: …"-style line, a title or a location name: it outweighs prose."""


def remote_policy(
    lines: Iterable[str],
    *,
    hint: RemoteKind = RemoteKind.UNKNOWN,
    labelled: Iterable[str] = (),
) -> RemotePolicy:
    """Read the remote policy from a posting's lines, refining a structured hint."""
    return read_remote(lines, hint=hint, labelled=labelled).policy


def read_remote(
    lines: Iterable[str],
    *,
    hint: RemoteKind = RemoteKind.UNKNOWN,
    labelled: Iterable[str] = (),
) -> RemoteReading:
    """The remote policy of a posting's lines, with what hint and text each said.

    ``labelled`` are short texts that name the workplace outright, such as
    location names ("Hybrid - London") and the title ("Engineer (Remote)").
    """
    relevant = [
        s
        for line in _join_labels(lines)
        if _mentions_place(line)
        for s in sentences(bullet_text(line))
        if _mentions_place(s)
    ]
    said = [_Said(k, bool(_LOCATION_LINE.match(s))) for s in relevant if (k := kind_of(s))]
    said += [_Said(k, True) for text in labelled if (k := kind_of_label(text))]
    text_kind = _combine(said)
    kind = _decide(hint, text_kind)
    policy = RemotePolicy(kind=kind, details=_details(relevant, kind))
    return RemoteReading(policy=policy, hint=hint, text=text_kind)


def kind_of(sentence: str) -> RemoteKind | None:
    """What one sentence says of the workplace, or None if nothing.

    After "but" or "however" the sentence says what holds for this role: "We're
    remote-friendly, but this role requires being on-site" is on-site.
    """
    text = collapse(sentence)
    parts = _CONTRAST.split(text, maxsplit=1)
    if len(parts) == 2 and (last := _kind_of_clause(parts[1])) is not None:
        return last
    return _kind_of_clause(text)


_CONTRAST = re.compile(r"[,;]?\s+(?:but|however|although|though|except that)\b[,]?\s+", re.I)


def _kind_of_clause(text: str) -> RemoteKind | None:
    lowered = text.lower()
    if _may(_NOT_WORKPLACE, text, lowered):
        text = _NOT_WORKPLACE.sub(" ", text)
        lowered = text.lower()
    if _may(_ALL_MODES, text, lowered):
        return None
    if _may(_NEGATED_REMOTE, text, lowered):
        rest = _NEGATED_REMOTE.sub(" ", text)
        hybrid = _hybrid(rest, rest.lower()) or _NOT_FULLY_REMOTE.search(text) is not None
        return _H if hybrid else _O
    if _hybrid(text, lowered):
        return _H
    remote = _may(_REMOTE, text, lowered)
    if remote and _OPTIONAL_OFFICE.search(text):
        return _R
    if _may(_CHOICE, text, lowered):
        return _H
    if remote:
        return _R
    return _O if _may(_ONSITE, text, lowered) else None


# The regexes above are slow to run on every sentence; each can only match a sentence
# holding one of these words, so a substring test skips most sentences first.
_NEEDS: dict[re.Pattern[str], tuple[str, ...]] = {
    _NOT_WORKPLACE: ("site", "office", "person", "home", "remote", "wfh", "hybrid"),
    _ALL_MODES: ("hybrid", "vary", "varies", "depend"),
    _NEGATED_REMOTE: ("no", "n't", "n’t", "n/a", "unable", "kein", "nicht", "pas", "sin ",
                      "geen", "brak", "nie", "site", "never"),
    _HYBRID_WORD: ("hybr", "híbrid"),
    _HYBRID_TIME: ("day", "%", "tag", "jour", "día", "dia", "dag"),
    _HYBRID_HOME: ("home", "remote", "telework", "wfh", "flexib", "split", "bis zu", "mobil",
                   "travail", "teletrabajo", "mixta", "thuis", "kantoor"),
    _REMOTE: ("remot", "home", "anywhere", "wfh", "telecommut", "telework", "distributed",
              "virtual", "travail", "teletrabajo", "thuis", "zdaln", "mobiles", "telearbeit"),
    _CHOICE: ("remot",),
    _ONSITE: ("site", "office", "person", "based", "headquarters", "hq", "facility", "vor ort",
              "commut",
              "präsenz", "büro", "place", "sentiel", "presencial", "oficina", "kantoor",
              "locatie", "stacjonarn", "attendance"),
}  # fmt: skip


def _hybrid(text: str, lowered: str) -> bool:
    return any(_may(p, text, lowered) for p in (_HYBRID_WORD, _HYBRID_TIME, _HYBRID_HOME))


def _may(pattern: re.Pattern[str], text: str, lowered: str) -> bool:
    """``pattern`` matches ``text``; ``lowered`` is ``text.lower()``, made once per clause."""
    return any(word in lowered for word in _NEEDS[pattern]) and pattern.search(text) is not None


def kind_of_label(text: str) -> RemoteKind | None:
    """A structured workplace value or a location name: 'Hybrid', 'On-Site', 'Flex',
    'Remote - US', 'London (Hybrid)', 'Remote Eligible'; None for plain places."""
    value = collapse(text).lower().strip(" .")
    if value in _WORDS:
        return _WORDS[value]
    return kind_of(text) if _mentions_place(text) else None


_WORDS = {
    "remote": _R, "fully remote": _R, "remote eligible": _R, "remote ok": _R, "anywhere": _R,
    "telecommute": _R, "virtual": _R, "work from home": _R, "wfh": _R, "remote only": _R,
    "hybrid": _H, "flex": _H, "flexible": _H, "hybrid remote": _H, "partially remote": _H,
    "on-site": _O, "onsite": _O, "on site": _O, "on_site": _O, "in-office": _O, "in office": _O,
    "office": _O, "in person": _O, "in-person": _O, "office-based": _O, "on-premise": _O,
    "no remote": _O, "not remote": _O,
}  # fmt: skip


def _join_labels(lines: Iterable[str]) -> Iterator[str]:
    """'Telecommuting Options:' on one line and 'Onsite' on the next are one statement."""
    pending = ""
    for line in lines:
        if pending:
            line = f"{pending} {bullet_text(line)}"
            pending = ""
        if line.endswith(":") and len(line) <= _MAX_LABEL_CHARS:
            pending = line
            continue
        yield line
    if pending:
        yield pending


_MAX_LABEL_CHARS = 40


_PLACE_WORD_RE = re.compile("|".join(map(re.escape, _PLACE_WORDS)))


def _mentions_place(sentence: str) -> bool:
    return _PLACE_WORD_RE.search(sentence.lower()) is not None


def _combine(said: list[_Said]) -> RemoteKind:
    kinds = {s.kind for s in said}
    if not kinds:
        return RemoteKind.UNKNOWN
    if _H in kinds:
        return _H
    if len(kinds) == 1:
        return next(iter(kinds))
    labelled = {s.kind for s in said if s.labelled}
    if len(labelled) == 1:
        return next(iter(labelled))
    counts = Counter(s.kind for s in said)
    if counts[_R] == counts[_O]:
        return _H
    return _R if counts[_R] > counts[_O] else _O


def _decide(hint: RemoteKind, text: RemoteKind) -> RemoteKind:
    if hint is RemoteKind.UNKNOWN:
        return text
    if text is _H and hint is _O:
        return _H
    return hint


def _details(relevant: list[str], kind: RemoteKind) -> tuple[str, ...]:
    found: list[str] = []
    for sentence in relevant:
        text = _NOT_WORKPLACE.sub(" ", sentence)
        for pattern, template in _DETAIL_PATTERNS:
            match = pattern.search(text)
            if match is None or (template.startswith("in office") and kind is _R):
                continue
            if template.startswith("in office") and _days_at_home(text, match):
                continue  # "work from home two days a week" counts days away from the office
            n = _NUMBER_WORDS.get(match["n"].lower(), collapse(match["n"]))
            _add(found, template.format(n=n))
        if kind in (_R, _H):
            region = _region_detail(text)
            if region:
                _add(found, region)
    return tuple(found)


def _region_detail(sentence: str) -> str:
    for match in _REGION_LIST.finditer(sentence):
        raw = next(g for g in match.groups() if g)
        codes = regions_in(_REGION_TAIL.sub("", raw))
        if codes:
            return "remote within " + ", ".join(region_name(c) for c in codes)
    old = _REMOTE_WITHIN_A_NAME.search(sentence)
    return f"remote within {collapse(old['n'])}" if old else ""


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
    if detail not in found:
        found.append(detail)
