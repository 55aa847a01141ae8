"""ops.pipeline_runs and the cycle lock, on a real PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

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
