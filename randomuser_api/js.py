"""JavaScript's value rules where randomuser's behaviour depends on them (it runs on Node)."""

from __future__ import annotations

import math
import re

_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_JS_RADIX = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}


def js_number(text: object) -> float:
    """JavaScript's `Number(text)` (what randomuser's checks apply to query strings); NaN when not a number."""
    s = str(text).strip(_JS_SPACE)
    if not s:
        return 0.0
    if _JS_DECIMAL.fullmatch(s):
        return float(s)
    if s.lstrip("+-") == "Infinity":
        return float("-inf") if s[0] == "-" else float("inf")
    base = _JS_RADIX.get(s[:2])
    if base is not None:
        try:
            return float(int(s[2:], base)) if s[2:].isalnum() and s[2:].isascii() else math.nan
        except ValueError:
            return math.nan
    return math.nan


def js_parse_hex(text: str) -> int | None:
    """JavaScript's `parseInt(text, 16)`: leading spaces and sign, then the longest run of hex digits."""
    s = text.lstrip(_JS_SPACE)
    sign = -1 if s[:1] == "-" else 1
    s = s[1:] if s[:1] in "+-" and s else s
    digits = ""
    for ch in s:
        if ch not in "0123456789abcdefABCDEF":
            break
        digits += ch
    return sign * int(digits, 16) if digits else None


class Undefined:
    """JavaScript's `undefined` where randomuser leaves one (LEGO users' `location.country`): JSON drops
    the key, yamljs writes `null`, js2xmlparser an empty element, json-2-csv `undefined`."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = Undefined()
