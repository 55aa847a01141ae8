"""The original system's monitoring in one report: users, latest users, users per minute, cycles, freshness,
failed checks. Every part is optional: on a fresh database the report says what does not exist yet.

Failed checks are those since the last successful cycle (all of them before the first): once a cycle passes,
older failures are history (still in ops.check_results, counted in one line) rather than the current state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from userpipe import runs
from userpipe.runs import RunRecord

LATEST_USERS = 10
PER_MINUTE_WINDOW_MINUTES = 30
FAILED_CHECKS_SHOWN = 10
ERROR_MIN_WIDTH = 10  # the error column's width on a narrow terminal (the other columns keep theirs)


@dataclass
class Quarantine:
    """ops.quarantined_users: users kept out of incoming_users, in all and of the newest completed load."""

    total_users: int
    last_load_id: str | None = None
    last_batch_users: int = 0
    last_batch_rules: list[tuple[str, int]] = field(default_factory=list)  # rule -> users, most first


@dataclass
class StatusReport:
    """What `userpipe status` shows; None/empty where the table does not exist yet."""

    total_users: int | None = None
    latest_users: list[dict[str, Any]] = field(default_factory=list)
    users_per_minute: list[tuple[datetime, int]] = field(default_factory=list)
    cycles: list[RunRecord] = field(default_factory=list)
    last_landed_at: datetime | None = None
    freshness_seconds: float | None = None
    failed_checks: list[dict[str, Any]] = field(default_factory=list)
    last_success: datetime | None = None  # failed checks older than this are not listed, only counted
    older_failed_checks: int = 0
    kpis: dict[str, Any] | None = None
    quarantine: Quarantine | None = None
    missing: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.total_users and not self.cycles


def exists(conn: psycopg.Connection, relation: str) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()
    return bool(row and row[0])


def read_kpis(conn: psycopg.Connection) -> dict[str, Any] | None:
    """The one row of marts.kpis, or None when it is not built yet."""
    if not exists(conn, "marts.kpis"):
        return None
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("select * from marts.kpis limit 1").fetchone()


def collect(conn: psycopg.Connection, cycles: int = 10) -> StatusReport:
    """Read the whole report from the database behind `conn`."""
    report = StatusReport()
    if exists(conn, "public.incoming_users"):
        _read_users(conn, report)
    else:
        report.missing.append("public.incoming_users")
    if exists(conn, "raw.users"):
        row = conn.execute(
            "select max(fetched_at), extract(epoch from now() - max(fetched_at)) from raw.users"
        ).fetchone()
        if row and row[0] is not None:
            report.last_landed_at, report.freshness_seconds = row[0], float(row[1])
    else:
        report.missing.append("raw.users")
    if exists(conn, "ops.pipeline_runs"):
        report.cycles = runs.recent(conn, cycles)
        report.last_success = runs.last_success(conn)
    else:
        report.missing.append("ops.pipeline_runs")
    if exists(conn, "ops.check_results"):
        _read_failed_checks(conn, report)
    else:
        report.missing.append("ops.check_results")
    report.kpis = read_kpis(conn)
    if exists(conn, "ops.quarantined_users"):
        report.quarantine = read_quarantine(conn)
    return report


def read_quarantine(conn: psycopg.Connection) -> Quarantine:
    """The quarantine in all, and of the newest completed load (the last batch)."""
    row = conn.execute("select count(distinct user_id) from ops.quarantined_users").fetchone()
    found = Quarantine(total_users=int(row[0]) if row else 0)
    if exists(conn, "raw._dlt_loads"):
        load = conn.execute("select load_id from raw._dlt_loads where status = 0 "
                            "order by inserted_at desc, load_id desc limit 1").fetchone()
        if load is not None:
            found.last_load_id = str(load[0])
            row = conn.execute("select count(distinct user_id) from ops.quarantined_users where _dlt_load_id = %s",
                               (found.last_load_id,)).fetchone()
            found.last_batch_users = int(row[0]) if row else 0
            found.last_batch_rules = [(str(rule), int(users)) for rule, users in conn.execute(
                "select rule, count(*) from ops.quarantined_users where _dlt_load_id = %s "
                "group by rule order by count(*) desc, rule", (found.last_load_id,)).fetchall()]
    return found


def quarantine_text(quarantine: Quarantine) -> Text:
    """One line: quarantined users in all, of the last batch, and the rules the last batch broke."""
    text = f"Quarantined users (ops.quarantined_users, kept out of incoming_users): {quarantine.total_users} in all"
    if quarantine.last_load_id is not None:
        text += f", {quarantine.last_batch_users} of the last batch (load {quarantine.last_load_id})"
        if quarantine.last_batch_rules:
            text += ": " + ", ".join(f"{rule} {users}" for rule, users in quarantine.last_batch_rules)
    return Text(text, style="yellow" if quarantine.total_users else "")


def _read_failed_checks(conn: psycopg.Connection, report: StatusReport) -> None:
    since = report.last_success
    with conn.cursor(row_factory=dict_row) as cur:
        report.failed_checks = cur.execute(
            "select run_id, check_name, source, status, failing_rows, observed_value, checked_at "
            "from ops.check_results where status in ('fail', 'error') "
            "and (%(since)s::timestamptz is null or checked_at > %(since)s) "
            "order by checked_at desc limit %(limit)s",
            {"since": since, "limit": FAILED_CHECKS_SHOWN},
        ).fetchall()
    if since is not None:
        row = conn.execute("select count(*) from ops.check_results where status in ('fail', 'error') "
                           "and checked_at <= %s", (since,)).fetchone()
        report.older_failed_checks = int(row[0]) if row else 0


def _read_users(conn: psycopg.Connection, report: StatusReport) -> None:
    row = conn.execute("select count(*) from public.incoming_users").fetchone()
    report.total_users = int(row[0]) if row else 0
    with conn.cursor(row_factory=dict_row) as cur:
        report.latest_users = cur.execute(
            "select user_id, first_name, last_name, country, nationality, age, created_at "
            "from public.incoming_users order by created_at desc limit %s",
            (LATEST_USERS,),
        ).fetchall()
    report.users_per_minute = [
        (minute, int(count))
        for minute, count in conn.execute(
            "select date_trunc('minute', created_at) as minute, count(*) from public.incoming_users "
            "where created_at >= (now() at time zone 'UTC') - make_interval(mins => %s) "
            "group by 1 order by 1",
            (PER_MINUTE_WINDOW_MINUTES,),
        ).fetchall()
    ]


# -- rendering ------------------------------------------------------------------------------------------


def seconds_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def cycles_table(cycles: list[RunRecord], title: str = "Last cycles (UTC; users new/fetched; seconds per step)",
                 wrap_errors: bool = True) -> Table:
    """The cycles, newest first. Only the `error` column gives way to the terminal's width (the others never
    wrap nor shrink): folded over several lines when `wrap_errors`, else cut to one line ending in `…`."""
    table = Table(title=title, title_justify="left", expand=False, box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    for column in ("started", "trigger", "status", "users", "ingest", "dbt", "check", "total"):
        table.add_column(column, no_wrap=True)
    # a wrappable column is the one rich narrows first; a cell that must stay one line says so itself
    table.add_column("error", overflow="fold", min_width=ERROR_MIN_WIDTH)
    styles = {"success": "green", "failed": "red", "interrupted": "magenta", "skipped": "yellow", "running": "cyan"}
    for run in cycles:
        users = "-" if run.users_fetched is None else f"{run.users_new}/{run.users_fetched}"
        table.add_row(
            f"{run.started_at:%H:%M:%S}", run.trigger, Text(run.status, style=styles.get(run.status, "")),
            users, _number(run.ingest_seconds), _number(run.transform_seconds), _number(run.check_seconds),
            _number(run.seconds),
            Text(run.error or "") if wrap_errors else Text(run.error or "", no_wrap=True, overflow="ellipsis"),
        )
    return table


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def kpis_table(kpis: dict[str, Any] | None) -> RenderableType:
    if kpis is None:
        return Text("KPIs: marts.kpis is not built yet (it appears after the first successful cycle)", style="dim")
    table = Table(title="KPIs (marts.kpis)", title_justify="left")
    labels = {"total_users": "Total users", "users_last_minute": "Users last minute",
              "unique_countries": "Unique countries", "average_age": "Average age",
              "freshness_lag_seconds": "Freshness lag (s)", "last_landed_at": "Last landed"}
    for key in labels:
        if key in kpis:
            table.add_column(labels[key], justify="right")
    table.add_row(*[_kpi_text(kpis[key]) for key in labels if key in kpis])
    return table


def _kpi_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return f"{value:%H:%M:%S}"
    if isinstance(value, int | float | Decimal):
        return str(int(value)) if value == int(value) else f"{float(value):.1f}"
    return str(value)


def render(report: StatusReport) -> RenderableType:
    """The report as rich renderables, most important first."""
    parts: list[RenderableType] = []
    if report.empty:
        parts.append(Text("No users and no cycles yet: run `userpipe run --once` (or `make run`) to start the "
                          "pipeline.", style="yellow"))
    if report.total_users is not None:
        parts.append(Text(f"Total users: {report.total_users}", style="bold"))
    if report.last_landed_at is not None:
        parts.append(Text(f"Freshness: last users landed {report.last_landed_at:%Y-%m-%d %H:%M:%S %Z} "
                          f"({report.freshness_seconds:.0f}s ago)"))
    parts.append(kpis_table(report.kpis))
    if report.quarantine is not None:
        parts.append(quarantine_text(report.quarantine))
    if report.latest_users:
        latest = Table(title=f"Latest {LATEST_USERS} users (by created_at)", title_justify="left")
        for column in ("created_at", "name", "country", "nat", "age", "user_id"):
            latest.add_column(column, no_wrap=column in ("created_at", "nat", "age"))
        for user in report.latest_users:
            latest.add_row(f"{user['created_at']:%m-%d %H:%M:%S}", f"{user['first_name']} {user['last_name']}",
                           str(user["country"]), str(user["nationality"]), str(user["age"]), str(user["user_id"]))
        parts.append(latest)
    if report.users_per_minute:
        per_minute = Table(title=f"Users per minute, last {PER_MINUTE_WINDOW_MINUTES} minutes (UTC)",
                           title_justify="left")
        per_minute.add_column("minute")
        per_minute.add_column("users", justify="right")
        for minute, count in report.users_per_minute:
            per_minute.add_row(f"{minute:%Y-%m-%d %H:%M}", str(count))
        parts.append(per_minute)
    if report.cycles:
        parts.append(cycles_table(report.cycles))
    since = (f"since the last successful cycle ({report.last_success:%Y-%m-%d %H:%M:%S %Z})"
             if report.last_success else "(no successful cycle yet)")
    if report.failed_checks:
        checks = Table(title=f"Failed checks {since}, latest {FAILED_CHECKS_SHOWN}", title_justify="left")
        for column in ("checked_at", "run_id", "source", "check", "status", "failing rows", "observed"):
            checks.add_column(column, overflow="fold")
        for check in report.failed_checks:
            checks.add_row(f"{check['checked_at']:%Y-%m-%d %H:%M:%S}", check["run_id"], check["source"],
                           check["check_name"], check["status"], str(check["failing_rows"] or "-"),
                           str(check["observed_value"] or ""))
        parts.append(checks)
    elif "ops.check_results" not in report.missing:
        parts.append(Text(f"Failed checks: none {since}", style="green"))
    if report.older_failed_checks:
        parts.append(Text(f"{report.older_failed_checks} failed check(s) before the last successful cycle are "
                          "history (ops.check_results)", style="dim"))
    if report.missing:
        parts.append(Text(f"Not created yet: {', '.join(report.missing)}", style="dim"))
    return Group(*parts)


def print_report(report: StatusReport, console: Console | None = None) -> None:
    (console or Console()).print(render(report))
