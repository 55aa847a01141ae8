"""The dashboard page: the Grafana dashboard JSON of grafana/ rendered locally, without Grafana.

A layer above the warehouse: it reads `grafana/dashboards/*.json`, runs each panel's SQL (Grafana's macros
expanded) as the read-only role `grafana_reader`, and serves a page that lays the panels on Grafana's grid and
draws them with the vendored Apache ECharts. `start_dashboard` runs it in a background thread (what `userpipe
run` does); `serve` in the foreground (`userpipe dashboard`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from userpipe import warehouse
from userpipe.dashboard import definition, reader
from userpipe.dashboard.definition import DashboardError
from userpipe.dashboard.queries import QueryRunner
from userpipe.dashboard.server import DashboardServer, DefinitionFile, bind

DEFAULT_PORT = 3000
DEFAULT_HOST = "127.0.0.1"

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "DashboardError", "RunningDashboard", "serve", "start_dashboard"]


@dataclass
class RunningDashboard:
    """A dashboard server running in a daemon thread."""

    server: DashboardServer
    runner: QueryRunner
    requested_port: int
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self.server.server_address[0])
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    @property
    def notice(self) -> str | None:
        """Why the port is not the one asked for (it was busy), else None."""
        if self.requested_port in (0, self.port):
            return None
        return f"port {self.requested_port} is busy: the dashboard listens on {self.port} instead"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.runner.close()
        self.thread.join(timeout=10)


def start_dashboard(database_url: str | None = None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                    definition_path: Path | None = None) -> RunningDashboard:
    """Start the page in a background thread and return it (`.url`; `.notice` when the port was busy)."""
    definition_file = DefinitionFile(definition_path or definition.default_path())
    definition_file.current()  # a broken definition fails here, in one line, not in the page
    runner = QueryRunner(reader.reader_url(database_url or warehouse.database_url())).open()
    try:
        server = bind(host, port, definition_file, runner)
    except BaseException:
        runner.close()
        raise
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    return RunningDashboard(server, runner, port, thread)


def serve(database_url: str | None = None, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          definition_path: Path | None = None,
          on_start: Callable[[RunningDashboard], None] | None = None) -> None:
    """Serve the page until interrupted (Ctrl-C)."""
    dashboard = start_dashboard(database_url, host, port, definition_path)
    try:
        if on_start is not None:
            on_start(dashboard)
        threading.Event().wait()
    finally:
        dashboard.stop()
