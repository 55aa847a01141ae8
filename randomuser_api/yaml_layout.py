"""YAML written the way randomuser's `YAML.stringify(doc, 4)` (yamljs 0.2) writes it.

Block style for the first 4 levels, 4-space indents, each list item's `-` on a line of its own, deeper
objects inline (`{number: 2479, name: 'Fitzherbert Avenue'}`). A string is single-quoted when it holds
whitespace or one of `'":{}[],&*#?`, starts with one of `-?|<>=!%@\\``, reads as a number, a date or
null/true/false; double-quoted (escaped) when it holds control characters; `""` when empty.
"""

from __future__ import annotations

import re
from typing import Any

from randomuser_api.js import Undefined, js_number

INDENT = 4
_CONTROL = re.compile("[\x00-\x1f]|\u00c2\u0085|\u00c2\u00a0|\u00e2\u0080\u00a8|\u00e2\u0080\u00a9")
_SINGLE = re.compile(r"""[\s'":{}\[\],&*#?]|^[-?|<>=!%@`]""")
_DIGITS = re.compile(r"[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?"
                   r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?", re.IGNORECASE)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\x00": "\\0", "\x07": "\\a", "\x08": "\\b", "\t": "\\t", "\n": "\\n",
            "\x0b": "\\v", "\x0c": "\\f", "\r": "\\r", "\x1b": "\\e", "\u0085": "\\N", "\u00a0": "\\_",
            "\u2028": "\\L", "\u2029": "\\P"}
_TO_ESCAPE = re.compile('[\\\\"\x00-\x1f\u0085\u00a0\u2028\u2029]')


def _is_numeric(text: str) -> bool:
    """yamljs' `!isNaN(text)` with something besides spaces."""
    return text.strip() != "" and js_number(text) == js_number(text)


def scalar(value: Any) -> str:
    """One value inline (yamljs `Inline.dump`)."""
    if value is None or isinstance(value, Undefined):
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    text = str(value)
    if _DIGITS.fullmatch(text) or _is_numeric(text):
        return f"'{text}'"
    if _CONTROL.search(text):
        escaped = _TO_ESCAPE.sub(lambda m: _ESCAPES.get(m.group(), f"\\x{ord(m.group()):02x}"), text)
        return f'"{escaped}"'
    if _SINGLE.search(text):
        return "'" + text.replace("'", "''") + "'"
    if text == "":
        return '""'
    if _DATE.fullmatch(text) or text.lower() in ("null", "~", "true", "false"):
        return f"'{text}'"
    return text


def _empty(value: Any) -> bool:
    return not value


def dump(value: Any, inline: int = 4, indent: int = 0) -> str:
    """yamljs `Dumper.dump(value, inline, indent)`."""
    prefix = " " * indent
    if inline <= 0 or not isinstance(value, dict | list) or _empty(value):
        return prefix + scalar(value)
    out = []
    items = ((None, v) for v in value) if isinstance(value, list) else value.items()
    for key, item in items:
        inlined = inline - 1 <= 0 or not isinstance(item, dict | list) or _empty(item)
        head = prefix + ("-" if key is None else scalar(key) + ":")
        if inlined:
            out.append(f"{head} {dump(item, inline - 1, 0)}\n")
        else:
            out.append(f"{head}\n{dump(item, inline - 1, indent + INDENT)}")
    return "".join(out)
