"""Serialising a response document: json, pretty, csv, yaml, xml, laid out as randomuser 1.4's libraries do.

json: `JSON.stringify`; pretty: 2-space indent; csv: json-2-csv 3; yaml: yamljs 0.2 (`yaml_layout`);
xml: js2xmlparser 1.0. Content types are in `randomuser_api.responses`.
"""

from __future__ import annotations

from typing import Any

import orjson

from randomuser_api.js import UNDEFINED, Undefined
from randomuser_api.yaml_layout import dump as yaml_dump


def with_undefined_country(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Users whose `location` has no `country` (LEGO) get it back as UNDEFINED, after `state`."""
    out = []
    for user in users:
        location = user.get("location")
        if location is None or "country" in location:
            out.append(user)
            continue
        filled: dict[str, Any] = {}
        for key, value in location.items():
            filled[key] = value
            if key == "state":
                filled["country"] = UNDEFINED
        out.append({**user, "location": filled})
    return out


# The file extension randomuser gives each format (the `dl` file name, the content type).
EXTENSIONS = {"json": "json", "pretty": "json", "csv": "csv", "yaml": "yaml", "xml": "xml"}


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out[prefix] = value


def _js_text(value: Any) -> str:
    """A value as JavaScript's `String()` / json-2-csv print it: null -> `null`, objects as JSON."""
    if isinstance(value, Undefined):
        return "undefined"
    if value is None or isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv_cell(text: str) -> str:
    """json-2-csv's quoting: double the quotes; wrap when there is a comma, a quote or a line break."""
    if '"' in text:
        text = text.replace('"', '""')
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return f'"{text}"'
    return text


def _missing(row: dict[str, Any], key: str) -> str:
    """json-2-csv's text for a key a user lacks: `null` under a missing object, else `undefined`."""
    parent = key.rpartition(".")[0]
    return "undefined" if not parent or any(k.startswith(f"{parent}.") or k == parent for k in row) else "null"


def to_csv(users: list[dict[str, Any]]) -> bytes:
    """json-2-csv 3 (`converter.json2csv(results)`): a header of dotted keys (`name.first`,
    `location.street.number`), one row per user, `\n` between lines and none at the end; null is written
    `null`, a key a user lacks `undefined`."""
    rows = []
    header: dict[str, None] = {}
    for user in users:
        flat: dict[str, Any] = {}
        _flatten("", user, flat)
        rows.append(flat)
        header.update(dict.fromkeys(flat))
    lines = [",".join(_csv_cell(k) for k in header)]
    lines.extend(",".join(_csv_cell(_js_text(row[k]) if k in row else _missing(row, k)) for k in header)
                 for row in rows)
    return "\n".join(lines).encode("utf-8")


def _xml_text(value: Any) -> str:
    text = "" if value is None or isinstance(value, Undefined) else value if isinstance(value, str) else _js_text(value)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


def _xml(tag: str, value: Any, level: int, out: list[str]) -> None:
    tag = f"_{tag}" if tag[:1].isdigit() else tag
    pad = "\t" * level
    if isinstance(value, list):
        for item in value:
            _xml(tag, item, level, out)
    elif isinstance(value, dict):
        if not value:
            out.append(f"{pad}<{tag}/>\n")
            return
        out.append(f"{pad}<{tag}>\n")
        for k, v in value.items():
            _xml(k, v, level + 1, out)
        out.append(f"{pad}</{tag}>\n")
    else:
        out.append(f"{pad}<{tag}>{_xml_text(value)}</{tag}>\n")


def to_xml(doc: dict[str, Any]) -> bytes:
    """js2xmlparser 1.0 (`js2xmlparser('user', doc)`): a declaration, tab indents, each list item an element
    of the list's name (`<user><results>...</results>...<info>...</info></user>`), no final newline."""
    out: list[str] = []
    _xml("user", doc, 0, out)
    body = "".join(out).rstrip()
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}'.encode()


def serialize(doc: dict[str, Any], fmt: str) -> bytes:
    """The body for `doc` in format `fmt` (unknown formats are json)."""
    if fmt == "pretty":
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    if fmt not in ("csv", "yaml", "xml"):
        return orjson.dumps(doc)
    doc = {**doc, "results": with_undefined_country(doc["results"])}
    if fmt == "csv":
        return to_csv(doc["results"])
    if fmt == "yaml":
        return yaml_dump(doc).encode("utf-8")
    return to_xml(doc)
