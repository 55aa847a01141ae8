"""The dashboard's HTTP server: the page, its vendored assets, the definition and one data endpoint.

Routes: `/` (the page), `/static/<file>` (ECharts and the page's script and style, from the package),
`/api/dashboard` (the Grafana JSON, re-read when the file changes), and `/api/query?from=now-30m&to=now&width=1600`:
every panel's data for that range (or those of `&panels=1,2,..`, the ones shown), `$__interval` sized for a page
that wide (one refresh, each query run once).
Binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import errno
import logging
import mimetypes
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from userpipe.dashboard import definition
from userpipe.dashboard.definition import Dashboard, DashboardError
from userpipe.dashboard.queries import QueryRunner

log = logging.getLogger(__name__)

STATIC = Path(str(resources.files("userpipe.dashboard") / "static"))
STATIC_FILES = frozenset({"index.html", "dashboard.js", "dashboard.css", "echarts.min.js", "ECHARTS_LICENSE",
                          "ECHARTS_NOTICE"})


@dataclass
class DefinitionFile:
    """The dashboard JSON, loaded again whenever the file's modification time changes."""

    path: Path
    _loaded: tuple[float, Dashboard] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> Dashboard:
        mtime = self.path.stat().st_mtime if self.path.exists() else -1.0
        with self._lock:
            if self._loaded is None or self._loaded[0] != mtime:
                self._loaded = (mtime, definition.load(self.path))
            return self._loaded[1]


class DashboardServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer holding the definition and the query runner its handlers use."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], definition_file: DefinitionFile, runner: QueryRunner) -> None:
        super().__init__(address, DashboardHandler)
        self.definition_file = definition_file
        self.runner = runner


class DashboardHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "userpipe-dashboard"
    server: DashboardServer

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        try:
            if path in ("/", "/index.html"):
                self._file("index.html")
            elif path.startswith("/static/"):
                self._file(path.removeprefix("/static/"))
            elif path == "/api/dashboard":
                self._json(200, self.server.definition_file.current().document)
            elif path == "/api/query":
                time_range = definition.time_range(query.get("from", ["now-30m"])[0], query.get("to", ["now"])[0])
                width = _page_width(query.get("width", [str(definition.PAGE_WIDTH)])[0])
                panels = _panel_ids(query["panels"][0]) if "panels" in query else None
                self._json(200, self.server.runner.refresh(self.server.definition_file.current(), time_range, width,
                                                           panels))
            else:
                self._json(404, {"error": f"not found: {path}"})
        except DashboardError as exc:
            self._json(400, {"error": str(exc)})

    def _file(self, name: str) -> None:
        if name not in STATIC_FILES:
            self._json(404, {"error": f"not found: {name}"})
            return
        body = (STATIC / name).read_bytes()
        kind = "text/plain" if name.startswith("ECHARTS_") else mimetypes.guess_type(name)[0] or "text/plain"
        self._send(200, body, f"{kind}; charset=utf-8", cache="max-age=3600" if name == "echarts.min.js" else None)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, orjson.dumps(obj, default=str), "application/json")

    def _send(self, status: int, body: bytes, content_type: str, cache: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache or "no-store")
        self.end_headers()
        self.wfile.write(body)


def _page_width(text: str) -> int:
    try:
        width = int(text)
    except ValueError:
        raise DashboardError(f"width must be a whole number of pixels, got {text!r}") from None
    if not 100 <= width <= 20000:
        raise DashboardError(f"width must be between 100 and 20000 pixels, got {width}")
    return width


def _panel_ids(text: str) -> set[int]:
    try:
        return {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise DashboardError(f"panels must be panel ids separated by commas, got {text!r}") from None


def bind(host: str, port: int, definition_file: DefinitionFile, runner: QueryRunner) -> DashboardServer:
    """A server on host:port, or on a free port when that one is taken (the caller tells the user)."""
    try:
        return DashboardServer((host, port), definition_file, runner)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise DashboardError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        return DashboardServer((host, 0), definition_file, runner)
