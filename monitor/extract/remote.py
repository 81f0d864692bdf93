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
from dataclasses import dataclass, replace

from monitor.extract.places import region_code, region_name, regions_in
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
_HOME_WORD_RE = re.compile(_HOME_WORDS, re.I)
_OFFICE_WORD_RE = re.compile(
    r"\b(?:office|on[- ]?site|in[- ]person|hq|headquarters|studio|hub|büro|bureau|oficina|kantoor)\b",
    re.I,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteReading:
    """The policy chosen, with what the structured value and the text each said.

    The kind comes from the structured value (``hint``) as the module's rule says;
    the details are the text's (``text_details``) beside any a structured value states
    itself (``stated_details``, from ``stated_by``, such as JSON-LD
    applicantLocationRequirements): both are kept in the policy.
    """

    policy: RemotePolicy
    hint: RemoteKind
    text: RemoteKind
    text_details: tuple[str, ...] = ()
    stated_details: tuple[str, ...] = ()
    stated_by: str = ""

    def with_stated_regions(self, details: Iterable[str], by: str) -> RemoteReading:
        """The reading with the "remote within <region>" details a structured value
        states (``by``) added beside the text's, where the text says the same once;
        nothing is dropped. Only for remote work: elsewhere they say nothing about where
        the work is."""
        stated = tuple(dict.fromkeys(details))
        if not stated or self.policy.kind is not RemoteKind.REMOTE:
            return self
        extra = tuple(d for d in stated if d not in self.policy.details)
        policy = replace(self.policy, details=self.policy.details + extra)
        return replace(self, policy=policy, stated_details=stated, stated_by=by)

    def details_source(self, text: str = "description text") -> str:
        """Where the policy's details were read: the text, the structured value, or both."""
        sources = [text] if self.text_details else []
        if self.stated_details:
            sources.append(self.stated_by)
        return " and ".join(sources)

    def disagreements(self, field: str) -> tuple[str, ...]:
        """What to show when the structured ``field`` and the text said different kinds,
        or the structured value and the text allow different regions; nothing when they
        agree or one is silent."""
        notes: list[str] = []
        unknown = RemoteKind.UNKNOWN
        if unknown not in (self.hint, self.text) and self.hint is not self.text:
            notes.append(
                f"remote policy: the {field} says {self.hint.value}, text says "
                f"{self.text.value}; chose {self.policy.kind.value}"
            )
        stated, said = regions_of(self.stated_details), regions_of(self.text_details)
        if stated and said and set(stated) != set(said):
            notes.append(
                f"remote regions: the {self.stated_by} says {_names(stated)}, text says "
                f"{_names(said)}; kept both"
            )
        return tuple(notes)


def _names(codes: Iterable[str]) -> str:
    return ", ".join(region_name(c) for c in codes)


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
    joined = list(_join_labels(lines))
    relevant = [
        s
        for line in joined
        if _mentions_place(line)
        for s in sentences(bullet_text(line))
        if _mentions_place(s)
    ]
    said = [_Said(k, bool(_LOCATION_LINE.match(s))) for s in relevant if (k := kind_of(s))]
    said += [_Said(k, True) for text in labelled if (k := kind_of_label(text))]
    text_kind = _combine(said)
    kind = _decide(hint, text_kind)
    details = _details(relevant, _paragraphs(joined), kind=kind, text=text_kind)
    policy = RemotePolicy(kind=kind, details=details)
    return RemoteReading(policy=policy, hint=hint, text=text_kind, text_details=details)


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


def _details(
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
        clean = _NOT_WORKPLACE.sub(" ", sentence)
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


def _paragraphs(lines: list[str]) -> list[str]:
    """Every sentence of the lines that talk about the workplace or time zones."""
    return [
        s
        for line in lines
        if _mentions_place(line) or "zone" in line.lower()
        for s in sentences(bullet_text(line))
    ]


def _region_detail(sentence: str) -> str:
    for match in _REGION_LIST.finditer(sentence):
        raw = next(g for g in match.groups() if g)
        if _TIME_ZONE_WORDS.search(raw):
            return ""  # "remote within US or Canadian time zones" is a time-zone rule
        codes = regions_in(_REGION_TAIL.sub("", raw))
        if codes:
            return "remote within " + _names(codes)
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
_OFFICE_OPTIONAL = _rx(
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
