"""`userpipe dashboard`: the Grafana dashboard's panels in a local web page (no Grafana, no Docker)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from userpipe.errors import UserpipeError

# The port is taken as text and checked here, so `--port abc` fails in one line.
Port = Annotated[str, typer.Option("--port", "-p", metavar="PORT", envvar="USERPIPE_DASHBOARD_PORT",
                                   help="Port to listen on (a busy one falls back to a free port, said so).")]
Host = Annotated[str, typer.Option("--host", help="Address to bind; 127.0.0.1 keeps the page on this machine.")]
Definition = Annotated[Path | None, typer.Option(
    "--definition", metavar="FILE", help="A Grafana dashboard JSON to render (default: "
    "grafana/dashboards/realtime_user_analytics.json).")]


def dashboard(port: Port = "3000", host: Host = "127.0.0.1", definition: Definition = None) -> None:
    """Serve the dashboard page: every panel of the Grafana JSON, its SQL run as grafana_reader, refreshed live."""
    from userpipe.dashboard import RunningDashboard, serve

    def started(running: RunningDashboard) -> None:
        if running.notice:
            typer.echo(running.notice, err=True)
        typer.echo(f"dashboard: {running.url} (Ctrl-C stops)")

    serve(host=host, port=parse_port(port), definition_path=definition, on_start=started)


def parse_port(value: str, option: str = "--port") -> int:
    """A TCP port from text: 0 (any free port) .. 65535."""
    try:
        port = int(value)
    except ValueError:
        raise UserpipeError(f"{option} must be a whole number between 0 and 65535, got {value!r}") from None
    if not 0 <= port <= 65535:
        raise UserpipeError(f"{option} must be between 0 and 65535, got {port}")
    return port
