"""`ops.check_results`: one row per check per run, the gate's durable record (the dashboard reads it).

`scope` says what a check reads: `batch` (the newest batch, or catalog facts: every cycle) or `table` (a whole
table: the slow schedule and `userpipe check --full`, see `quality.scope`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

PASS = "pass"
FAIL = "fail"
WARN = "warn"
ERROR = "error"
SKIPPED = "skipped"
BATCH = "batch"
TABLE = "table"
FAILING_STATUSES = frozenset({FAIL, ERROR})
SOURCES = ("dbt", "gx", "quarantine")  # dbt tests, GX expectations, the quarantine rules (quality.quarantine)
SOURCE_CHECK = "check_results_source_check"

DDL = f"""
create schema if not exists ops;
create table if not exists ops.check_results (
    run_id text not null,
    check_name text not null,
    source text not null constraint {SOURCE_CHECK} check (source in ({", ".join(f"'{s}'" for s in SOURCES)})),
    status text not null check (status in ('pass', 'fail', 'warn', 'error', 'skipped')),
    failing_rows bigint,
    observed_value text,
    checked_at timestamptz not null default now(),
    scope text not null default 'batch' check (scope in ('batch', 'table')),
    primary key (run_id, source, check_name)
);
create index if not exists check_results_checked_at_idx on ops.check_results (checked_at desc);
"""
# Tables made before the scope column existed get it (checked first: ALTER TABLE locks out the readers).
SCOPE_COLUMN_DDL = """
alter table ops.check_results add column if not exists
    scope text not null default 'batch' check (scope in ('batch', 'table'))
"""
HAS_SCOPE_SQL = """
select 1 from pg_attribute
where attrelid = 'ops.check_results'::regclass and attname = 'scope' and not attisdropped
"""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: a dbt test or a GX expectation."""

    check_name: str
    source: str
    status: str
    failing_rows: int | None = None
    observed_value: str | None = None
    scope: str = BATCH

    @property
    def failed(self) -> bool:
        return self.status in FAILING_STATUSES


def ensure_table(conn: psycopg.Connection) -> None:
    """Create the `ops` schema and `ops.check_results` when missing (a table of an older userpipe gets its `scope`
    column, and its source check widened: its sources were dbt and gx only)."""
    conn.execute(DDL)
    if conn.execute(HAS_SCOPE_SQL).fetchone() is None:
        conn.execute(SCOPE_COLUMN_DDL)
    row = conn.execute("select pg_get_constraintdef(oid) from pg_constraint "
                       "where conrelid = 'ops.check_results'::regclass and conname = %s", (SOURCE_CHECK,)).fetchone()
    if row is None or not all(f"'{source}'" in row[0] for source in SOURCES):
        allowed = ", ".join(f"'{source}'" for source in SOURCES)
        conn.execute(f"alter table ops.check_results drop constraint if exists {SOURCE_CHECK}, "
                     f"add constraint {SOURCE_CHECK} check (source in ({allowed}))")


def store(conn: psycopg.Connection, run_id: str, results: Sequence[CheckResult], checked_at: datetime) -> None:
    """Record `results` for `run_id`, replacing that run's earlier rows (a re-run never duplicates)."""
    with conn.transaction():
        ensure_table(conn)
        conn.execute("delete from ops.check_results where run_id = %s", (run_id,))
        with conn.cursor() as cursor:
            cursor.executemany(
                "insert into ops.check_results"
                " (run_id, check_name, source, status, failing_rows, observed_value, checked_at, scope)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (run_id, r.check_name, r.source, r.status, r.failing_rows, r.observed_value, checked_at,
                     r.scope)
                    for r in results
                ],
            )
