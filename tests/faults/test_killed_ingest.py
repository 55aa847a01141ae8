"""An ingest killed (kill -9) or failed between the COPYs of its load: nothing of its batch is seen downstream,
the next ingest takes it back, and a re-run of the same seed lands the whole batch once."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest

from ingestion import recovery
from ingestion.randomuser import settings
from tests.faults.conftest import INCOMPLETE_ROWS, rows, start_userpipe, userpipe, value, wait_for
from userpipe import warehouse

HOLD_KEY = 731_013  # the advisory lock the test holds to stop the load before its second file
BATCH = 10_000  # two pages, so two load files of 5,000 rows (settings.LOAD_FILES)
ONE_AT_A_TIME = {"LOAD__WORKERS": "1"}  # dlt loads the two files one after the other
HOLD_SQL = f"""
create function public.hold_second_copy() returns trigger language plpgsql as $$
begin
    if exists (select 1 from raw.users where request_seed = 'killed') then
        perform pg_advisory_xact_lock({HOLD_KEY});
    end if;
    return null;
end $$;
create trigger hold_second_copy before insert on raw.users
    for each statement execute function public.hold_second_copy();"""
"""Makes every COPY into raw.users after the first of seed `killed` wait on advisory lock HOLD_KEY."""


@pytest.fixture
def held_second_copy(database_url: str) -> Iterator[psycopg.Connection]:
    """raw.users exists (a first batch, transformed); the second COPY of seed `killed` waits on a lock the
    test holds on the yielded connection (close it to let go); the trigger is gone after the test."""
    assert userpipe("ingest", "-n", "10", "--seed", "before").returncode == 0
    assert userpipe("transform").returncode == 0
    holder = psycopg.connect(database_url, autocommit=True)
    holder.execute("select pg_advisory_lock(%s)", (HOLD_KEY,))
    holder.execute(HOLD_SQL)
    try:
        yield holder
    finally:
        holder.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("set lock_timeout = '60s'")
            conn.execute("drop trigger if exists hold_second_copy on raw.users")


def waiting_on_hold(url: str) -> bool:
    return bool(value(url, "select count(*) from pg_locks where locktype = 'advisory' and not granted "
                           "and objid = %s", (HOLD_KEY,)))


def let_go(holder: psycopg.Connection, url: str) -> None:
    """Release the hold and remove the trigger (once the held COPY has ended)."""
    holder.execute("select pg_advisory_unlock(%s)", (HOLD_KEY,))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set lock_timeout = '60s'")
        conn.execute("drop trigger hold_second_copy on raw.users")


def seen_downstream(url: str, seed: str) -> int:
    return int(value(url, "select count(*) from public.incoming_users as i join raw.users as r "
                          "on r.uuid = i.user_id where r.request_seed = %s", (seed,)))


def leftovers() -> list[str]:
    dlt_dir = warehouse.home() / "dlt"
    markers = dlt_dir / settings.PIPELINE_NAME / recovery.MARKER_DIR
    found = [path.name for path in dlt_dir.glob(f"{settings.PAGE_FOLDER_PREFIX}*")]
    return found + ([path.name for path in markers.iterdir()] if markers.is_dir() else [])


def assert_rerun_lands_the_whole_batch(url: str) -> None:
    rerun = userpipe("ingest", "-n", str(BATCH), "--seed", "killed")

    assert rerun.returncode == 0, rerun.stderr
    assert f"{BATCH} users fetched, {BATCH} landed, {BATCH} new" in rerun.stdout
    assert value(url, INCOMPLETE_ROWS) == 0
    assert value(url, "select count(*) from raw.users where request_seed = 'killed'") == BATCH
    assert rows(url, "select count(*), count(distinct uuid) from raw.users") == [(BATCH + 10, BATCH + 10)]
    assert leftovers() == []
    assert userpipe("transform").returncode == 0
    assert value(url, "select count(*) from public.incoming_users") == BATCH + 10


def test_an_ingest_killed_after_its_first_copy_is_unseen_then_taken_back_and_lands_whole_on_rerun(
        database_url: str, held_second_copy: psycopg.Connection) -> None:
    ingest = start_userpipe("ingest", "-n", str(BATCH), "--seed", "killed", env=ONE_AT_A_TIME)
    try:
        wait_for(lambda: waiting_on_hold(database_url), "the second COPY to wait on the test's lock")
        assert value(database_url, INCOMPLETE_ROWS) == BATCH // 2  # the first file is committed
    finally:
        ingest.kill()
        ingest.wait(timeout=60)
    let_go(held_second_copy, database_url)
    assert value(database_url, INCOMPLETE_ROWS) == BATCH // 2

    transform = userpipe("transform")

    assert transform.returncode == 0, transform.stdout + transform.stderr
    assert seen_downstream(database_url, "killed") == 0
    assert value(database_url, "select count(*) from public.incoming_users") == 10
    assert_rerun_lands_the_whole_batch(database_url)


def test_a_load_whose_undo_fails_says_so_and_the_next_ingest_takes_it_back(
        database_url: str, pg_admin_url: str, held_second_copy: psycopg.Connection) -> None:
    admin = psycopg.connect(pg_admin_url, autocommit=True)
    database = urlsplit(database_url).path.lstrip("/")
    ingest = start_userpipe("ingest", "-n", str(BATCH), "--seed", "killed",
                            env={**ONE_AT_A_TIME, "LOAD__RAISE_ON_MAX_RETRIES": "1"})
    try:
        wait_for(lambda: waiting_on_hold(database_url), "the second COPY to wait on the test's lock")
        # the database goes away under the load: its connections end and no new one is let in (the undo's)
        admin.execute(f'alter database "{database}" with allow_connections false')
        admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> %s",
                      (database, held_second_copy.info.backend_pid))
        _, stderr = ingest.communicate(timeout=300)
    finally:
        if ingest.poll() is None:
            ingest.kill()
        admin.execute(f'alter database "{database}" with allow_connections true')
        admin.close()
    let_go(held_second_copy, database_url)

    assert ingest.returncode == 1
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == [stderr.splitlines()[-1]], stderr  # one error line, the last (dlt logs its job's failure)
    assert "nothing landed but rows the load" in errors[0] and "taken back at the next ingest" in errors[0]
    assert value(database_url, INCOMPLETE_ROWS) == BATCH // 2
    assert userpipe("transform").returncode == 0
    assert seen_downstream(database_url, "killed") == 0
    assert_rerun_lands_the_whole_batch(database_url)


def test_the_batch_lock_keeps_a_second_ingest_from_undoing_a_running_one(
        database_url: str, held_second_copy: psycopg.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest = start_userpipe("ingest", "-n", str(BATCH), "--seed", "killed", env=ONE_AT_A_TIME)
    try:
        wait_for(lambda: waiting_on_hold(database_url), "the second COPY to wait on the test's lock")
        monkeypatch.setattr(recovery, "LOCK_WAIT_SECONDS", 0.5)
        from ingestion.pipeline import ingest as ingest_batch
        from ingestion.randomuser.helpers import IngestError
        with pytest.raises(IngestError, match="another ingest is running"):
            ingest_batch(10, seed="second")
        assert value(database_url, INCOMPLETE_ROWS) == BATCH // 2  # not undone under the running load
        held_second_copy.execute("select pg_advisory_unlock(%s)", (HOLD_KEY,))
        stdout, stderr = ingest.communicate(timeout=300)
    finally:
        if ingest.poll() is None:
            ingest.kill()
    assert ingest.returncode == 0, stderr
    assert f"{BATCH} landed, {BATCH} new" in stdout
    assert value(database_url, INCOMPLETE_ROWS) == 0
    assert value(database_url, "select count(*) from raw.users where request_seed = 'killed'") == BATCH
