"""Countries and regions named in remote-work rules, as ISO 3166 codes.

"United States", "USA", "U.S." and "US" are one region; so are "UK", "United
Kingdom" and "Great Britain". Regions that are not countries (EU, EMEA,
Americas, time zones) keep a canonical name. People see names; codes are for
comparing.
"""

from __future__ import annotations

import re

# ISO 3166-1 alpha-2 -> the name shown to people, then other ways postings write it.
_COUNTRIES: dict[str, tuple[str, ...]] = {
    "US": ("United States", "USA", "U.S.A.", "U.S.", "US", "United States of America", "America"),
    "CA": ("Canada", "CAN"),
    "MX": ("Mexico", "México"),
    "BR": ("Brazil", "Brasil"),
    "AR": ("Argentina",),
    "CL": ("Chile",),
    "CO": ("Colombia",),
    "PE": ("Peru", "Perú"),
    "GB": (
        "United Kingdom",
        "UK",
        "U.K.",
        "Great Britain",
        "Britain",
        "England",
        "Scotland",
        "Wales",
    ),
    "IE": ("Ireland",),
    "DE": ("Germany", "Deutschland", "DEU"),
    "AT": ("Austria", "Österreich"),
    "CH": ("Switzerland", "Schweiz", "Suisse"),
    "FR": ("France",),
    "BE": ("Belgium", "Belgique", "België"),
    "NL": ("Netherlands", "the Netherlands", "Nederland", "Holland"),
    "LU": ("Luxembourg",),
    "ES": ("Spain", "España"),
    "PT": ("Portugal",),
    "IT": ("Italy", "Italia"),
    "DK": ("Denmark", "Danmark"),
    "SE": ("Sweden", "Sverige"),
    "NO": ("Norway", "Norge"),
    "FI": ("Finland", "Suomi"),
    "IS": ("Iceland",),
    "PL": ("Poland", "Polska"),
    "CZ": ("Czech Republic", "Czechia"),
    "SK": ("Slovakia",),
    "HU": ("Hungary",),
    "RO": ("Romania",),
    "BG": ("Bulgaria",),
    "GR": ("Greece",),
    "HR": ("Croatia",),
    "SI": ("Slovenia",),
    "RS": ("Serbia",),
    "UA": ("Ukraine",),
    "EE": ("Estonia",),
    "LV": ("Latvia",),
    "LT": ("Lithuania",),
    "TR": ("Turkey", "Türkiye"),
    "IL": ("Israel",),
    "AE": ("United Arab Emirates", "UAE"),
    "SA": ("Saudi Arabia",),
    "EG": ("Egypt",),
    "ZA": ("South Africa",),
    "NG": ("Nigeria",),
    "KE": ("Kenya",),
    "IN": ("India",),
    "PK": ("Pakistan",),
    "SG": ("Singapore",),
    "MY": ("Malaysia",),
    "ID": ("Indonesia",),
    "PH": ("Philippines",),
    "TH": ("Thailand",),
    "VN": ("Vietnam", "Viet Nam"),
    "JP": ("Japan",),
    "KR": ("South Korea", "Korea"),
    "CN": ("China",),
    "HK": ("Hong Kong",),
    "TW": ("Taiwan",),
    "AU": ("Australia", "AUS"),
    "NZ": ("New Zealand",),
}
_REGIONS: dict[str, tuple[str, ...]] = {
    "EU": ("EU", "European Union"),
    "Europe": ("Europe", "European"),
    "EMEA": ("EMEA",),
    "APAC": ("APAC", "Asia Pacific", "Asia-Pacific"),
    "LATAM": ("LATAM", "Latin America"),
    "North America": ("North America",),
    "Americas": ("Americas", "the Americas"),
    "EEA": ("EEA",),
}

_LOOKUP: dict[str, str] = {}
for _code, _names in _COUNTRIES.items():
    for _name in _names:
        _LOOKUP[_name.lower()] = _code
for _key, _names in _REGIONS.items():
    for _name in _names:
        _LOOKUP[_name.lower()] = _key
# Adjectives name the same places in rules such as "US or Canadian time zones".
_DEMONYMS = {
    "American": "US", "Canadian": "CA", "Mexican": "MX", "Brazilian": "BR", "British": "GB",
    "Irish": "IE", "German": "DE", "French": "FR", "Spanish": "ES", "Portuguese": "PT",
    "Dutch": "NL", "Polish": "PL", "Australian": "AU", "Indian": "IN",
    "North American": "North America", "Latin American": "LATAM",
}  # fmt: skip
for _name, _key in _DEMONYMS.items():
    _LOOKUP.setdefault(_name.lower(), _key)

_TIME_ZONE = re.compile(
    r"^(?:UTC|GMT|CET|CEST|EET|EEST|WET|BST|IST|JST|AEST|AET|[PMCE][SD]?T)"
    r"(?:\s?[+±-]\s?\d{1,2}(?::\d{2})?)?(?: time zones?| hours)?$|"
    r"^(?:US|European|Eastern|Central|Pacific|Mountain) time zones?$",
)


def region_code(name: str) -> str | None:
    """'USA' -> 'US', 'the Netherlands' -> 'NL', 'EU' -> 'EU'; None if not a place we know."""
    cleaned = name.strip().strip(".,;:()").strip()
    cleaned = re.sub(r"^(?:the|la|le|los|die)\s+", "", cleaned, flags=re.I) or cleaned
    code = _LOOKUP.get(cleaned.lower()) or _LOOKUP.get(name.strip().lower())
    if code is not None:
        return code
    return cleaned if _TIME_ZONE.match(cleaned) else None


def region_name(code: str) -> str:
    """The name people read for a code from ``region_code``."""
    names = _COUNTRIES.get(code)
    return names[0] if names else code


def regions_in(text: str) -> tuple[str, ...]:
    """Every country or region a list such as "the UK, US, or Canada" names, in order.

    None unless every item of the list is a place: "the US and a laptop" is not a region list.
    """
    items = [i for i in re.split(r"\s*(?:,|/|;|\bor\b|\band\b|&)\s*", text.strip()) if i.strip()]
    codes = [region_code(re.sub(r"\s+only$", "", item, flags=re.I)) for item in items]
    if not codes or any(c is None for c in codes):
        return ()
    return tuple(dict.fromkeys(c for c in codes if c))
