"""What one sentence says of the workplace: onsite, hybrid, remote or nothing.

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
"""

from __future__ import annotations

import re

from monitor.extract.text import collapse
from monitor.model import RemoteKind

_R, _H, _O = RemoteKind.REMOTE, RemoteKind.HYBRID, RemoteKind.ONSITE


def rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts), re.I)


_PERKS = (
    r"(?:perks?|benefits?|lunch\w*|snacks?|meals?|equipment|stipends?|allowances?|budgets?|"
    r"set-?ups?|furniture|gym|fitness|wellness|caf[eé]s?|cafeteria|dining|parking|child ?care|"
    r"daycare|clinic|health\w*|amenit\w*|electric|ev\b|charging|laundry|massage|restaurants?|"
    r"kitchens?|barista|events?|meetings?|conferences?|gatherings?|offsites?|interviews?|visits? to)"
)
# Things that share words with workplace phrasing but say nothing about it.
NOT_WORKPLACE = rx(
    rf"\b(?:on[- ]?site|in[- ]office|in[- ]person|home[- ]office|remote[- ]work(?:ing)?|wfh|"
    rf"office) {_PERKS}[\w ]*",
    r"\b(?:an|the|final|virtual) on[- ]?site\b(?! (?:role|position|work|job))[^.;]*",
    r"\binterview\w*[^.;]{0,60}\bon[- ]?site\b[^.;]*|\bon[- ]?site\b[^.;]{0,40}\binterview\w*",
    r"\bin[- ]person (?:culture|connections?|moments)\b",
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

_ALL_MODES = rx(
    r"\b(?:on[- ]?site|in[- ]office|in[- ]person)\b[^.;]{0,80}\bhybrid\b[^.;]{0,80}"
    r"\b(?:remote(?:ly)?|virtual(?:ly)?|from home)\b",
    r"\bremote\b[^.;]{0,80}\bhybrid\b[^.;]{0,80}\b(?:on[- ]?site|in[- ]office|in[- ]person)\b",
    r"\b(?:vary|varies|depend(?:s|ing)?)\b[^.;]{0,60}\b(?:role|team|position)\b[^.;]{0,80}"
    r"\b(?:on[- ]?site|hybrid|remote)\b[^.;]{0,60}\b(?:on[- ]?site|hybrid|remote)\b",
    # A company's policy for most of its people, not this role's ("For the majority of
    # employees, our hybrid model offers 3 days in the office").
    r"\b(?:for|of) (?:the )?(?:majority|most) of (?:our |its )?(?:employees|colleagues|staff|"
    r"roles|team members|people|workforce)\b",
)
_NEGATED_REMOTE = rx(
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
HOME_WORDS = r"\b(?:remote(?:ly)?|home|wfh|telework\w*|mobil\w*|telearbeit|t[ée]l[ée]travail|teletrabajo|thuis\w*)\b"
_NOT_FULLY_REMOTE = rx(r"\bnot (?:a )?(?:fully|100%|entirely|completely) remote\b")
# Hybrid in the workplace sense, in three families so that each runs only where it can match.
_HYBRID_WORD = rx(
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
_HYBRID_TIME = rx(
    rf"{HOME_WORDS}[^.;]{{0,40}}\b(?:up to |max(?:imum)? )?(?:[1-4]|one|two|three|four)\s+"
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
_HYBRID_HOME = rx(
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
_OPTIONAL_OFFICE = rx(
    r"\b(?:optional|if you (?:wish|like|prefer|want)|should you (?:wish|prefer)|are welcome to|"
    r"may (?:also )?(?:use|choose|work from|come)|access to (?:an? |our )?(?:office|hub|co-?working)|"
    r"co-?working (?:stipend|space|allowance)|available (?:to you )?if)\b",
)
_CHOICE = rx(
    r"\b(?:in (?:an?|our|the) office|office location|on[- ]?site)\b[^.;]{0,20}\bor (?:as )?(?:an? )?"
    r"(?:fully )?remote(?:ly)?\b",
    r"\bremote(?:ly)?\b[^.;]{0,10}\bor (?:in[- ]office|on[- ]?site|in (?:an?|our|the) office)\b",
)
_REMOTE = rx(
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
_ONSITE = rx(
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
    if _may(NOT_WORKPLACE, text, lowered):
        text = NOT_WORKPLACE.sub(" ", text)
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
    NOT_WORKPLACE: ("site", "office", "person", "home", "remote", "wfh", "hybrid"),
    _ALL_MODES: ("hybrid", "vary", "varies", "depend", "majority", "most of"),
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
    return kind_of(text) if mentions_place(text) else None


_WORDS = {
    "remote": _R, "fully remote": _R, "remote eligible": _R, "remote ok": _R, "anywhere": _R,
    "telecommute": _R, "virtual": _R, "work from home": _R, "wfh": _R, "remote only": _R,
    "hybrid": _H, "flex": _H, "flexible": _H, "hybrid remote": _H, "partially remote": _H,
    "on-site": _O, "onsite": _O, "on site": _O, "on_site": _O, "in-office": _O, "in office": _O,
    "office": _O, "in person": _O, "in-person": _O, "office-based": _O, "on-premise": _O,
    "no remote": _O, "not remote": _O,
}  # fmt: skip


_PLACE_WORD_RE = re.compile("|".join(map(re.escape, _PLACE_WORDS)))


def mentions_place(sentence: str) -> bool:
    return _PLACE_WORD_RE.search(sentence.lower()) is not None
