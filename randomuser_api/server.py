"""The HTTP server: `/api/` and `/api/1.0/` .. `/api/1.4/` like randomuser.me, plus `/_control/faults` for tests.

What each answer looks like (headers, JSONP, downloads, gzip, 404) is `randomuser_api.responses`.

`LocalApi` runs it on a free port in a background thread (a context manager); `serve` runs it in the
foreground. Access lines go to the `randomuser_api.server` logger at INFO (quiet by default).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from randomuser_api.drift import apply_drift
from randomuser_api.faults import (
    OVERSIZE_PIECE_BYTES,
    Fault,
    FaultError,
    FaultPlan,
    coerce_plan,
    invalidate,
    oversized_parts,
)
from randomuser_api.formats import serialize
from randomuser_api.generate import build_document
from randomuser_api.params import ApiRequest, parse_query
from randomuser_api.responses import CONTENT_TYPES, Reply, api_reply, api_version, not_found, with_callback

log = logging.getLogger(__name__)

CONTROL_PATH = "/_control/faults"
ERROR_500 = "Uh oh, something has gone wrong. Please tweet us @randomapi about the issue. Thank you."
ERROR_429 = "Too many requests: slow down and retry after the Retry-After delay."


class ApiServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer carrying the fault plan its handlers consult."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], faults: FaultPlan, compress: bool = True) -> None:
        super().__init__(address, ApiHandler)
        self.faults = faults
        self.faults_lock = threading.Lock()
        self.compress = compress  # gzip when asked, as randomuser.me; False: never (saves CPU locally)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer (e.g. one that stops reading at its size limit) is not an error
        of ours: no traceback for it."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ApiHandler(BaseHTTPRequestHandler):
    """Serves `/api/` (GET), `/_control/faults` (GET, PUT, DELETE)."""

    protocol_version = "HTTP/1.1"
    server_version = "userpipe-randomuser/1.4"
    server: ApiServer

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    # --- plumbing -------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str | None = CONTENT_TYPES["json"],
              headers: dict[str, str] | list[tuple[str, str]] | None = None) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for name, value in (headers.items() if isinstance(headers, dict) else headers or []):
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reply(self, reply: Reply) -> None:
        self._send(reply.status, reply.body, None, reply.headers)

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, orjson.dumps(obj), headers=headers)

    def _path(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        return parts.path, parse_qs(parts.query, keep_blank_values=True)

    # --- verbs ----------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        path, query = self._path()
        version = api_version(path)
        if version is not None:
            self._api(query, version)
        elif path == CONTROL_PATH:
            self._json(200, self.server.faults.to_json())
        else:
            self._reply(not_found())

    def do_PUT(self) -> None:
        path, _ = self._path()
        if path != CONTROL_PATH:
            self._json(405, {"error": "only /_control/faults accepts PUT"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            plan = FaultPlan.from_json(orjson.loads(raw or b"[]"))
        except (orjson.JSONDecodeError, FaultError) as exc:
            self._json(400, {"error": str(exc)})
            return
        with self.server.faults_lock:
            self.server.faults = plan
        self._json(200, plan.to_json())

    def do_DELETE(self) -> None:
        path, _ = self._path()
        if path != CONTROL_PATH:
            self._json(405, {"error": "only /_control/faults accepts DELETE"})
            return
        with self.server.faults_lock:
            self.server.faults = FaultPlan()
        self._json(200, {"faults": []})

    # --- the API --------------------------------------------------------------------------------------
    def _api(self, query: dict[str, list[str]], version: str) -> None:
        with self.server.faults_lock:
            plan = self.server.faults
        faults = {f.kind: f for f in plan.take()}
        if "slow" in faults:
            time.sleep(faults["slow"].delay)
        if "429" in faults:
            retry = str(faults["429"].retry_after)
            self._json(429, {"error": ERROR_429}, headers={"Retry-After": retry})
            return
        if "500" in faults:
            self._json(500, {"error": ERROR_500})
            return
        req = parse_query(query, version)
        doc = build_document(req)
        if "invalid" in faults:
            invalidate(doc["results"], faults["invalid"].fields)
        if "drift" in faults:
            apply_drift(doc["results"], faults["drift"].drift, faults["drift"].drift_share)
        if "oversize" in faults:
            self._oversized(req, *oversized_parts(doc["results"], faults["oversize"].user_bytes,
                                                  lambda: with_callback(req, serialize(doc, req.format))))
            return
        body = with_callback(req, serialize(doc, req.format))
        if "malformed" in faults:
            body = body[: max(1, len(body) // 2)] + b'",,}{"broken'
        reply = api_reply(req, body, self.headers.get("Accept-Encoding") if self.server.compress else None)
        if "truncate" in faults:
            self._truncated(reply)
            return
        self._reply(reply)

    def _oversized(self, req: ApiRequest, head: bytes, padding: int, tail: bytes) -> None:
        """The page `head` + `padding` x's + `tail`, chunked (never compressed) as it is written; a client that
        stops reading ends it."""
        self.send_response(HTTPStatus.OK)
        for name, value in api_reply(req, b"").headers:
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        piece = b"x" * OVERSIZE_PIECE_BYTES
        try:
            self._chunk(head)
            for start in range(0, padding, OVERSIZE_PIECE_BYTES):
                self._chunk(piece[: min(OVERSIZE_PIECE_BYTES, padding - start)])
            self._chunk(tail)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (e.g. at its size limit)

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")

    def _truncated(self, reply: Reply) -> None:
        """Announce the full length, send half, close: the client sees an incomplete read."""
        self.send_response(HTTPStatus.OK)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body[: len(reply.body) // 2])
        self.wfile.flush()
        self.close_connection = True


FaultsArg = FaultPlan | Iterable[Fault] | None


class LocalApi:
    """The API on `host:port` (0 = a free port) in a background thread; use as a context manager.

    >>> with LocalApi() as api:
    ...     requests.get(api.url, params={"results": 10, "seed": "abc"})
    """

    def __init__(self, faults: FaultsArg = None, host: str = "127.0.0.1", port: int = 0,
                 compress: bool = True) -> None:
        self._server = ApiServer((host, port), coerce_plan(faults), compress)
        self._thread: threading.Thread | None = None
        address = self._server.server_address
        self.host, self.port = str(address[0]), int(address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The API endpoint, e.g. `http://127.0.0.1:PORT/api/`."""
        return f"{self.base_url}/api/"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}{CONTROL_PATH}"

    @property
    def faults(self) -> FaultPlan:
        return self._server.faults

    def set_faults(self, faults: FaultsArg) -> FaultPlan:
        """Replace the fault plan (None clears it); returns the plan now in force."""
        plan = coerce_plan(faults)
        with self._server.faults_lock:
            self._server.faults = plan
        return plan

    def clear_faults(self) -> None:
        self.set_faults(None)

    def start(self) -> LocalApi:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"randomuser-api-{self.port}", daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LocalApi:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def serve(host: str = "127.0.0.1", port: int = 8000, faults: FaultsArg = None,
          on_ready: Callable[[str], object] | None = None) -> None:
    """Run the API in the foreground until interrupted; `on_ready` gets its URL once the port is bound (OSError
    before that when it cannot be)."""
    server = ApiServer((host, port), coerce_plan(faults))
    host_name, port_number = str(server.server_address[0]), server.server_address[1]
    url = f"http://{host_name}:{port_number}/api/"
    log.info("randomuser-compatible API on %s", url)
    if on_ready is not None:
        on_ready(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
