"""PostgreSQL killed (kill -9 of the postmaster) while `userpipe ingest` loads: the ingest prints exactly one
line on stderr, its `error:` (dlt's tracebacks go to $USERPIPE_HOME/logs/ingest.log), and after a restart the
next ingest takes the half-done load back and lands the whole batch once."""

from __future__ import annotations

import os
import signal

import psycopg

from tests.faults.conftest import INCOMPLETE_ROWS, start_userpipe, userpipe, value, wait_for
from tests.faults.invariants import assert_consistent, served_uuids
from tests.faults.processes import alive
from tests.faults.test_killed_ingest import BATCH, HOLD_KEY, HOLD_SQL, ONE_AT_A_TIME, waiting_on_hold
from userpipe import warehouse


def test_postgres_killed_mid_load_is_one_line_and_the_next_ingest_lands_the_batch(
        own_server: warehouse.EmbeddedPostgres) -> None:
    url = os.environ[warehouse.DATABASE_URL_ENV]
    assert userpipe("ingest", "-n", "10", "--seed", "before").returncode == 0
    holder = psycopg.connect(url, autocommit=True)
    holder.execute("select pg_advisory_lock(%s)", (HOLD_KEY,))
    holder.execute(HOLD_SQL)
    ingest = start_userpipe("ingest", "-n", str(BATCH), "--seed", "killed",
                            env={**ONE_AT_A_TIME, "LOAD__RAISE_ON_MAX_RETRIES": "1"})
    try:
        wait_for(lambda: waiting_on_hold(url), "the second COPY to wait on the test's lock")
        postmaster = own_server._postmaster_pid()
        assert postmaster is not None
        os.kill(postmaster, signal.SIGKILL)
        wait_for(lambda: not alive(postmaster), "the postmaster to die", timeout=60)
        _, stderr = ingest.communicate(timeout=300)
    finally:
        if ingest.poll() is None:
            ingest.kill()
        holder.close()

    assert ingest.returncode == 1
    assert len(stderr.splitlines()) == 1, stderr  # was: dlt's tracebacks and our warnings first
    assert stderr.startswith("error: dlt load step failed, nothing landed but rows the load "), stderr
    assert "taken back at the next ingest" in stderr
    log_file = warehouse.home() / "logs" / "ingest.log"
    assert f"(dlt's log: {log_file})" in stderr
    assert "Traceback" in log_file.read_text()  # dlt's account is kept there

    own_server.start()
    assert value(url, INCOMPLETE_ROWS) == BATCH // 2  # the first COPY committed; unseen downstream
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop trigger hold_second_copy on raw.users")
    rerun = userpipe("ingest", "-n", str(BATCH), "--seed", "killed")
    assert rerun.returncode == 0, rerun.stderr
    assert f"{BATCH} users fetched, {BATCH} landed, {BATCH} new" in rerun.stdout
    assert userpipe("transform").returncode == 0
    assert_consistent(url, served_uuids("killed", BATCH) | served_uuids("before", 10))


def test_postgres_killed_mid_load_of_a_cycle_prints_no_traceback(own_server: warehouse.EmbeddedPostgres) -> None:
    """`userpipe run --once`: every insert into raw.users held, so the cycle's one COPY is under way when the
    server is killed."""
    url = os.environ[warehouse.DATABASE_URL_ENV]
    assert userpipe("ingest", "-n", "10", "--seed", "before").returncode == 0
    holder = psycopg.connect(url, autocommit=True)
    holder.execute("select pg_advisory_lock(%s)", (HOLD_KEY,))
    holder.execute(HOLD_SQL.replace("exists (select 1 from raw.users where request_seed = 'killed')", "true"))
    cycle = start_userpipe("run", "--once", "--plain", "--no-dashboard", "-n", "5000",
                           env={**ONE_AT_A_TIME, "LOAD__RAISE_ON_MAX_RETRIES": "1"})
    try:
        wait_for(lambda: waiting_on_hold(url), "the cycle's COPY to wait on the test's lock")
        postmaster = own_server._postmaster_pid()
        assert postmaster is not None
        os.kill(postmaster, signal.SIGKILL)
        stdout, stderr = cycle.communicate(timeout=300)
    finally:
        if cycle.poll() is None:
            cycle.kill()
        holder.close()

    assert cycle.returncode == 1, stdout + stderr
    assert "Traceback" not in stdout + stderr, stdout + stderr
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith("error: cycle ") and "ingest failed: dlt load step failed" in lines[-1], stderr
    # besides it, only the cycle's own word that its record waits for the database (userpipe.cycle)
    assert all("WARNING userpipe.cycle: " in line and "recorded once the database is back" in line
               for line in lines[:-1]), stderr
    assert "failed" in stdout and "ingest failed: dlt load step failed" in stdout
