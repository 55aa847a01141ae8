"""`userpipe status`: users, latest users, users per minute, last cycles, freshness and failed checks."""

from __future__ import annotations

from typing import Annotated

import typer

from userpipe.errors import UserpipeError

Cycles = Annotated[int, typer.Option("--cycles", metavar="N", help="How many cycles to list, 1..100.")]


def status(cycles: Cycles = 10) -> None:
    """Show the pipeline's state from the database (works on an empty one too)."""
    from userpipe import status as report
    from userpipe import warehouse

    if not 1 <= cycles <= 100:
        raise UserpipeError(f"--cycles must be between 1 and 100, got {cycles}")
    with warehouse.connect() as conn:
        report.print_report(report.collect(conn, cycles=cycles))
