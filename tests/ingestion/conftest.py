"""Helpers for the ingestion tests: database reads, a snapshot of the raw schemas, and small real HTTP servers
that answer what a broken or foreign API would (HTML, JSON without `results`, one bad page among good ones)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg
import pytest

from randomuser_api import build_response

# query -> (status, content type, body) or (status, content type, body, more headers)
Answer = Callable[[dict[str, str]], tuple[int, str, bytes] | tuple[int, str, bytes, dict[str, str]]]


def query(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params or None).fetchall()


def scalar(url: str, sql: str, params: tuple[object, ...] = ()) -> Any:
    return query(url, sql, params)[0][0]


def raw_snapshot(url: str) -> dict[str, object]:
    """Everything ingestion may touch: the raw* schemas, their tables, columns, and every row's content."""
    tables = query(url, "select table_schema, table_name from information_schema.tables "
                        "where table_schema like 'raw%' order by 1, 2")
    snapshot: dict[str, object] = {"tables": tables}
    for schema, table in tables:
        snapshot[f"{schema}.{table}:columns"] = query(
            url, "select column_name, data_type from information_schema.columns "
                 "where table_schema = %s and table_name = %s order by ordinal_position", (schema, table))
        snapshot[f"{schema}.{table}:rows"] = scalar(
            url, f'select count(*)::text || md5(coalesce(string_agg(t::text, \'|\' order by t::text), \'\')) '
                 f'from "{schema}"."{table}" t')
    return snapshot


class FakeApi:
    """A real HTTP server on a free port whose answers come from `answer(query)`; `.url`, `.requests`."""

    def __init__(self, answer: Answer) -> None:
        self.requests: list[dict[str, str]] = []
        requests, respond = self.requests, answer

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                params = dict(parse_qsl(urlsplit(self.path).query))
                requests.append(params)
                status, content_type, body, *more = respond(params)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (more[0] if more else {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def fake_api() -> Iterator[Callable[[Answer], FakeApi]]:
    """Factory: `fake_api(answer) -> FakeApi`, stopped after the test."""
    servers: list[FakeApi] = []

    def make(answer: Answer) -> FakeApi:
        server = FakeApi(answer)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def good_page(params: dict[str, str]) -> tuple[int, str, bytes]:
    """What our randomuser API answers for `params`."""
    return 200, "application/json", build_response(params)
