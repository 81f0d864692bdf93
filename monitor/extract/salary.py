"""Pay ranges from the way people write them.

``parse_salaries`` reads one line of text; ``salaries_from_lines`` reads a
posting. A number becomes pay only when a currency marks it, so "401(k)",
"50% of their time", "35+ miles" and "2-12+ years" are never salaries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from monitor.extract.text import bullet_text, sentences
from monitor.model import PayPeriod, Salary

_SYMBOLS: dict[str, str] = {
    "US$": "USD",
    "CA$": "CAD",
    "C$": "CAD",
    "AU$": "AUD",
    "A$": "AUD",
    "NZ$": "NZD",
    "S$": "SGD",
    "HK$": "HKD",
    "R$": "BRL",
    "$": "USD",
    "£": "GBP",
    "€": "EUR",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "zł": "PLN",
    "₪": "ILS",
    "Fr.": "CHF",
}
_ISO_CODES = (
    "USD EUR GBP CAD AUD NZD CHF SEK NOK DKK PLN CZK HUF INR JPY SGD HKD BRL MXN ZAR ILS KRW "
    "CNY RON BGN"
).split()
_SYMBOL_RE = "|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True))
_ISO_RE = "|".join(_ISO_CODES)
_CUR = rf"(?:{_SYMBOL_RE}|\b(?:{_ISO_RE})\b)"
_NUM = (
    r"\d{1,2}(?:,\d{2})+,\d{3}|\d{1,3}(?:[,.\u202f\u00a0' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d+)?"
)
_MULT = r"(?:[kK]\b|[mM]\b|[bB]\b|\s?(?:thousand|million|billion)\b)"
_DASH = r"(?:-|–|—|‒|―|to|through|bis|à|a|and|tot|hasta|y)"

# Symbols written after the number ("85.000 €", the usual German, French and Spanish form).
_AFTER_SYMBOLS = {"€": "EUR", "£": "GBP", "zł": "PLN", "kr": "SEK", "Fr.": "CHF", "¥": "JPY",
                  "₹": "INR", "$": "USD"}  # fmt: skip
_AFTER_RE = "|".join(re.escape(s) for s in sorted(_AFTER_SYMBOLS, key=len, reverse=True))
_AMOUNT = (
    rf"(?:(?P<pre{{N}}>\b(?:{_ISO_RE})\b)\s?(?=[$€£¥]))?(?P<cur{{N}}>{_CUR})?\s?(?P<num{{N}}>{_NUM})"
    rf"\s?(?P<mult{{N}}>{_MULT})?(?:\s?(?P<sym{{N}}>{_AFTER_RE})(?!\w))?\s?(?P<iso{{N}}>\b(?:{_ISO_RE})\b)?"
)
# "$285,108/year to $309,000/year", "85.000 € brutto bis 95.000 €", "$110,000, – $150,000":
# a unit, a gross/net word or a stray comma may follow the first amount of a range too.
_UNIT = (
    r"(?:\s?(?:/\s?|per\s|a\s)?(?:yr|year|hr|hour|annum|month|mo|week|wk|day)\b)?"
    r"(?:\s?(?:brutto|bruts?|gross|netto|nets?)\b)?,?"
)
_RANGE_RE = re.compile(
    _AMOUNT.replace("{N}", "1") + _UNIT + rf"\s*{_DASH}\s*" + _AMOUNT.replace("{N}", "2"),
    re.IGNORECASE,
)
_SINGLE_RE = re.compile(_AMOUNT.replace("{N}", "1"), re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_ANY_CURRENCY = re.compile(rf"{_CUR}|{_AFTER_RE}", re.IGNORECASE)

_PERIOD_PATTERNS: tuple[tuple[PayPeriod, re.Pattern[str]], ...] = (
    (
        PayPeriod.HOUR,
        re.compile(
            r"/\s?h(?:ou)?r\b|per hour|an hour|hourly|/\s?h\b|stundenlohn|pro stunde|per uur|"
            r"por hora|de l'heure|par heure|/\s?godz",
            re.I,
        ),
    ),
    (PayPeriod.DAY, re.compile(r"/\s?day\b|per day|a day\b|daily rate|day rate|pro tag", re.I)),
    (PayPeriod.WEEK, re.compile(r"/\s?w(?:ee)?k\b|per week|a week\b|weekly", re.I)),
    (
        PayPeriod.MONTH,
        re.compile(
            r"/\s?mo(?:nth)?\b|per month|a month\b|monthly|pro monat|/monat|mensuel|par mois|"
            r"per maand|por mes|al mes|mensual|im monat|monatlich|brutto/m\b|netto/m\b|/\s?m\b|miesięcznie|/mies",
            re.I,
        ),
    ),
    (
        PayPeriod.YEAR,
        re.compile(
            r"/\s?y(?:ea)?r\b|per year|a year\b|annual|annually|yearly|per annum|p\.\s?a\.|/jahr|pro jahr|jährlich|brutto/jahr|"
            r"par an\b|annuels?|im jahr|per jaar|jaarsalaris|al año|por año|anual(?:es)?|rocznie|\bsalary\b",
            re.I,
        ),
    ),
)
_PAY_CONTEXT = re.compile(
    r"salary|salaries|pay\b|pay range|compensation|base|wage|rate|\bote\b|earn|gehalt|"
    r"vergütung|brutto|salaire|salario|salaris|lohn|sueldo|wynagrodzenie|rémunération|"
    r"remuneración|per (?:hour|year|month|annum)|/\s?(?:hr|hour|yr|year)|hourly|annual",
    re.I,
)
_NOT_PAY_CONTEXT = re.compile(
    r"raised|funding|valuation|revenue|series [a-e]\b|customers|\barr\b|market cap|assets|"
    # Benefits quoted in money are not the job's pay.
    r"(?:fitness|wellness|learning|education\w*|home[- ]office|remote[- ]work|internet|phone|"
    r"commuter|transit|meal|lunch|gym|equipment|wfh|co-?working|travel|book|conference|"
    r"development|health|child ?care|monthly|annual|yearly|one-time)\s+stipend|"
    r"stipend (?:for|towards?|to cover)(?! (?:this|the) (?:role|position))|allowance|reimburse|\bhra\b|\bfsa\b|\bhsa\b|budget|"
    r"fertility|wellness|relocation|"
    r"referral|tuition|per diem|401\(?k",
    re.I,
)
# Above this an amount is a company figure ($200B of spend), not anyone's pay.
_MAX_PAY = Decimal(10_000_000)
_LABEL_RE = re.compile(r"(?:^|[;•|]\s*)(?P<label>[A-Z][\w .,/()&'-]{1,40}?)\s*:\s*$")


def positive_decimal(value: Any, *, normalized: bool) -> Decimal | None:
    """A number (or numeric string) above zero, else None: 0 means "not given" in pay data.

    ``normalized``: without trailing zeros (``Decimal.normalize``: "85000.00" -> 8.5E+4), as
    the ATS sources store pay; JSON-LD's amounts are kept as written.
    """
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        return None
    if not (number.is_finite() and number > 0):
        return None
    return number.normalize() if normalized else number


def parse_salaries(
    line: str, *, is_pay: bool = False, in_pay_section: bool = False
) -> list[Salary]:
    """Every pay range or value written in one line of text.

    ``is_pay`` says the text is known to be pay (a structured salary field), so a
    lone amount such as "$100,000" counts without words like "salary" around it;
    ``in_pay_section`` says the line stands under a pay heading, which lets lone
    amounts count but still sets benefits and company figures aside.
    """
    found: list[Salary] = []
    for sentence in sentences(bullet_text(line)):
        found.extend(_parse_sentence(sentence, is_pay=is_pay, in_pay_section=in_pay_section))
    return found


def salaries_from_lines(lines: Iterable[str]) -> tuple[Salary, ...]:
    """Pay written anywhere in a posting, without duplicates, in reading order.

    Lines under a pay heading ("Compensation", "Salary", "Vergütung") are pay
    context, so "Up to £90,000" there counts as it would after "Salary:".
    """
    seen: dict[tuple[object, ...], Salary] = {}
    under_pay_heading = False
    for line in lines:
        if _is_heading(line):
            under_pay_heading = bool(_PAY_HEADING.search(line))
        for salary in parse_salaries(line, in_pay_section=under_pay_heading):
            key = (salary.min, salary.max, salary.currency, salary.period, salary.label)
            seen.setdefault(key, salary)
    return tuple(seen.values())


_PAY_HEADING = re.compile(
    r"\b(?:compensation|salary|salaries|pay|wages?|remuneration|gehalt|vergütung|salaire|"
    r"rémunération|salario|retribución|sueldo|salaris|beloning|wynagrodzenie)\b",
    re.I,
)
# "Starting at $70,000", "up to £90,000": words that mark a lone amount as pay.
_LEAD_IN = re.compile(
    r"(?:starting (?:at|from)|starts? at|up to|from|ab|à partir de|jusqu'à|desde|hasta|vanaf|"
    r"tot|bis zu|(?:salary|pay|rate|wage)s? (?:of|is|at))\s*$",
    re.I,
)
_MAX_HEADING_CHARS = 60


def _is_heading(line: str) -> bool:
    return (
        not line.startswith("- ")
        and len(line) <= _MAX_HEADING_CHARS
        and (line.rstrip().endswith(":") or not re.search(r"\d", line))
    )


def _parse_sentence(sentence: str, *, is_pay: bool, in_pay_section: bool = False) -> list[Salary]:
    # Pay needs a number and a currency; most sentences have neither, and the range
    # regex is slow to fail on long ones.
    if not _DIGIT.search(sentence) or not _ANY_CURRENCY.search(sentence):
        return []
    if not is_pay and _NOT_PAY_CONTEXT.search(sentence):
        return []
    results: list[Salary] = []
    taken: list[tuple[int, int]] = []
    for match in _RANGE_RE.finditer(sentence):
        salary = _range_from_match(match, sentence)
        if salary is not None:
            results.append(salary)
            taken.append(match.span())
    context = is_pay or in_pay_section or bool(_PAY_CONTEXT.search(sentence))
    for match in _SINGLE_RE.finditer(sentence):
        if any(start <= match.start() < end for start, end in taken):
            continue
        if not (context or _LEAD_IN.search(sentence[: match.start()])):
            continue
        salary = _single_from_match(match, sentence)
        if salary is not None:
            results.append(salary)
    return results


def _range_from_match(match: re.Match[str], sentence: str) -> Salary | None:
    currency = _currency(match, 1, 2)
    if currency is None:
        return None
    low = _amount(match["num1"], match["mult1"] or match["mult2"])
    high = _amount(match["num2"], match["mult2"])
    if low is None or high is None or high <= 0:
        return None
    if match["mult2"] and not match["mult1"] and low < 1000 <= high:
        low = low * _multiplier(match["mult2"])
    low, high = min(low, high), max(low, high)
    # "$0 - 1" is a typo or a counter, not pay; nobody is paid nothing.
    if low <= 0 or high > _MAX_PAY:
        return None
    return Salary(
        min=low,
        max=high,
        currency=currency,
        period=_period(sentence, match.end(), high),
        label=_label(sentence[: match.start()]),
    )


def _single_from_match(match: re.Match[str], sentence: str) -> Salary | None:
    currency = _currency(match, 1)
    value = _amount(match["num1"], match["mult1"])
    if currency is None or value is None or not 0 < value <= _MAX_PAY:
        return None
    before = sentence[: match.start()].lower()
    upper_bound = re.search(r"(?:up to|to|max(?:imum)?|bis zu|jusqu'à)\s*$", before)
    lower_bound = re.search(
        r"(?:from|starting (?:at|from)|starts? at|starting (?:salary|pay|rate|wage)(?: of| is| at)?|"
        r"at least|min(?:imum)?|ab|à partir de|desde|vanaf)\s*$",
        before,
    )
    return Salary(
        min=None if upper_bound else value,
        max=value if upper_bound or not lower_bound else None,
        currency=currency,
        period=_period(sentence, match.end(), value),
        label=_label(before and sentence[: match.start()]),
    )


def _currency(match: re.Match[str], *ns: int) -> str | None:
    """An ISO code ("CAD $120,000", "$134,000 CAD") names the currency outright and wins
    over a bare "$"; then a symbol before or after the number."""
    for n in ns:
        code = match[f"pre{n}"] or match[f"iso{n}"]
        if code:
            return code.upper()
    for n in ns:
        marker = match[f"cur{n}"]
        if marker:
            return _SYMBOLS.get(marker) or _SYMBOLS.get(marker.upper()) or marker.upper()
        if match[f"sym{n}"]:
            return _AFTER_SYMBOLS.get(match[f"sym{n}"])
    return None


def _amount(number: str, mult: str | None) -> Decimal | None:
    digits = _normalize_number(number)
    try:
        value = Decimal(digits)
    except InvalidOperation:
        return None
    return value * _multiplier(mult) if mult else value


def _normalize_number(number: str) -> str:
    """'155,700' 155700, '55.000' 55000, '34.62' 34.62, '1.234,50' 1234.50."""
    cleaned = re.sub(r"[\u202f\u00a0' ]", "", number)
    groups = re.split(r"[.,]", cleaned)
    if len(groups) == 1:
        return cleaned
    *head, last = groups
    if len(last) == 3 and all(len(g) <= 3 for g in head):
        return "".join(groups)
    return "".join(head) + "." + last


def _multiplier(mult: str | None) -> Decimal:
    word = (mult or "").strip().lower()
    if word in ("k", "thousand"):
        return Decimal(1000)
    if word in ("m", "million"):
        return Decimal(1_000_000)
    if word in ("b", "billion"):
        return Decimal(1_000_000_000)
    return Decimal(1)


# "paid weekly", "payable monthly": how often pay arrives, not what the amount is per.
_PAY_FREQUENCY = re.compile(
    r"\b(?:paid|payable|pay(?:ments?)? (?:is |are )?(?:made|issued)|payroll(?: is)?|in \d+)\s+"
    r"(?:(?:bi|semi)-?)?(?:weekly|monthly|daily|hourly|every \w+|(?:monthly|weekly) (?:payments|instal\w*))",
    re.I,
)


def _period(sentence: str, end: int, amount: Decimal) -> PayPeriod | None:
    after = _PAY_FREQUENCY.sub(" ", sentence[end : end + 40])
    for text in (after, _PAY_FREQUENCY.sub(" ", sentence)):
        found = _earliest_period(text)
        if found is not None:
            return found
    return period_from_magnitude(amount)


def period_from_magnitude(amount: Decimal) -> PayPeriod | None:
    """The period of an amount nobody named one for: pay this large is yearly, this
    small hourly, anything between is left unknown."""
    if amount >= 10_000:
        return PayPeriod.YEAR
    if amount < 500:
        return PayPeriod.HOUR
    return None


def _earliest_period(text: str) -> PayPeriod | None:
    """The period named first: "9,000 per month, paid weekly" is monthly."""
    best: tuple[int, PayPeriod] | None = None
    for period, pattern in _PERIOD_PATTERNS:
        match = pattern.search(text)
        if match is not None and (best is None or match.start() < best[0]):
            best = (match.start(), period)
    return best[1] if best else None


def _label(before: str) -> str:
    match = _LABEL_RE.search(before.strip())
    if match is None or _PAY_CONTEXT.search(match["label"]):
        return ""
    return match["label"].strip()
