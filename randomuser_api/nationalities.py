"""Per-nationality fields, after randomuser 1.4's `data/<NAT>/inject.js`: phone, cell, id, postcode, titles.

Each function returns `(phone, cell, id, postcode)`; `postcode` is None to keep the common
5-digit integer. JSON types follow the real service: most postcodes are numbers, CA/GB/NO are strings;
AU/CH postcodes are 4-digit numbers; IR/NZ/TR/UA ids are `{"name": "", "value": null}`.
`EXTRAS` reproduces randomuser's id bugs (FI, DE, DK, FR); `VALID_EXTRAS` has well-formed ids instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from randomuser_api.draw import Draw

NATIONALITIES: tuple[str, ...] = (
    "AU", "BR", "CA", "CH", "DE", "DK", "ES", "FI", "FR", "GB", "IE",
    "IN", "IR", "MX", "NL", "NO", "NZ", "RS", "TR", "UA", "US",
)

COUNTRIES: dict[str, str] = {
    "AU": "Australia", "BR": "Brazil", "CA": "Canada", "CH": "Switzerland", "DE": "Germany",
    "DK": "Denmark", "ES": "Spain", "FI": "Finland", "FR": "France", "GB": "United Kingdom",
    "IE": "Ireland", "IN": "India", "IR": "Iran", "MX": "Mexico", "NL": "Netherlands", "NO": "Norway",
    "NZ": "New Zealand", "RS": "Serbia", "TR": "Turkey", "UA": "Ukraine", "US": "United States",
}

Extras = tuple[str, str, dict[str, Any], Any]
# (draw, gender, last name, dob (year, month, day)) -> extras
ExtrasFn = Callable[[Draw, str, str, tuple[int, int, int]], Extras]

NO_ID_NAME = ""
_EMPTY_ID: dict[str, Any] = {"name": NO_ID_NAME, "value": None}


def _dash3(d: Draw) -> str:
    """(ddd)-ddd-dddd: randomuser's generic phone format (CH, NL, NZ, TR)."""
    return f"({d.digits(3)})-{d.digits(3)}-{d.digits(4)}"


