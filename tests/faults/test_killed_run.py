"""`userpipe run` killed (kill -9) mid-cycle, in each step in turn: in its ingest (the API holds the page), in its
transform (dbt waits for incoming_users' lock) and in its checks (ops.check_results is locked). Each next cycle
finds the cycle lock free and records the killed one as failed (not left `running`); one clean cycle later the
warehouse is consistent."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import psycopg

from randomuser_api import Fault
from tests.faults.conftest import rows, start_userpipe, userpipe, value, wait_for
from tests.faults.holds import (
    HOLD_WAIT_SECONDS,
    hold_advisory,
    hold_table,
    kill,
    wait_sessions_gone,
    waiting_on_advisory,
    waiting_on_table,
)
from tests.faults.invariants import assert_consistent, assert_recorded_failed, served_uuids
from tests.fixtures.api import FaultyApiFactory
from userpipe import runs

BATCH = 20


def cycle_args(api_url: str) -> tuple[str, ...]:
    return "run", "--once", "--no-dashboard", "--plain", "-n", str(BATCH), "--api-url", api_url


def cycles(url: str) -> list[tuple[object, ...]]:
    """(run_id, status, error) of every cycle, oldest first."""
    return rows(url, "select run_id, status, error from ops.pipeline_runs order by started_at")


def kill_when(api_url: str, at: Callable[[], bool], what: str) -> None:
    """Start a cycle and kill -9 it once `at()` holds."""
    cycle: subprocess.Popen[str] = start_userpipe(*cycle_args(api_url))
    try:
        wait_for(at, what, HOLD_WAIT_SECONDS)
    finally:
        kill(cycle)


def left_running(url: str) -> str:
    """The killed cycle's run_id, once its sessions ended (the test has let go of its hold): its row is left
    `running`, and the cycle before it (if any) was found abandoned and recorded failed when it started."""
    wait_sessions_gone(url)
    recorded = cycles(url)
    run_id, status, _ = recorded[-1]
    assert status == "running", recorded[-1]
    if len(recorded) > 1:
        assert_recorded_failed(url, str(recorded[-2][0]), "abandoned")
    return str(run_id)


def cycle_lock_free(url: str) -> bool:
    """Nobody holds the cycle lock in this database (a bigint key: its high and low 32 bits)."""
    return not value(url, "select count(*) from pg_locks where locktype = 'advisory' and classid = %s "
                          "and objid = %s and database = (select oid from pg_database "
                          "where datname = current_database())",
                     (runs.CYCLE_LOCK_KEY >> 32, runs.CYCLE_LOCK_KEY & 0xFFFFFFFF))


def test_a_run_killed_in_each_step_is_recorded_failed_and_the_next_cycle_recovers(
        database_url: str, faulty_api: FaultyApiFactory) -> None:
    from quality import results

    api = faulty_api([Fault("slow", times=1, delay=60.0)])
    kill_when(api.url, lambda: api.faults.to_json()["faults"][0]["remaining"] == 0,
              "the cycle's page request to reach the API")
    killed = [left_running(database_url)]
    assert value(database_url, "select to_regclass('raw.users')") is None  # nothing landed

    with hold_advisory(database_url):
        kill_when(api.url, lambda: waiting_on_advisory(database_url), "dbt to wait for incoming_users' lock")
    killed.append(left_running(database_url))
    assert value(database_url, "select to_regclass('public.incoming_users')") is None

    with psycopg.connect(database_url, autocommit=True) as conn:
        results.ensure_table(conn)  # the table exists before the checks write to it: the test may lock it
    with hold_table(database_url, "ops.check_results"):
        kill_when(api.url, lambda: waiting_on_table(database_url, "ops.check_results"),
                  "the checks to wait for ops.check_results")
    killed.append(left_running(database_url))
    assert cycle_lock_free(database_url)

    recovery = userpipe(*cycle_args(api.url))

    assert recovery.returncode == 0, recovery.stdout + recovery.stderr
    for run_id in killed:
        assert_recorded_failed(database_url, run_id, "abandoned")
    assert [status for _, status, _ in cycles(database_url)] == ["failed", "failed", "failed", "success"]
    assert value(database_url, "select count(*) from ops.check_results where run_id = %s", (killed[-1],)) == 0
    (seed,), = rows(database_url, "select distinct request_seed from raw.users")
    pages = [page for (page,) in rows(database_url, "select distinct request_page from raw.users order by 1")]
    assert pages == [1, 2, 3]  # the transform's and the checks' killed cycles had landed theirs
    assert_consistent(database_url, set().union(*(served_uuids(str(seed), BATCH, page) for page in (1, 2, 3))))
