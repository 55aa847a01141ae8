"""Parsing a page: the fast path (top-level keys and `login` only) gives exactly what the full parse gives."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from ingestion.randomuser.helpers import (
    IngestError,
    PageRequest,
    _parse_full,
    _parse_raw,
    is_utf8,
    jsonb_key_order,
    parse_page,
)
from randomuser_api import build_response
from tests.ingestion.conftest import query

NOW = datetime(2026, 1, 2, tzinfo=UTC)
CREDENTIALS = ("password", "salt", "md5", "sha1", "sha256")


def request(results: int) -> PageRequest:
    return PageRequest("fast", 1, results)


def test_fast_path_is_byte_identical_to_the_full_parse() -> None:
    body = build_response({"results": "300", "seed": "fast", "page": "1"})

    fast = _parse_raw(body, request(300), "api", NOW)
    full = _parse_full(body, request(300), "api", NOW)

    assert fast is not None
    assert fast == full
    for payload in fast.payloads:
        login = orjson.loads(payload)["login"]
        assert login["uuid"] and not set(CREDENTIALS) & set(login)


def test_fast_path_strips_credential_keys_written_with_escapes() -> None:
    user = b'{"login":{"uuid":"u-1","pass\\u0077ord":"secret","sha256":"x"},"name":{"first":"A\\u00e9"}}'
    body = b'{"results":[' + user + b'],"info":{"seed":"fast","version":"1.4"}}'

    page = _parse_raw(body, request(1), "api", NOW)

    assert page is not None and page.uuids == ["u-1"]
    assert orjson.loads(page.payloads[0]) == {"login": {"uuid": "u-1"}, "name": {"first": "Aé"}}
    assert b"secret" not in page.payloads[0]


@pytest.mark.parametrize("body", [
    orjson.dumps(orjson.loads(build_response({"results": "2", "seed": "fast"})), option=orjson.OPT_INDENT_2),
    b'{"results":[{"login":{"uuid":"u-1","password":"p"},"name":"\xff"}]}',  # not UTF-8
    b'{"results":[{"login":["u-1"]}]}',
    b'{"results":[{"login":{"uuid":7}}]}',
    b'{"results":[{"login":{"uuid":"u-1"}}],"info":{"seed":5}}',
    b'{"results":[{"login":{"uuid":"u-1"},"extra":1}]}',  # a field API 1.4 does not have
    b'{"results":[{"login":{"uuid":"u-1","token":"t"}}]}',
    b'{"results":[{"name":"no login"}]}',
])
def test_anything_unexpected_takes_the_full_parse(body: bytes) -> None:
    results = len(orjson.loads(body)["results"]) if b"\xff" not in body else 1

    assert _parse_raw(body, request(results), "api", NOW) is None


def test_fields_unknown_to_api_1_4_still_land_without_credentials() -> None:
    body = b'{"results":[{"login":{"uuid":"u-1","token":"t","md5":"x"},"extra":[1]}]}'

    page = parse_page(body, request(1), "api")

    assert orjson.loads(page.payloads[0]) == {"login": {"uuid": "u-1", "token": "t"}, "extra": [1]}


def test_pretty_printed_pages_still_land_single_line_payloads_without_credentials() -> None:
    body = orjson.dumps(orjson.loads(build_response({"results": "2", "seed": "fast"})), option=orjson.OPT_INDENT_2)

    page = parse_page(body, request(2), "api")

    assert all(b"\n" not in p and b"password" not in p for p in page.payloads)


def test_invalid_utf8_is_malformed_json() -> None:
    with pytest.raises(IngestError, match="malformed"):
        parse_page(b'{"results":[{"login":{"uuid":"u-1"},"name":"\xff"}]}', request(1), "api")


def test_payload_keys_come_in_the_order_postgresql_stores_jsonb_keys(database_url: str) -> None:
    body = build_response({"results": "3", "seed": "order"})
    page = parse_page(body, request(3), "api")
    odd = {"ü": 1, "zz": 2, "a": 3, "Z": 4, "éa": 5, "login": {"uuid": "u-9"}}
    full = _parse_full(orjson.dumps({"results": [odd]}), request(1), "api", NOW)

    for payload in [*page.payloads, *full.payloads]:
        keys = list(orjson.loads(payload))
        stored = [k for (k,) in query(database_url, "select jsonb_object_keys(%s::jsonb)", (payload.decode(),))]
        assert keys == stored == sorted(keys, key=jsonb_key_order)


@pytest.mark.parametrize(("data", "valid"), [
    ("Noël Ørsted Şahin Київ تهران".encode(), True),  # multi-byte characters cut across 4-byte pieces
    ("Noë".encode()[:-1], False),  # a character cut at the end
    (b"ab\xffcd", False),
    (b"\xed\xa0\x80", False),  # a surrogate
    (b"", True),
])
def test_utf8_is_checked_across_piece_boundaries(data: bytes, valid: bool) -> None:
    assert is_utf8(data, piece=4) is valid
    assert is_utf8(data) is valid
