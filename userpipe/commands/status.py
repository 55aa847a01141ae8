"""`userpipe status`: users, latest users, users per minute, last cycles, freshness and failed checks."""

from __future__ import annotations

from typing import Annotated

import typer

Cycles = Annotated[int, typer.Option("--cycles", metavar="N", min=1, max=100, help="How many cycles to list.")]


def status(cycles: Cycles = 10) -> None:
    """Show the pipeline's state from the database (works on an empty one too)."""
    from userpipe import status as report
    from userpipe import warehouse

    with warehouse.connect() as conn:
        report.print_report(report.collect(conn, cycles=cycles))
