"""`userpipe transform`: dbt build (or test, or source freshness) on dbt_project/, in-process."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from userpipe import warehouse
from userpipe.transform import Transformer, TransformError, TransformResult


def transform(
    select: list[str] = typer.Option(  # noqa: B008 (typer's declaration style)
        [], "--select", "-s", help="dbt node selection, e.g. incoming_users+ (repeatable)."
    ),
    exclude: list[str] = typer.Option([], "--exclude", help="dbt nodes to leave out (repeatable)."),  # noqa: B008
    full_refresh: bool = typer.Option(
        False, "--full-refresh", help="Rebuild incremental models from raw.users instead of adding the new batch."
    ),
    test_only: bool = typer.Option(False, "--test", help="Run the dbt tests only (dbt test), building nothing."),
    freshness: bool = typer.Option(False, "--freshness", help="Check raw.users freshness (dbt source freshness)."),
) -> None:
    """Build staging, public.incoming_users and the marts with dbt, then run their tests."""
    if freshness and (test_only or full_refresh or select or exclude):
        raise TransformError("--freshness checks raw.users' freshness only: it takes no --test, --full-refresh, "
                             "--select or --exclude (run them separately)")
    if test_only and full_refresh:
        raise TransformError("--test builds nothing, so --full-refresh has no meaning with it")
    warehouse.check_settings()  # dbt's target and logs live in the home
    transformer = Transformer()
    if freshness:
        result = transformer.source_freshness()
    elif test_only:
        result = transformer.test(select, exclude)
    else:
        try:
            result = transformer.build(select, exclude, full_refresh=full_refresh)
        except TransformError as exc:
            if exc.result is not None:
                _print(exc.result)
            raise
    _print(result)
    if not result.success:
        raise TransformError(f"dbt {result.command}: {len(result.failures)} node(s) failed")


def _print(result: TransformResult) -> None:
    console = Console()
    notable = [node for node in result.nodes if node.status not in {"success", "pass"}]
    if notable:
        table = Table("status", "node", "message", show_edge=False)
        for node in notable:
            colour = "yellow" if node.status in {"warn", "skipped"} else "red"
            table.add_row(f"[{colour}]{node.status}[/]", f"{node.resource_type} {node.name}", node.message or "")
        console.print(table)
    console.print(("[green]" if result.success else "[red]") + result.summary())
