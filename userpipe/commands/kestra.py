"""`userpipe kestra ...`: the commands the Kestra flow `demo.synthetic_users_realtime` runs in its tasks.

Registered in flow order (the order `--help` lists them). The steps (ingest, check, record-failure) record
themselves in ops.pipeline_runs (trigger `kestra`, run_id = the Kestra execution id) and print Kestra outputs
and metrics on stdout; dbt-env prints dbt's connection settings for the dbt_build task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from quality.scope import DEFAULT_FULL_CHECKS_EVERY

app = typer.Typer(no_args_is_help=True,
                  help="Commands the Kestra flow's tasks run, in flow order; runs are recorded in ops.pipeline_runs.")

RunId = Annotated[str, typer.Option("--run-id", metavar="ID", help="The run's id: the Kestra execution id.")]


@app.command("ingest")
def ingest(
    run_id: RunId,
    batch_size: Annotated[str, typer.Option("--batch-size", "-n", metavar="N",
                                            help="Users to fetch, 1..100000 (pages of <= 5000).")] = "10",
    api_url: Annotated[str | None, typer.Option(
        "--api-url", metavar="URL", help="A randomuser-compatible API (default: an in-process local one).")] = None,
    nat: Annotated[str | None, typer.Option("--nat", metavar="CODES", help="Nationalities, e.g. US,GB.")] = None,
    lock_wait: Annotated[float, typer.Option("--lock-wait", metavar="SECONDS", min=0,
                                             help="How long to wait for a running cycle before skipping.")] = 45.0,
) -> None:
    """Task ingest: land one batch under the cycle lock.

    Takes the cycle lock, lands the batch and opens the run row, the execution's lease.
    """
    from userpipe import kestra_steps
    from userpipe.commands.run import check_api_url, check_nationalities, parse_batch_size

    kestra_steps.ingest_step(run_id, parse_batch_size(batch_size), api_url=check_api_url(api_url),
                             nat=check_nationalities(nat), lock_wait_seconds=lock_wait)


@app.command("dbt-env")
def dbt_env() -> None:
    """Task dbt_build: print dbt's connection settings.

    `export USERPIPE_PG_...` lines for profiles.yml, from USERPIPE_DATABASE_URL, for `eval` in a shell.
    """
    import shlex

    from userpipe import warehouse

    for name, value in warehouse.dbt_env(warehouse.database_url()).items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@app.command("check")
def check(
    run_id: RunId,
    load_id: Annotated[str | None, typer.Option("--load-id", metavar="ID",
                                                help="dlt load id from the ingest step (default: the newest).")] = None,
    ingest_ended_at: Annotated[str | None, typer.Option(
        "--ingest-ended-at", metavar="ISO", help="When ingest ended (its output), to time the dbt build.")] = None,
    dbt_results: Annotated[Path | None, typer.Option(
        "--dbt-results", metavar="FILE",
        help="run_results.json of the dbt build: its tests are recorded instead of run again.")] = None,
    full_checks_every: Annotated[int, typer.Option(
        "--full-checks-every", metavar="N", min=0,
        help="Also run the whole-table dbt tests in one check run of every N (ops.check_results); 1: every "
        "execution, 0: never.")] = DEFAULT_FULL_CHECKS_EVERY,
) -> None:
    """Task checks: quality gate, then close the run row.

    Exit 1 when checks fail; the data stays.
    """
    from userpipe import kestra_steps

    kestra_steps.check_step(run_id, load_id=load_id, ingest_ended_at=ingest_ended_at, dbt_results=dbt_results,
                            full_checks_every=full_checks_every)


@app.command("record-failure")
def record_failure(
    run_id: RunId,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (default: the step that did not finish).")] = None,
) -> None:
    """Errors handler: close a failed execution's run row.

    An id with no run row is an error, and nothing is written.
    """
    from userpipe import kestra_steps

    record = kestra_steps.record_failure(run_id, reason)
    typer.echo(f"run {record.run_id}: {record.status} ({record.error})")
