"""Query parameters of `/api/`, sanitised the way randomuser 1.4 does it (bad values fall back, never error)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from randomuser_api.draw import HEX_SEED, LOWER, UPPER
from randomuser_api.nationalities import NATIONALITIES

MAX_RESULTS = 5000
MAX_PAGE = 10000
VERSION = "1.4"
FIELDS: tuple[str, ...] = (
    "gender", "name", "location", "email", "login", "registered", "dob", "phone", "cell", "id", "picture", "nat",
)
FORMATS = ("json", "pretty", "csv", "yaml", "xml")
PASSWORD_CHARSETS: dict[str, str] = {
    "special": " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "upper": UPPER,
    "lower": LOWER,
    "number": "0123456789",
}

Query = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class PasswordSpec:
    """`password=CHARSETS,LENGTH`: the characters to draw from and the length range (inclusive)."""

    charset: str
    min_length: int
    max_length: int


@dataclass(frozen=True)
class ApiRequest:
    """One sanitised `/api/` request."""

    results: int = 1
    seed: str = ""
    page: int = 1
    nats: tuple[str, ...] = NATIONALITIES
    gender: str | None = None
    fields: frozenset[str] = field(default_factory=lambda: frozenset(FIELDS))
    format: str = "json"
    noinfo: bool = False
    password: PasswordSpec | None = None


def _last(value: str | Sequence[str] | None) -> str | None:
    """randomuser keeps the last value of a repeated parameter."""
    if value is None or isinstance(value, str):
        return value
    return value[-1] if value else None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _split(text: str) -> list[str]:
    return [w.strip().lower() for w in text.split(",") if w.strip()]


def parse_password(text: str) -> PasswordSpec | None:
    """`special,upper,lower,number` in any subset, then an optional `N` or `MIN-MAX` (1..64, default 8-64)."""
    parts = text.split(",")
    sets = [p for p in dict.fromkeys(parts) if p in PASSWORD_CHARSETS]
    if not sets:
        return None
    charset = "".join(PASSWORD_CHARSETS[s] for s in sets)
    length = parts[-1]
    bounds = [_int(x) for x in length.split("-")] if "-" in length else [_int(length)] * 2
    values = [b for b in bounds if b is not None]
    low, high = (min(values), max(values)) if len(values) == 2 else (None, None)
    low = 8 if low is None or not 1 <= low <= 64 else low
    high = 64 if high is None or not 1 <= high <= 64 or high < low else high
    return PasswordSpec(charset, low, high)


def random_seed() -> str:
    """16 characters of randomuser's seed alphabet, for requests without a seed."""
    return "".join(random.SystemRandom().choice(HEX_SEED) for _ in range(16))


def parse_query(query: Query) -> ApiRequest:
    """Sanitise a query the way randomuser 1.4 does: out-of-range or unparsable values fall back.

    - `results` not an integer in 1..5000 -> 1 (randomuser: 0 gives an empty list; we give 1).
    - `page` not an integer in 1..10000 -> 1.
    - `nat`: comma list, any case; one unknown code -> the whole list is ignored (all nationalities).
    - `gender`: `male`/`female`, ignored when a seed is given (as randomuser does).
    - `inc`/`exc`: comma lists of field names; `exc` wins.
    - `format`/`fmt`: json (default), pretty/prettyjson, csv, yaml, xml; anything else -> json.
    - `noinfo`: present with any value -> no `info` block.
    - no `seed` -> a fresh random 16-character seed, echoed in `info.seed`.
    """
    get = {k.lower(): _last(v) for k, v in query.items()}
    results = _int(get.get("results"))
    if results is None or not 1 <= results <= MAX_RESULTS:
        results = 1
    page = _int(get.get("page"))
    if page is None or not 1 <= page <= MAX_PAGE:
        page = 1
    seed = (get.get("seed") or "").strip()
    nats: tuple[str, ...] = NATIONALITIES
    nat_text = get.get("nat") or get.get("nationality")
    if nat_text:
        asked = tuple(dict.fromkeys(n.upper() for n in _split(nat_text)))
        if asked and all(n in NATIONALITIES for n in asked):
            nats = asked
    if len(seed) == 18:  # randomuser: the last two hex digits of an 18-character seed pick the nationality
        suffix = seed[-2:]
        index = int(suffix, 16) if all(c in "0123456789abcdefABCDEF" for c in suffix) else len(NATIONALITIES)
        if index < len(NATIONALITIES):
            nats = (NATIONALITIES[index],)
    gender_text = (get.get("gender") or "").strip().lower()
    gender = gender_text if gender_text in ("male", "female") and not seed else None
    inc_text = get.get("inc")
    fields = set(_split(inc_text)) & set(FIELDS) if inc_text else set(FIELDS)
    fields -= set(_split(get.get("exc") or ""))
    fmt = (get.get("format") or get.get("fmt") or "json").strip().lower()
    fmt = "pretty" if fmt == "prettyjson" else fmt
    if fmt not in FORMATS:
        fmt = "json"
    password_text = get.get("password")
    return ApiRequest(
        results=results,
        seed=seed or random_seed(),
        page=page,
        nats=nats,
        gender=gender,
        fields=frozenset(fields),
        format=fmt,
        noinfo="noinfo" in get,
        password=parse_password(password_text) if password_text else None,
    )
