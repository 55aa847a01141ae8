"""`userpipe quickstart`: the docker-compose stack (PostgreSQL, Kestra, Grafana, local API) in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def quickstart(
    project: Annotated[Path | None, typer.Option(
        "--project-dir", help="Folder holding docker-compose.yml (default: the current one or the checkout).",
    )] = None,
    health_timeout: Annotated[float, typer.Option(
        "--health-timeout", min=1, help="Seconds to wait for every service to be healthy.",
    )] = 600.0,
    users_timeout: Annotated[float, typer.Option(
        "--users-timeout", min=1, help="Seconds to wait for the first users in analytics-postgres.",
    )] = 240.0,
) -> None:
    """Check Docker and ports, start the stack, run the Kestra flow once, wait for users, print the dashboard URL.

    Without Docker, run everything locally instead: make run.
    """
    from userpipe import quickstart as steps

    console = Console()
    root = steps.project_dir(project)
    steps.run(root, lambda line: console.print(f"[green]✓[/green] {line}", highlight=False),
              health_timeout=health_timeout, users_timeout=users_timeout)
    console.print(f"\nDashboard: [bold]{steps.DASHBOARD_URL}[/bold]  (Kestra: {steps.KESTRA_URL})")
