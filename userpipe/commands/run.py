"""`userpipe run`: the pipeline on a schedule (ingest -> transform -> check), as the original Kestra flow did."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from quality.scope import DEFAULT_FULL_CHECKS_EVERY
from userpipe.errors import UserpipeError

log = logging.getLogger(__name__)

Cron = Annotated[str, typer.Option(
    "--cron", metavar="EXPR", help="When cycles run: 5 cron fields (or 6 with seconds last). A first cycle runs "
    "at start.")]
BatchSize = Annotated[str, typer.Option(
    "--batch-size", "-n", metavar="N",
    help="Users fetched per cycle, 1..100000 (pages of <= 5000, as `userpipe ingest`).")]
Once = Annotated[bool, typer.Option("--once", help="Run one cycle now and exit (non-zero when it fails).")]
ApiUrl = Annotated[str | None, typer.Option(
    "--api-url", metavar="URL", help="A randomuser-compatible API, e.g. https://randomuser.me/api/ "
    "(default: our local API, started once for all cycles).")]
Nat = Annotated[str | None, typer.Option(
    "--nat", metavar="CODES", help="Nationalities, comma-separated, e.g. US,GB (default: all).")]
Wait = Annotated[bool, typer.Option(
    "--wait", help="When another cycle holds the lock (another runner, a Kestra execution), wait for it "
    "instead of skipping.")]
MaxCycles = Annotated[int | None, typer.Option(
    "--max-cycles", metavar="N", help="Stop after N cycles (default: run until Ctrl-C / SIGTERM).")]
Plain = Annotated[bool, typer.Option(
    "--plain", help="One line per cycle instead of the live screen (the default without a terminal).")]
TimeLimit = Annotated[str | None, typer.Option(
    "--time-limit", metavar="SECONDS", help="Longest a cycle's ingest may take, retries included; past it the "
    "batch fails and lands nothing (default: 3/4 of the cron interval, at least 10 s).")]
FullChecksEvery = Annotated[int, typer.Option(
    "--full-checks-every", metavar="N", min=0, help="Run the whole-table checks (dbt tests tagged whole_table) "
    "in one cycle of every N, counted over the check runs in ops.check_results; 1: every cycle, 0: never "
    "(`userpipe check --full` runs them).")]
NoDashboard = Annotated[bool, typer.Option("--no-dashboard", help="Do not serve the dashboard page.")]
DashboardPort = Annotated[str, typer.Option(
    "--dashboard-port", metavar="PORT", envvar="USERPIPE_DASHBOARD_PORT",
    help="Port of the dashboard page (a busy one falls back to a free port).")]


def run(
    cron: Cron = "*/1 * * * *",
    batch_size: BatchSize = "10",
    once: Once = False,
    api_url: ApiUrl = None,
    nat: Nat = None,
    wait: Wait = False,
    max_cycles: MaxCycles = None,
    plain: Plain = False,
    time_limit: TimeLimit = None,
    full_checks_every: FullChecksEvery = DEFAULT_FULL_CHECKS_EVERY,
    no_dashboard: NoDashboard = False,
    dashboard_port: DashboardPort = "3000",
) -> None:
    """Run ingest -> dbt build -> checks now and on every tick of --cron, with a live view of the KPIs.

    Ctrl-C or SIGTERM stops after the current step (a second Ctrl-C forces it); every cycle is recorded in
    ops.pipeline_runs. Two runners (or a runner and Kestra) never overlap: the second skips, or waits with --wait.
    """
    from userpipe import warehouse
    from userpipe.commands.dashboard import parse_port
    from userpipe.cycle import CycleRunner, CycleSettings, StopRequest, ingest_time_limit, overrun_notice, run_loop
    from userpipe.schedule import Schedule

    if max_cycles is not None and max_cycles < 1:
        raise UserpipeError(f"--max-cycles must be at least 1, got {max_cycles}")
    schedule = Schedule(cron)
    port = None if no_dashboard else parse_port(dashboard_port, "--dashboard-port")
    settings = CycleSettings(batch_size=parse_batch_size(batch_size), nat=check_nationalities(nat),
                             api_url=check_api_url(api_url), trigger="manual" if once else "local",
                             wait_for_lock=wait, full_checks_every=full_checks_every,
                             ingest_time_limit=parse_time_limit(time_limit) or ingest_time_limit(schedule))
    warehouse.check_settings()  # a malformed database URL or home fails here, not in every cycle
    stop = StopRequest()
    with stop.on_signals(), CycleRunner(settings, stop=stop) as runner, _dashboard(runner, port) as dashboard_url:
        view = _view(settings, schedule, runner, plain, dashboard_url)

        def cycle_finished(record: Any, next_at: Any) -> None:
            view.cycle_finished(record, _kpis(runner), next_at)
            notice = overrun_notice(record, schedule)
            if notice and next_at is not None:
                typer.echo(notice, err=True)

        try:
            records = run_loop(
                runner, schedule, on_cycle=cycle_finished,
                on_start=view.cycle_started, on_wait=view.waiting, max_cycles=1 if once else max_cycles,
            )
        finally:
            view.close()
    if stop:
        typer.echo(f"stopped by {stop.reason} after {len(records)} cycle(s)", err=True)
    if once and records[-1].status != "success":
        raise UserpipeError(f"cycle {records[-1].run_id} {records[-1].status}: {records[-1].error}")


def parse_batch_size(value: str) -> int:
    from userpipe.cycle import MAX_BATCH_SIZE, MIN_BATCH_SIZE

    try:
        size = int(value)
    except ValueError:
        raise UserpipeError(f"--batch-size must be a whole number between {MIN_BATCH_SIZE} and "
                            f"{MAX_BATCH_SIZE:,}, got {value!r}") from None
    if not MIN_BATCH_SIZE <= size <= MAX_BATCH_SIZE:
        raise UserpipeError(f"--batch-size must be between {MIN_BATCH_SIZE} and {MAX_BATCH_SIZE:,} "
                            f"(pages of 5,000), got {size}")
    return size


def parse_time_limit(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise UserpipeError(f"--time-limit must be a number of seconds, got {value!r}") from None
    if not 0 < seconds < float("inf"):
        raise UserpipeError(f"--time-limit must be more than 0 seconds, got {value!r}")
    return seconds


def check_api_url(value: str | None) -> str | None:
    if value is None:
        return None
    from ingestion.randomuser.helpers import parse_api_url

    return parse_api_url(value)


def check_nationalities(value: str | None) -> str | None:
    if value is None:
        return None
    from ingestion.randomuser.helpers import parse_nationalities

    return ",".join(parse_nationalities(value))


@contextlib.contextmanager
def _dashboard(runner: Any, port: int | None) -> Iterator[str | None]:
    """The dashboard page in a background thread while the loop runs (None when skipped or not startable)."""
    if port is None:
        yield None
        return
    from userpipe.dashboard import start_dashboard

    try:
        running = start_dashboard(runner.database_url, port=port)
    except UserpipeError as exc:  # the page is optional: the cycles run without it
        typer.echo(f"dashboard not started: {exc}", err=True)
        yield None
        return
    if running.notice:
        typer.echo(running.notice, err=True)
    typer.echo(f"dashboard: {running.url}")
    try:
        yield running.url
    finally:
        running.stop()


def _view(settings: Any, schedule: Any, runner: Any, plain: bool, dashboard_url: str | None = None) -> Any:
    from userpipe import live

    header = (f"userpipe run - cron '{schedule.expression}', {settings.batch_size} users per cycle, "
              f"ingest time limit {settings.ingest_time_limit:g} s, API {runner.api_url}"
              + (f", dashboard {dashboard_url}" if dashboard_url else ""))
    return live.choose_view(header, history=_history(runner), plain=True if plain else None,
                            read_kpis=lambda: _kpis(runner))


def _history(runner: Any) -> list[Any]:
    """The last recorded cycles, to fill the live view from the start (empty when unreadable)."""
    from userpipe import runs, status, warehouse

    try:
        with warehouse.connect(runner.database_url) as conn:
            return runs.recent(conn) if status.exists(conn, "ops.pipeline_runs") else []
    except Exception as exc:  # the view is optional; the cycle will report a database problem itself
        log.info("no cycle history: %s", exc)
        return []


def _kpis(runner: Any) -> dict[str, Any] | None:
    from userpipe import status, warehouse

    try:
        with warehouse.connect(runner.database_url) as conn:
            return status.read_kpis(conn)
    except Exception as exc:  # KPIs are display only
        log.info("KPIs unavailable: %s", exc)
        return None

