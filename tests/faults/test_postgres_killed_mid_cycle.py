"""PostgreSQL killed (SIGKILL of its postmaster) while a `userpipe run` cycle is in its transform, then while one
is in its checks: each cycle fails with one `error:` line; the next cycle, once the server is back, records it
as failed with that reason (the killed server could not take it; `userpipe run --once` had exited), and one clean
cycle later the warehouse is consistent. (Killed during an ingest's load: another test.)"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable

import psycopg
import pytest

from tests.faults.conftest import rows, start_userpipe, userpipe, wait_for
from tests.faults.holds import CHAIN_LOCK, HOLD_WAIT_SECONDS, postmaster_pid, waiting_on_advisory, waiting_on_table
from tests.faults.invariants import assert_consistent, assert_recorded_failed, served_uuids
from userpipe import warehouse

BATCH = 20
CYCLE = ("run", "--once", "--no-dashboard", "--plain", "-n", str(BATCH))


@pytest.fixture
def url(own_server: warehouse.EmbeddedPostgres) -> str:
    return os.environ[warehouse.DATABASE_URL_ENV]


def kill_server_when(server: warehouse.EmbeddedPostgres, at: Callable[[], bool], what: str) -> str:
    """Start a cycle, SIGKILL the postmaster once `at()` holds; the cycle's stderr once it ended."""
    cycle: subprocess.Popen[str] = start_userpipe(*CYCLE)
    try:
        wait_for(at, what, HOLD_WAIT_SECONDS)
        os.kill(postmaster_pid(server.pgdata), signal.SIGKILL)
        _, stderr = cycle.communicate(timeout=HOLD_WAIT_SECONDS)
    finally:
        if cycle.poll() is None:
            cycle.kill()
            cycle.wait(timeout=60)
    assert cycle.returncode == 1, stderr
    return stderr


def assert_one_error_line(stderr: str, says: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cycle "), stderr
    assert says in lines[0], lines[0]


def holding(url: str, *statements: str) -> psycopg.Connection:
    """A connection of the test's that ran `statements` (a lock it holds until the server dies)."""
    holder = psycopg.connect(url)
    for statement in statements:
        holder.execute(statement)
    return holder


def newest_cycle(url: str) -> tuple[object, ...]:
    return rows(url, "select run_id, status from ops.pipeline_runs order by started_at desc limit 1")[0]


def test_postgres_killed_in_a_cycles_transform_then_in_its_checks(
        own_server: warehouse.EmbeddedPostgres, url: str) -> None:
    from quality import results

    holder = holding(url, CHAIN_LOCK)
    try:
        stderr = kill_server_when(own_server, lambda: waiting_on_advisory(url), "dbt to wait for incoming_users' lock")
    finally:
        holder.close()
    assert_one_error_line(stderr, "transform failed")
    own_server.start()
    in_transform, status = newest_cycle(url)
    assert status == "running"  # the server was gone when the cycle ended: the next cycle records it

    with psycopg.connect(url, autocommit=True) as conn:
        results.ensure_table(conn)
    holder = holding(url, "lock table ops.check_results in access exclusive mode")
    try:
        stderr = kill_server_when(own_server, lambda: waiting_on_table(url, "ops.check_results"),
                                  "the checks to wait for ops.check_results")
    finally:
        holder.close()
    assert_one_error_line(stderr, "check")
    own_server.start()
    in_checks, _ = newest_cycle(url)
    assert_recorded_failed(url, str(in_transform), "transform failed: dbt build could not run")

    recovery = userpipe(*CYCLE)

    assert recovery.returncode == 0, recovery.stdout + recovery.stderr
    assert_recorded_failed(url, str(in_checks), "check failed")
    assert [status for (status,) in rows(url, "select status from ops.pipeline_runs order by started_at")] == [
        "failed", "failed", "success"]
    (seed,), = rows(url, "select distinct request_seed from raw.users")
    pages = [page for (page,) in rows(url, "select distinct request_page from raw.users order by 1")]
    assert pages == [1, 2, 3]  # each killed cycle had landed its batch before the server went
    assert_consistent(url, set().union(*(served_uuids(str(seed), BATCH, page) for page in (1, 2, 3))))
