"""Query parameters of `/api/`, sanitised the way randomuser 1.4 does it (bad values fall back, never error)."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from randomuser_api.draw import HEX_SEED, LOWER, UPPER
from randomuser_api.js import js_number, js_parse_hex
from randomuser_api.nationalities import NATIONALITIES

MAX_RESULTS = 5000
MAX_PAGE = 10000
VERSION = "1.4"
LEGO = "LEGO"
_OLD_NATS = tuple(n for n in NATIONALITIES if n not in ("IN", "MX", "RS", "UA"))
# The nationalities each version's generator has (its data folders, LEGO apart): /api/1.0 .. /api/1.3 are
# served by the 1.4 generator (the nearest version our data allows) over these lists.
VERSION_NATS: dict[str, tuple[str, ...]] = {
    "1.0": tuple(n for n in _OLD_NATS if n != "NO"),
    "1.1": tuple(n for n in _OLD_NATS if n != "NO"),
    "1.2": _OLD_NATS,
    "1.3": _OLD_NATS,
    VERSION: NATIONALITIES,
}
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
    info_seed: str = ""  # `info.seed`: the seed, plus randomuser's nationality suffix where it adds one
    version: str = VERSION
    callback: str | None = None  # JSONP: `callback(body);` for json and pretty
    download: bool = False  # `dl` / `download`: answer as a file download
    valid_ids: bool = False  # our switch: well-formed FI/DE/DK/FR ids instead of randomuser's quirks


def _last(value: str | Sequence[str] | None) -> str | None:
    """randomuser keeps the last value of a repeated parameter (express parses it as an array)."""
    if value is None or isinstance(value, str):
        return value
    return value[-1] if value else None


def parse_results(value: str | Sequence[str] | None) -> int:
    """randomuser's route check, before its generator: missing, not an integer, < 1 or > 5000 -> 1.

    A repeated `results` reaches that check as an array (express' query parser); JavaScript's
    `isNaN(["2", "3"])` is true, so `results=2&results=3` gives 1 user. One value in brackets
    (`results[]=3`) is a one-element array, which JavaScript reads as its element.
    """
    if value is None:
        return 1
    if not isinstance(value, str):
        if len(value) != 1:
            return 1
        value = value[0]
    if value == "":
        return 1
    n = js_number(value)
    if math.isnan(n) or n < 1 or n > MAX_RESULTS or not n.is_integer():
        return 1
    return int(n)


def parse_page(text: str | None) -> int:
    """`Number(page) || 1`, then outside 0..10000 -> 1. Non-integer pages (`2.5`) fall back to 1 here."""
    n = js_number(text) if text is not None else math.nan
    if math.isnan(n) or n == 0 or n < 0 or n > MAX_PAGE or not n.is_integer():
        return 1
    return int(n)


def _split(text: str) -> list[str]:
    return [w.strip().lower() for w in text.split(",") if w.strip()]


def parse_password(text: str) -> PasswordSpec | None:
    """`special,upper,lower,number` in any subset, then an optional `N` or `MIN-MAX`, read as randomuser
    does (JavaScript numbers; `MIN-MAX-...` takes the smallest and largest): a minimum outside 1..64 -> 8,
    a maximum outside 1..64 or below the minimum -> 64."""
    parts = text.split(",")
    sets = [p for p in dict.fromkeys(parts) if p in PASSWORD_CHARSETS]
    if not sets:
        return None
    charset = "".join(PASSWORD_CHARSETS[s] for s in sets)
    length = parts[-1]
    numbers = [js_number(x) for x in length.split("-")] if "-" in length else [js_number(length)]
    if any(math.isnan(n) for n in numbers):
        low = high = math.nan
    else:
        low, high = min(numbers), max(numbers)
    low = 8 if math.isnan(low) or not 1 <= low <= 64 else low
    high = 64 if math.isnan(high) or not 1 <= high <= 64 or high < low else high
    # randomuser's loop runs while i < length: a fractional length counts as the next whole number
    return PasswordSpec(charset, math.ceil(low), math.ceil(low + math.floor(high - low)))


def random_seed() -> str:
    """16 characters of randomuser's seed alphabet, for requests without a seed."""
    return "".join(random.SystemRandom().choice(HEX_SEED) for _ in range(16))


def _fold_brackets(query: Query) -> dict[str, str | Sequence[str]]:
    """express' query parser (qs) reads `name[]=v` as values of `name`: fold them into `name`'s list."""
    if not any(k.endswith("[]") for k in query):
        return dict(query)
    out: dict[str, list[str]] = {}
    for key, value in query.items():
        values = [value] if isinstance(value, str) else list(value)
        out.setdefault(key[:-2] if key.endswith("[]") else key, []).extend(values)
    return dict(out)


def _flag(value: str | None, off: str = "false") -> bool:
    """randomuser's `typeof x !== 'undefined' && x !== 'false'`."""
    return value is not None and value != off


def parse_query(query: Query, version: str = VERSION) -> ApiRequest:
    """Sanitise a query the way randomuser 1.4 does: out-of-range or unparsable values fall back.

    Parameter names are case-sensitive (`Results=5` is ignored), values are not trimmed, and a repeated
    parameter keeps its last value, except `results` (see `parse_results`).
    - `results` not an integer in 1..5000 (JavaScript's `Number` rules) -> 1.
    - `page` not in 1..10000 -> 1.
    - `nat` / `nationality`: comma list, any case; one unknown code -> the whole list is ignored.
    - `gender`: exactly `male` / `female` (case-sensitive), ignored when a seed is given.
    - `inc`/`exc`: comma lists of field names; `exc` wins.
    - `format`/`fmt`: json (default), pretty/prettyjson, csv, yaml, xml (any case); anything else -> json.
    - `noinfo`: present -> no `info` block (unless `lego=false`, randomuser's typo).
    - `lego`: present and not `false` -> LEGO users; `info.seed` then ends with `-1`.
    - an 18-character seed: its last two characters, read as hex, pick the nationality; `info.seed` is the
      seed plus that nationality's 2-digit hex index (20 characters).
    - no `seed` -> a fresh random 16-character seed, echoed in `info.seed`.
    - `callback` -> JSONP for json; `dl` / `download` -> a file download; `valid_ids` -> well-formed ids.
    """
    query = _fold_brackets(query)
    get = {k: _last(v) for k, v in query.items()}
    nat_list = VERSION_NATS.get(version, NATIONALITIES)
    seed = get.get("seed") or ""
    lego = _flag(get.get("lego"))
    nats: tuple[str, ...] = nat_list
    one_nat: str | None = None  # randomuser's `this.nat` when it is one code, not a list
    nat_text = get.get("nat") or get.get("nationality")
    if nat_text:
        asked = tuple(n.upper() for n in nat_text.split(",") if n)
        if asked and all(n in nat_list for n in asked):
            nats = asked
    if lego:
        nats, one_nat = (LEGO,), LEGO
    if len(seed) == 18:
        index = js_parse_hex(seed[-2:])
        if index is not None and 0 <= index < len(nat_list):
            one_nat = nat_list[index]
            nats = (one_nat,)
    gender = get.get("gender")
    if gender not in ("male", "female") or seed:
        gender = None
    inc_text = get.get("inc")
    fields = set(_split(inc_text)) & set(FIELDS) if inc_text else set(FIELDS)
    fields -= set(_split(get.get("exc") or ""))
    fmt = (get.get("format") or get.get("fmt") or "json").lower()
    fmt = "pretty" if fmt == "prettyjson" else fmt
    if fmt not in FORMATS:
        fmt = "json"
    password_text = get.get("password")
    seed = seed or random_seed()
    suffix = ""
    if one_nat is not None:
        index = nat_list.index(one_nat) if one_nat in nat_list else -1
        suffix = f"{index:x}".zfill(2) if index >= 0 else "-1"
    return ApiRequest(
        results=parse_results(query.get("results")),
        seed=seed,
        page=parse_page(get.get("page")),
        nats=nats,
        gender=gender,
        fields=frozenset(fields),
        format=fmt,
        noinfo="noinfo" in get and get.get("lego") != "false",
        password=parse_password(password_text) if password_text else None,
        info_seed=seed + suffix,
        version=version,
        callback=get.get("callback"),
        download="dl" in get or "download" in get,
        valid_ids=_flag(get.get("valid_ids")),
    )