def au(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    phone = f"0{d.between(0, 9)}-{d.between(0, 9)}{d.digits(3)}-{d.digits(4)}"
    cell = f"04{d.digits(2)}-{d.digits(3)}-{d.digits(3)}"
    return phone, cell, {"name": "TFN", "value": d.digits(9)}, d.between(200, 9999)


def br(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    phone = f"({d.digits(2)}) {d.digits(4)}-{d.digits(4)}"
    cell = f"({d.digits(2)}) {d.digits(4)}-{d.digits(4)}"
    cpf = f"{d.digits(3)}.{d.digits(3)}.{d.digits(3)}-{d.digits(2)}"
    return phone, cell, {"name": "CPF", "value": cpf}, None


def _sin_ok(sin: str) -> bool:
    total = 0
    for i, ch in enumerate(sin):
        v = int(ch) * (2 if i % 2 else 1)
        total += v - 9 if v >= 10 else v
    return total % 10 == 0


def ca(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    # randomuser draws letters here (mode 4), hence phones like "K74 F28-9215".
    phone = f"{d.letter()}{d.digits(2)} {d.letter()}{d.digits(2)}-{d.digits(4)}"
    cell = f"{d.letter()}{d.digits(2)} {d.letter()}{d.digits(2)}-{d.digits(4)}"
    sin = d.digits(9)
    while not _sin_ok(sin):
        sin = d.digits(9)
    postcode = f"{d.letter()}{d.digits(1)}{d.letter()} {d.digits(1)}{d.letter()}{d.digits(1)}"
    return phone, cell, {"name": "SIN", "value": sin}, postcode


_CH_PREFIXES = ("075", "076", "077", "078", "079")


def _ch_phone(d: Draw) -> str:
    return f"{d.pick(_CH_PREFIXES)} {d.digits(3)} {d.digits(2)} {d.digits(2)}"


def ch(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    avs = f"756.{d.digits(4)}.{d.digits(4)}.{d.digits(2)}"
    return _ch_phone(d), _ch_phone(d), {"name": "AVS", "value": avs}, d.between(1000, 9999)


_DE_PENSION = tuple(f"{n:02d}" for n in (2, 3, 4, *range(8, 22), *range(23, 27), 28, 29, 38, 39, 40,
                                              *range(42, 83), 89))


def de(d: Draw, gender: str, last: str, dob: tuple[int, int, int], quirks: bool = False) -> Extras:
    y, m, day = dob
    year = y - 1900 if quirks else y % 100  # randomuser prints `Date.getYear()`: born in 2000 -> `100`
    phone = f"0{d.digits(3)}-{d.digits(7)}"
    cell = f"017{d.digits(1)}-{d.digits(7)}"
    serial = d.between(0, 49) if gender == "male" else d.between(50, 99)
    svnr = f"{d.pick(_DE_PENSION)} {day:02d}{m:02d}{year:02d} {last[:1]} {serial:02d}{d.between(0, 9)}"
    return phone, cell, {"name": "SVNR", "value": svnr}, None


def de_quirk(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    return de(d, gender, last, dob, quirks=True)


def dk(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    y, m, day = dob
    cpr = f"{day:02d}{m:02d}{y % 100:02d}-{d.digits(4)}"
    return d.digits(8), d.digits(8), {"name": "CPR", "value": cpr}, None


def dk_quirk(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    """randomuser's CPR year is `Date.getYear()`: `100` for 2000."""
    y, m, day = dob
    cpr = f"{day:02d}{m:02d}{y - 1900:02d}-{d.digits(4)}"
    return d.digits(8), d.digits(8), {"name": "CPR", "value": cpr}, None


def es(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    phone = f"9{d.digits(2)}-{d.digits(3)}-{d.digits(3)}"
    cell = f"6{d.digits(2)}-{d.digits(3)}-{d.digits(3)}"
    return phone, cell, {"name": "DNI", "value": f"{d.digits(8)}-{d.letter()}"}, None


_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def fi(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    y, m, day = dob
    phone = f"0{d.between(2, 9)}-{d.digits(3)}-{d.digits(3)}"
    cell = f"04{d.between(0, 9)}-{d.digits(3)}-{d.digits(2)}-{d.digits(2)}"
    zz = d.digits(2)
    individual = f"{zz}{d.pick('13579' if gender == 'male' else '02468')}"
    century = "-" if y < 2000 else "A"
    body = f"{day:02d}{m:02d}{y % 100:02d}"
    hetu = f"{body}{century}{individual}{_HETU_CHECK[int(body + individual) % 31]}"
    return phone, cell, {"name": "HETU", "value": hetu}, None


def fi_quirk(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    """randomuser builds the HETU from `new Date(dob)` of the dob *object*: an invalid date, so day, month
    and check character come out `NaN`, `NaN`, `undefined` and the year `N` (`"NaN".substr(2, 2)`)."""
    phone = f"0{d.between(2, 9)}-{d.digits(3)}-{d.digits(3)}"
    cell = f"04{d.between(0, 9)}-{d.digits(3)}-{d.digits(2)}-{d.digits(2)}"
    individual = f"{d.digits(2)}{d.pick('13579' if gender == 'male' else '02468')}"
    return phone, cell, {"name": "HETU", "value": f"NaNNA{individual}undefined"}, None


def fr(d: Draw, gender: str, last: str, dob: tuple[int, int, int], quirks: bool = False) -> Extras:
    y, m, _day = dob
    # randomuser: `Date.getYear()` (2000 -> 100) and `getMonth()` (January -> 00)
    year, month = (y - 1900, m - 1) if quirks else (y % 100, m)
    phone = f"0{d.between(1, 5)}-{d.digits(2)}-{d.digits(2)}-{d.digits(2)}-{d.digits(2)}"
    cell = f"06-{d.digits(2)}-{d.digits(2)}-{d.digits(2)}-{d.digits(2)}"
    head = f"{1 if gender == 'male' else 2}{year:02d}{month:02d}{d.digits(8)}"
    insee = f"{head} {97 - int(head) % 97:02d}"
    return phone, cell, {"name": "INSEE", "value": insee}, None


def fr_quirk(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    return fr(d, gender, last, dob, quirks=True)


_GB_CODE = "ABDEFGHJLNPQRSTUWXYZ"
_NINO_1 = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_2 = "ABCEGHJKLMNPRSTWXYZ"
# randomuser's 18 phone patterns, equally likely: (area, digits after it); None = the patterns with a
# drawn area code, handled below. 13 of 18 are a fixed 6-digit area code and 5 digits.
_GB_FIXED_AREAS = (("013873", 5), ("015242", 5), ("015394", 5), ("015395", 5), ("015396", 5), ("016973", 5),
                   ("016974", 5), ("016977", 4), ("016977", 5), ("017683", 5), ("017684", 5), ("017687", 5),
                   ("019467", 5))


def _gb_phone(d: Draw) -> str:
    kind = d.index(18)
    if kind == 0:
        return f"01{d.digits(3)} {d.digits(5)}"
    if kind == 1:
        return f"01{d.digits(3)} {d.digits(6)}"
    if kind == 2:
        return f"011{d.digits(1)}{d.digits(3)} {d.digits(3)} {d.digits(4)}"
    if kind == 3:
        return f"01{d.digits(1)}1 {d.digits(3)} {d.digits(4)}"
    if kind == 17:
        return f"02{d.digits(1)} {d.digits(4)} {d.digits(4)}"
    area, n = _GB_FIXED_AREAS[kind - 4]
    return f"{area} {d.digits(n)}"


def _gb_postcode(d: Draw) -> str:
    """randomuser's 6 outward shapes, equally likely: A9, AA9, A99, AA99, AA9A, A9A; then `9AA`."""
    kind = d.index(6)
    if kind == 0:
        outward = f"{d.letter()}{d.digits(1)}"
    elif kind == 1:
        outward = f"{d.letter()}{d.letter()}{d.digits(1)}"
    elif kind == 2:
        outward = f"{d.letter()}{d.digits(2)}"
    elif kind == 3:
        outward = f"{d.letter()}{d.letter()}{d.digits(2)}"
    elif kind == 4:
        outward = f"{d.letter()}{d.letter()}{d.digits(1)}{d.letter()}"
    else:
        outward = f"{d.letter()}{d.digits(1)}{d.letter()}"
    return f"{outward} {d.digits(1)}{d.pick(_GB_CODE)}{d.pick(_GB_CODE)}"


def gb(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    phone = _gb_phone(d)
    cell = f"07{d.digits(3)} {d.digits(6)}"
    postcode = _gb_postcode(d)
    nino = f"{d.pick(_NINO_1)}{d.pick(_NINO_2)} {d.digits(2)} {d.digits(2)} {d.digits(2)} {d.letter()}"
    return phone, cell, {"name": "NINO", "value": nino}, postcode


def ie(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    phone = f"0{d.between(1, 7)}1-{d.digits(3)}-{d.digits(4)}"
    cell = f"081-{d.digits(3)}-{d.digits(4)}"
    return phone, cell, {"name": "PPS", "value": f"{d.digits(7)}T"}, None


def in_(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    phone = d.pick("789") + d.digits(9)
    cell = d.pick("789") + d.digits(9)
    return phone, cell, {"name": "UIDAI", "value": d.digits(12)}, None


def ir(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    phone = f"0{d.digits(2)}-{d.digits(8)}"
    cell = f"09{d.digits(2)}-{d.digits(3)}-{d.digits(4)}"
    return phone, cell, dict(_EMPTY_ID), None


def mx(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    phone = f"(6{d.digits(2)}) {d.digits(3)} {d.digits(4)}"
    cell = f"(6{d.digits(2)}) {d.digits(3)} {d.digits(4)}"
    nss = f"{d.digits(2)} {d.digits(2)} {d.digits(2)} {d.digits(4)} {d.digits(1)}"
    return phone, cell, {"name": "NSS", "value": nss}, None


def nl(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    return _dash3(d), _dash3(d), {"name": "BSN", "value": d.digits(8)}, None


_NO_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_NO_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _no_check(weights: tuple[int, ...], digits: str) -> int:
    rest = sum(w * int(c) for w, c in zip(weights, digits, strict=False)) % 11
    return 0 if rest == 0 else 11 - rest


def _fodselsnummer(d: Draw, gender: str, dob: tuple[int, int, int]) -> str:
    y, m, day = dob
    birth = f"{day:02d}{m:02d}{y % 100:02d}"
    while True:
        no = 999 - d.between(0, 499) if y >= 2000 else 499 - d.between(0, 499)
        if (no % 2 == 1) != (gender == "male"):
            no = no - 1 if no > 0 else no + 1
        nine = f"{birth}{no:03d}"
        k1 = _no_check(_NO_K1, nine)
        k2 = _no_check(_NO_K2, f"{nine}{k1}")
        if k1 < 10 and k2 < 10:
            return f"{nine}{k1}{k2}"


def no(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    phone = d.pick("235678") + d.digits(7)
    cell = d.pick("49") + d.digits(7)
    return phone, cell, {"name": "FN", "value": _fodselsnummer(d, gender, dob)}, d.digits(4)


def nz(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    return _dash3(d), _dash3(d), dict(_EMPTY_ID), None


def rs(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    phone = f"0{d.pick('123')}{d.digits(1)}-{d.digits(4)}-{d.digits(3)}"
    cell = f"06{d.digits(1)}-{d.digits(4)}-{d.digits(3)}"
    return phone, cell, {"name": "SID", "value": d.digits(9)}, None


def tr(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    return _dash3(d), _dash3(d), dict(_EMPTY_ID), None


_UA_PROVIDERS = ("66", "67", "68", "96", "97", "98", "99")


def ua(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    # randomuser draws a letter first here too (mode 4): "(066) V12-3456".
    phone = f"(0{d.pick(_UA_PROVIDERS)}) {d.letter()}{d.digits(2)}-{d.digits(4)}"
    cell = f"(0{d.pick(_UA_PROVIDERS)}) {d.letter()}{d.digits(2)}-{d.digits(4)}"
    return phone, cell, dict(_EMPTY_ID), None


def _ssn_ok(area: str, group: str, serial: str) -> bool:
    return (area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"
            and f"{area}-{group}-{serial}" not in ("219-09-9999", "078-05-1120"))


def us(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    phone = f"({d.high_digit()}{d.digits(2)}) {d.high_digit()}{d.digits(2)}-{d.digits(4)}"
    cell = f"({d.high_digit()}{d.digits(2)}) {d.high_digit()}{d.digits(2)}-{d.digits(4)}"
    while True:
        area, group, serial = d.digits(3), d.digits(2), d.digits(4)
        if _ssn_ok(area, group, serial):
            break
    return phone, cell, {"name": "SSN", "value": f"{area}-{group}-{serial}"}, None


def lego(d: Draw, gender: str, last: str, dob: tuple[int, int, int]) -> Extras:
    return _dash3(d), _dash3(d), {"name": "SN", "value": d.digits(12)}, None


# randomuser's id quirks by default (what a pipeline meets); VALID_EXTRAS: well-formed ids (`valid_ids`).
VALID_EXTRAS: dict[str, ExtrasFn] = {
    "AU": au, "BR": br, "CA": ca, "CH": ch, "DE": de, "DK": dk, "ES": es, "FI": fi, "FR": fr, "GB": gb,
    "IE": ie, "IN": in_, "IR": ir, "MX": mx, "NL": nl, "NO": no, "NZ": nz, "RS": rs, "TR": tr, "UA": ua,
    "US": us, "LEGO": lego,
}
EXTRAS: dict[str, ExtrasFn] = {**VALID_EXTRAS, "DE": de_quirk, "DK": dk_quirk, "FI": fi_quirk, "FR": fr_quirk}

# Titles where a nationality overrides randomuser's common ones: (male, female choices).
TITLES: dict[str, tuple[str, tuple[str, ...]]] = {"CH": ("Monsieur", ("Mademoiselle", "Madame"))}
