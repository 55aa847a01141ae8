"""`ops.pipeline_runs` (one row per cycle) and the advisory lock that keeps cycles from overlapping.

A cycle holds `pg_try_advisory_lock(CYCLE_LOCK_KEY)` on a connection of its own from start to end, so two
`userpipe run` loops (or a loop and a Kestra execution) never run steps at the same time. A Kestra
execution spreads its steps over several containers, so it cannot hold a session lock throughout: its ingest
task takes the lock, writes its row as `running`, and that row is a lease that local runners respect until it
is closed or older than `KESTRA_LEASE`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg.rows import dict_row

from userpipe import errors, warehouse

log = logging.getLogger(__name__)

TRIGGERS = ("local", "kestra", "manual")
# `interrupted`: stopped on request (Ctrl-C, SIGTERM) before its steps were done; not a failure of the pipeline
STATUSES = ("running", "success", "failed", "interrupted", "skipped")
STATUS_CHECK = "pipeline_runs_status_check"
CYCLE_LOCK_KEY = int.from_bytes(b"userpipe", "big")  # the bytes of 'userpipe', a fixed bigint
SCHEMA_LOCK_KEY = CYCLE_LOCK_KEY + 1
KESTRA_LEASE = timedelta(minutes=10)
ERROR_MAX_CHARS = 500
UNRECORDED_DIR = "unrecorded_cycles"  # under USERPIPE_HOME: outcomes the database could not take yet

DDL = f"""
create schema if not exists ops;
create table if not exists ops.pipeline_runs (
    run_id text primary key,
    trigger text not null check (trigger in ({", ".join(f"'{t}'" for t in TRIGGERS)})),
    started_at timestamptz not null,
    ended_at timestamptz,
    status text not null constraint {STATUS_CHECK} check (status in ({", ".join(f"'{s}'" for s in STATUSES)})),
    ingest_seconds double precision,
    transform_seconds double precision,
    check_seconds double precision,
    users_fetched integer,
    users_new integer,
    error text
);
create index if not exists pipeline_runs_started_at_idx on ops.pipeline_runs (started_at desc);
"""


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_run_id(trigger: str) -> str:
    """A sortable, readable id: `<trigger>-<UTC timestamp>-<random>`."""
    return f"{trigger}-{utc_now():%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def one_line(text: str) -> str:
    """The text as one bounded line, fit for the `error` column."""
    return errors.one_line(text, ERROR_MAX_CHARS)


@dataclass
class RunRecord:
    """One row of ops.pipeline_runs."""

    run_id: str
    trigger: str
    started_at: datetime
    status: str = "running"
    ended_at: datetime | None = None
    ingest_seconds: float | None = None
    transform_seconds: float | None = None
    check_seconds: float | None = None
    users_fetched: int | None = None
    users_new: int | None = None
    error: str | None = None

    @classmethod
    def start(cls, trigger: str, run_id: str | None = None) -> RunRecord:
        if trigger not in TRIGGERS:
            raise ValueError(f"unknown trigger {trigger!r}")
        return cls(run_id=run_id or new_run_id(trigger), trigger=trigger, started_at=utc_now())

    def finish(self, status: str, error: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.status = status
        self.error = one_line(error) if error else None
        self.ended_at = utc_now()

    @property
    def seconds(self) -> float | None:
        """Wall time of the whole cycle, when it has ended."""
        return (self.ended_at - self.started_at).total_seconds() if self.ended_at else None

    def to_json(self) -> str:
        return json.dumps({name: value.isoformat() if isinstance(value, datetime) else value
                           for name, value in asdict(self).items()})

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        found = json.loads(text)
        for name in ("started_at", "ended_at"):
            if found.get(name):
                found[name] = datetime.fromisoformat(found[name])
        return cls(**found)


COLUMNS = [f.name for f in fields(RunRecord)]


def ensure_table(conn: psycopg.Connection) -> None:
    """Create ops.pipeline_runs if missing, or bring an older one's status list up to date (serialised, so
    concurrent first runs do not collide). ops.stream_state is created too, empty until a stream runs, so the
    dashboard's Live stream panels read "no stream yet" instead of failing on a missing table."""
    from ingestion.stream import STATE_DDL

    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        conn.execute(DDL)
        conn.execute(STATE_DDL)
        _update_status_check(conn)


def _update_status_check(conn: psycopg.Connection) -> None:
    """A table created by an older userpipe allows fewer statuses (no `interrupted`): widen its check."""
    row = conn.execute(
        "select pg_get_constraintdef(oid) from pg_constraint "
        "where conrelid = 'ops.pipeline_runs'::regclass and conname = %s",
        (STATUS_CHECK,),
    ).fetchone()
    if row is not None and all(f"'{status}'" in row[0] for status in STATUSES):
        return
    allowed = ", ".join(f"'{status}'" for status in STATUSES)
    conn.execute(f"alter table ops.pipeline_runs drop constraint if exists {STATUS_CHECK}, "
                 f"add constraint {STATUS_CHECK} check (status in ({allowed}))")


