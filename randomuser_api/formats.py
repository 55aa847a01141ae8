"""Serialising a response document: json, pretty, csv, yaml, xml (randomuser's `format` values)."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.sax.saxutils import escape

import orjson
import yaml

CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "pretty": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "yaml": "text/x-yaml; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
}


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out[prefix] = value


def to_csv(users: list[dict[str, Any]]) -> bytes:
    """One row per user, nested keys joined with dots (`name.first`, `location.street.number`), like
    randomuser's json-2-csv output; null is written as an empty cell."""
    rows = []
    for user in users:
        flat: dict[str, Any] = {}
        _flatten("", user, flat)
        rows.append(flat)
    header: dict[str, None] = {}
    for row in rows:
        header.update(dict.fromkeys(row))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(k) is None else row.get(k) for k in header])
    return buf.getvalue().encode("utf-8")


def _xml(tag: str, value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append(f"<{tag}>")
        for k, v in value.items():
            _xml(k, v, out)
        out.append(f"</{tag}>")
    elif isinstance(value, list):
        for item in value:
            _xml(tag, item, out)
    else:
        text = "" if value is None else str(value)
        out.append(f"<{tag}>{escape(text)}</{tag}>")


def to_xml(doc: dict[str, Any]) -> bytes:
    """`<user><results>...</results>...<info>...</info></user>`, as randomuser's js2xmlparser('user', doc)."""
    out = ["<?xml version='1.0'?>\n"]
    _xml("user", doc, out)
    return "".join(out).encode("utf-8")


def serialize(doc: dict[str, Any], fmt: str) -> bytes:
    """The body for `doc` in format `fmt` (unknown formats are json)."""
    if fmt == "pretty":
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    if fmt == "csv":
        return to_csv(doc["results"])
    if fmt == "yaml":
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode("utf-8")
    if fmt == "xml":
        return to_xml(doc)
    return orjson.dumps(doc)
