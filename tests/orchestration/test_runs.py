"""ops.pipeline_runs and the cycle lock, on a real PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from userpipe import runs
from userpipe.runs import CycleLock, RunRecord


@pytest.fixture()
def conn(database_url: str):
    with psycopg.connect(database_url, autocommit=True) as connection:
        runs.ensure_table(connection)
        yield connection


def test_table_is_created_once_and_records_round_trip(conn: psycopg.Connection) -> None:
    runs.ensure_table(conn)  # idempotent
    record = RunRecord.start("local")
    runs.save(conn, record)
    record.ingest_seconds, record.users_fetched, record.users_new = 1.25, 10, 9
    record.finish("failed", "transform failed: boom\nsecond line")
    runs.save(conn, record)  # an update, not a second row
    assert conn.execute("select count(*) from ops.pipeline_runs").fetchone() == (1,)
    loaded = runs.load(conn, record.run_id)
    assert loaded is not None
    assert (loaded.status, loaded.users_new, loaded.ingest_seconds) == ("failed", 9, 1.25)
    assert loaded.error == "transform failed: boom second line"
    assert loaded.ended_at is not None and loaded.seconds is not None and loaded.seconds >= 0
    assert [r.run_id for r in runs.recent(conn)] == [record.run_id]


def test_table_rejects_unknown_status_and_trigger(conn: psycopg.Connection) -> None:
    record = RunRecord.start("local")
    record.status = "exploded"
    with pytest.raises(psycopg.errors.CheckViolation):
        runs.save(conn, record)
    with pytest.raises(ValueError):
        RunRecord.start("cron")


def test_second_holder_cannot_take_the_lock_until_the_first_releases(database_url: str) -> None:
    with CycleLock(database_url) as first, CycleLock(database_url) as second:
        assert first.try_acquire()
        assert not second.try_acquire()
        started = time.monotonic()
        assert not second.acquire(timeout_seconds=0.3)
        assert time.monotonic() - started >= 0.3
        first.release()
        assert second.try_acquire()


def test_lock_dies_with_its_connection(database_url: str) -> None:
    crashed = CycleLock(database_url)
    assert crashed.try_acquire()
    crashed.conn.close()  # a runner killed with -9: its session ends, PostgreSQL frees the lock
    with CycleLock(database_url) as other:
        assert other.acquire(timeout_seconds=5)


def test_waiting_for_the_lock_ends_when_released_or_stopped(database_url: str) -> None:
    with CycleLock(database_url) as holder, CycleLock(database_url) as waiter:
        holder.try_acquire()
        threading.Timer(0.4, holder.release).start()
        assert waiter.acquire(timeout_seconds=10)
        waiter.release()
        holder.try_acquire()
        assert not waiter.acquire(timeout_seconds=None, should_stop=lambda: True)


def test_abandoned_rows_are_closed_and_kestra_leases_expire(conn: psycopg.Connection) -> None:
    stale_local = RunRecord.start("local")
    current = RunRecord.start("local")
    kestra = RunRecord.start("kestra", run_id="5FgJ2x")
    old_kestra = RunRecord.start("kestra", run_id="4abc")
    old_kestra.started_at -= runs.KESTRA_LEASE + timedelta(minutes=1)
    for record in (stale_local, current, kestra, old_kestra):
        runs.save(conn, record)
    assert runs.close_abandoned(conn, "local", keep_run_id=current.run_id) == 1
    closed = runs.load(conn, stale_local.run_id)
    assert closed is not None and closed.status == "failed" and "abandoned" in (closed.error or "")
    assert runs.load(conn, current.run_id).status == "running"  # type: ignore[union-attr]
    assert runs.active_kestra_run(conn) == "5FgJ2x"
    kestra.finish("success")
    runs.save(conn, kestra)
    assert runs.active_kestra_run(conn) is None  # the old one is past its lease


OLDER_DDL = """
create schema ops;
create table ops.pipeline_runs (
    run_id text primary key,
    trigger text not null check (trigger in ('local', 'kestra', 'manual')),
    started_at timestamptz not null,
    ended_at timestamptz,
    status text not null check (status in ('running', 'success', 'failed', 'skipped')),
    ingest_seconds double precision,
    transform_seconds double precision,
    check_seconds double precision,
    users_fetched integer,
    users_new integer,
    error text
);
"""


def test_a_table_made_by_an_older_userpipe_takes_the_interrupted_status(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(OLDER_DDL)
        kept = RunRecord.start("local")
        kept.finish("failed", "ingest failed: x")
        runs.save(conn, kept)
        runs.ensure_table(conn)
        stopped = RunRecord.start("local")
        stopped.finish("interrupted", "interrupted by SIGINT before transform")
        runs.save(conn, stopped)
        definition = conn.execute("select pg_get_constraintdef(oid) from pg_constraint "
                                  "where conname = %s", (runs.STATUS_CHECK,)).fetchone()
        runs.ensure_table(conn)  # up to date: nothing to change
        assert conn.execute("select pg_get_constraintdef(oid) from pg_constraint "
                            "where conname = %s", (runs.STATUS_CHECK,)).fetchone() == definition
        assert [(r.run_id, r.status) for r in runs.recent(conn)] == [(stopped.run_id, "interrupted"),
                                                                    (kept.run_id, "failed")]
        bogus = RunRecord.start("local")
        bogus.status = "exploded"
        with pytest.raises(psycopg.errors.CheckViolation):
            runs.save(conn, bogus)


def test_the_dashboards_last_status_panel_knows_every_status() -> None:
    board = json.loads((Path(__file__).parents[2] / "grafana/dashboards/realtime_user_analytics.json").read_text())
    panel = next(p for p in board["panels"] if p.get("title") == "Last Cycle Status")
    mapped = {status for mapping in panel["fieldConfig"]["defaults"]["mappings"] for status in mapping["options"]}
    assert mapped == set(runs.STATUSES)