def save(conn: psycopg.Connection, record: RunRecord) -> None:
    """Insert or update the row of `record.run_id` with every field of `record`."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "run_id")
    conn.execute(
        f"insert into ops.pipeline_runs ({', '.join(COLUMNS)}) "
        f"values ({', '.join(['%s'] * len(COLUMNS))}) on conflict (run_id) do update set {updates}",
        [getattr(record, c) for c in COLUMNS],
    )


class UnrecordedCycles:
    """Outcomes of cycles the database could not take (it was down when they ended), kept as one JSON file each
    in `$USERPIPE_HOME/unrecorded_cycles/` until a later cycle, of this process or the next, writes them: a
    `userpipe run --once` whose database died exits before it is back."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder

    @property
    def folder(self) -> Path:
        return self._folder or warehouse.home() / UNRECORDED_DIR

    def keep(self, record: RunRecord) -> Path | None:
        """Write `record` down; None when that fails too (it is then kept in memory only)."""
        path = self.folder / f"{record.run_id}.json"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path.with_suffix(".tmp").write_text(record.to_json())
            path.with_suffix(".tmp").replace(path)
        except (OSError, errors.UserpipeError) as exc:
            log.warning("cannot keep the outcome of cycle %s in %s: %s", record.run_id, self.folder, exc)
            return None
        return path

    def records(self) -> list[RunRecord]:
        """Every outcome kept, oldest first (a file that cannot be read is skipped and left)."""
        try:
            paths = sorted(self.folder.glob("*.json"))
        except (OSError, errors.UserpipeError):
            return []
        kept = []
        for path in paths:
            try:
                kept.append(RunRecord.from_json(path.read_text()))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("skipping %s: %s", path, exc)
        return sorted(kept, key=lambda record: record.started_at)

    def forget(self, run_id: str) -> None:
        with contextlib.suppress(OSError, errors.UserpipeError):
            (self.folder / f"{run_id}.json").unlink(missing_ok=True)


def load(conn: psycopg.Connection, run_id: str) -> RunRecord | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"select {', '.join(COLUMNS)} from ops.pipeline_runs where run_id = %s",
            (run_id,),
        ).fetchone()
    return RunRecord(**row) if row else None


def last_success(conn: psycopg.Connection) -> datetime | None:
    """When the newest successful cycle started, None before the first."""
    row = conn.execute("select max(started_at) from ops.pipeline_runs where status = 'success'").fetchone()
    return row[0] if row else None


def recent(conn: psycopg.Connection, limit: int = 10) -> list[RunRecord]:
    """The latest runs, newest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"select {', '.join(COLUMNS)} from ops.pipeline_runs "
            "order by started_at desc limit %s",
            (limit,),
        ).fetchall()
    return [RunRecord(**row) for row in rows]


def close_abandoned(conn: psycopg.Connection, trigger: str, keep_run_id: str | None = None) -> int:
    """Mark `running` rows of `trigger` failed: called by the lock holder, so nobody else is running them."""
    result = conn.execute(
        "update ops.pipeline_runs set status = 'failed', ended_at = now(), "
        "error = coalesce(error, 'abandoned: the runner stopped before recording the end of the cycle') "
        "where status = 'running' and trigger = %s and run_id is distinct from %s",
        (trigger, keep_run_id),
    )
    return result.rowcount


def active_kestra_run(conn: psycopg.Connection, exclude_run_id: str | None = None) -> str | None:
    """The run_id of a Kestra execution still inside its cycle (its lease), if any."""
    row = conn.execute(
        "select run_id from ops.pipeline_runs where trigger = 'kestra' and status = 'running' "
        "and started_at > now() - %s and run_id is distinct from %s order by started_at desc limit 1",
        (KESTRA_LEASE, exclude_run_id),
    ).fetchone()
    return str(row[0]) if row else None


class CycleLock:
    """The cycle lock: a session advisory lock on a dedicated autocommit connection (also used for run rows)."""

    def __init__(self, url: str) -> None:
        self.conn = warehouse.connect(url, autocommit=True)
        self.held = False

    def try_acquire(self) -> bool:
        row = self.conn.execute("select pg_try_advisory_lock(%s)", (CYCLE_LOCK_KEY,)).fetchone()
        self.held = bool(row and row[0])
        return self.held

    def acquire(self, timeout_seconds: float | None = None, should_stop: Callable[[], bool] = lambda: False,
                poll_seconds: float = 0.25) -> bool:
        """Wait for the lock (polling, so a stop request is noticed); False on timeout or stop."""
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        while not self.try_acquire():
            if should_stop() or (deadline is not None and time.monotonic() >= deadline):
                return False
            time.sleep(poll_seconds)
        return True

    def release(self) -> None:
        if self.held and not self.conn.closed:
            with contextlib.suppress(psycopg.Error):  # a lost connection took the lock with it
                self.conn.execute("select pg_advisory_unlock(%s)", (CYCLE_LOCK_KEY,))
        self.held = False

    def close(self) -> None:
        self.release()
        self.conn.close()

    def __enter__(self) -> CycleLock:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
