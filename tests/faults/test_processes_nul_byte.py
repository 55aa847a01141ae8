"""A page with a NUL character in a string (PostgreSQL text cannot hold one): `userpipe ingest` fails in one
`error:` line, nothing landed, and no traceback of dlt's on the way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import psycopg

from tests.ingestion.conftest import FakeApi, good_page

USERPIPE = str(Path(sys.executable).with_name("userpipe"))


def page_with_nul(params: dict[str, str]) -> tuple[int, str, bytes]:
    status, content_type, body = good_page(params)
    document = orjson.loads(body)
    document["results"][1]["name"]["first"] = "Ann\u0000e"
    return status, content_type, orjson.dumps(document)


def test_a_nul_byte_fails_in_one_line_and_lands_nothing(database_url: str) -> None:
    api = FakeApi(page_with_nul)
    try:
        result = subprocess.run([USERPIPE, "ingest", "-n", "20", "--seed", "nul", "--api-url", api.url],
                                capture_output=True, text=True, timeout=120, check=False)
    finally:
        api.close()
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    with psycopg.connect(database_url) as conn:
        table = conn.execute("select to_regclass('raw.users')").fetchone()
        landed = conn.execute("select count(*) from raw.users").fetchone() if table and table[0] else (0,)
    assert landed == (0,)
