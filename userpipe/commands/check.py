"""`userpipe check`: dbt tests + Great Expectations on the newest batch (`--full`: and the whole-table tests),
stored in ops.check_results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from userpipe.errors import UserpipeError

if TYPE_CHECKING:
    from quality.gate import CheckReport

STATUSES = ("pass", "fail", "error", "warn", "skipped")


def check(
    run_id: str | None = typer.Option(
        None, "--run-id", help="Id the results are stored under (default: check-<UTC time>)."
    ),
    expected_rows: int | None = typer.Option(
        None, "--expected-rows", min=0, help="Users ingestion reported new in the load; checked against raw.users."
    ),
    load_id: str | None = typer.Option(None, "--load-id", help="dlt load id of the batch (default: the newest load)."),
    skip_dbt: bool = typer.Option(False, "--skip-dbt", help="Run the Great Expectations suites only."),
    full: bool = typer.Option(
        False, "--full", help="Also run the whole-table dbt tests (tag whole_table; the slow schedule's checks)."
    ),
) -> None:
    """Run the quality gate on the newest batch: dbt tests and GX suites; exit 1 naming every failing check.
    Data is never touched."""
    from quality.gate import run_checks
    from userpipe import warehouse

    if full and skip_dbt:
        raise UserpipeError("--full runs dbt tests: it cannot go with --skip-dbt")
    warehouse.check_settings()  # GX docs and dbt's target live in the home: one line, not two logged tracebacks
    report = run_checks(
        run_id or f"check-{datetime.now(UTC):%Y%m%dT%H%M%SZ}",
        expected_rows=expected_rows,
        load_id=load_id,
        run_dbt_tests=not skip_dbt,
        full=full,
    )
    console = Console()
    console.print(summary_table(report))
    if report.docs_index:
        console.print(f"data docs: {report.docs_index}")
    for failure in report.failures:
        detail = f": {failure.observed_value}" if failure.observed_value else ""
        console.print(f"[red]{failure.status.upper()}[/red] {failure.source} {failure.check_name}{detail}",
                      highlight=False, soft_wrap=True)
    if report.failures:
        names = ", ".join(f.check_name for f in report.failures)
        raise UserpipeError(f"{len(report.failures)} check(s) failed in run {report.run_id}: {names}")


def summary_table(report: CheckReport) -> Table:
    """Counts per source and status, one row per source."""
    table = Table(title=f"checks of run {report.run_id} (load {report.load_id}, {report.seconds:.1f} s)")
    table.add_column("source")
    for status in STATUSES:
        table.add_column(status, justify="right")
    for source in sorted({r.source for r in report.results}):
        counts = [sum(1 for r in report.results if r.source == source and r.status == s) for s in STATUSES]
        table.add_row(source, *(str(count) for count in counts))
    return table
