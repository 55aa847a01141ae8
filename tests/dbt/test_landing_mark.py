"""incoming_users finds new raw rows by their landing mark (raw.users.landing_seq): a row committed after a later
one is still built, a load completed after the mark passed it is built by the next build, a backlog is built in
chunks by one plain `dbt build`, and builds with nothing new change nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from ingestion.pipeline import ingest
from randomuser_api import LocalApi
from tests.dbt import raw_rows
from tests.dbt.conftest import query, scalar
from userpipe import warehouse
from userpipe.transform import Transformer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOLD_KEY = 731_017  # the advisory lock a test holds to stop a dlt load before it is recorded complete
WAIT_SECONDS = 120
MART_TOTALS = {
    "users_by_country": "select sum(user_count) from marts.users_by_country",
    "users_by_gender": "select sum(user_count) from marts.users_by_gender",
    "users_by_age_band": "select sum(user_count) from marts.users_by_age_band",
    "users_by_nationality": "select sum(user_count) from marts.users_by_nationality",
    "ingestion_per_minute": "select sum(users_ingested) from marts.ingestion_per_minute",
    "ingestion_per_second": "select sum(users_ingested) from marts.ingestion_per_second",
    "kpis": "select total_users from marts.kpis",
}


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def held_users(url: str) -> int:
    return int(scalar(url, "select count(*) from public.incoming_users"))  # type: ignore[call-overload]


def assert_marts_add_up(url: str, users: int) -> None:
    assert held_users(url) == users
    assert {name: scalar(url, sql) for name, sql in MART_TOTALS.items()} == dict.fromkeys(MART_TOTALS, users)


def insert_users(conn: psycopg.Connection, load_id: str, count: int) -> None:
    """`count` hand-made users of load `load_id`, inserted on `conn` (in its transaction) as the stream does:
    the landing contract's columns named, landing_seq left to its default."""
    rows = []
    for _ in range(count):
        payload = raw_rows.user()
        rows.append((payload["login"]["uuid"], Jsonb(payload), datetime.now(UTC), "hand-made", 1, "1.4", load_id,
                     uuid.uuid4().hex))
    conn.cursor().executemany(
        "insert into raw.users (uuid, payload, fetched_at, request_seed, request_page, api_version, _dlt_load_id,"
        " _dlt_id) values (%s, %s, %s, %s, %s, %s, %s, %s)", rows)


def complete_load(conn: psycopg.Connection, load_id: str) -> None:
    conn.execute("insert into raw._dlt_loads (load_id, schema_name, status, inserted_at)"
                 " values (%s, 'randomuser', 0, now())", (load_id,))


def plain_dbt_build(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`dbt build` as Kestra's task runs it (dbt's own CLI, the repo's profiles.yml, userpipe kestra dbt-env)."""
    target = tmp_path / "plain-dbt"
    done = subprocess.run(
        [str(BIN / "dbt"), "build", "--project-dir", str(ROOT / "dbt_project"), "--profiles-dir", str(ROOT),
         "--target-path", str(target), "--log-path", str(target), *args],
        env=os.environ | warehouse.dbt_env(url), capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    return done


@pytest.fixture
def transformer(database_url: str, tmp_path: Path) -> Transformer:
    return Transformer(database_url=database_url, state_dir=tmp_path / "dbt")


@pytest.fixture
def started(database_url: str, transformer: Transformer, local_api: LocalApi) -> str:
    """A warehouse of 30 users landed by dlt and built (the build added raw.users.landing_seq)."""
    ingest(30, seed="mark-start", api_url=local_api.url, database_url=database_url)
    transformer.build()
    return database_url


def test_a_row_committed_after_a_later_one_is_still_built(started: str, tmp_path: Path) -> None:
    """A writer draws a lower landing_seq, a second one a higher one and commits first. The build's mark waits
    for the first writer (SHARE lock), so its row is built with the other, not skipped for good."""
    url = started
    early = psycopg.connect(url)
    try:
        insert_users(early, "early-load", 1)
        complete_load(early, "early-load")  # landed and registered, not committed yet
        with psycopg.connect(url) as later:
            insert_users(later, "later-load", 1)
            complete_load(later, "later-load")
        seqs = dict(query(url, "select _dlt_load_id, landing_seq from raw.users"
                               " where _dlt_load_id in ('early-load', 'later-load')"))
        assert list(seqs) == ["later-load"]  # the early row is not visible yet
        build = subprocess.Popen([str(BIN / "userpipe"), "transform"], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: bool(scalar(url, "select count(*) from pg_locks where relation = 'raw.users'::regclass"
                                              " and mode = 'ShareLock' and not granted")),
                     "the build's landing mark to wait for the open writer")
            early.commit()
            output, _ = build.communicate(timeout=WAIT_SECONDS)
        finally:
            if build.poll() is None:
                build.kill()
                build.wait()
        assert build.returncode == 0, output
    finally:
        early.close()
    seqs = dict(query(url, "select _dlt_load_id, landing_seq from raw.users"
                           " where _dlt_load_id in ('early-load', 'later-load')"))
    assert seqs["early-load"] < seqs["later-load"]  # type: ignore[operator]
    assert_marts_add_up(url, 32)


def test_a_load_completed_after_the_mark_passed_its_rows_is_built_by_the_next_build(
        started: str, transformer: Transformer) -> None:
    """A real dlt load is held after its rows committed, before its row in raw._dlt_loads (dlt writes that last).
    A build meanwhile builds the rows landed after it and remembers the load; once the load completes, the next
    build reads its rows, which lie below the mark."""
    url = started
    holder = psycopg.connect(url, autocommit=True)
    holder.execute("select pg_advisory_lock(%s)", (HOLD_KEY,))
    holder.execute(f"""
        create function public.hold_load_record() returns trigger language plpgsql as $$
        begin
            if new.load_id not like 'hand-%' then
                perform pg_advisory_xact_lock({HOLD_KEY});
            end if;
            return new;
        end $$;
        create trigger hold_load_record before insert on raw._dlt_loads
            for each row execute function public.hold_load_record();""")
    batch = subprocess.Popen([str(BIN / "userpipe"), "ingest", "-n", "40", "--seed", "mark-held"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: bool(scalar(url, "select count(*) from pg_locks where locktype = 'advisory'"
                                          " and not granted and objid = %s", (HOLD_KEY,))),
                 "the load's record to wait on the test's lock")
        assert scalar(url, "select count(*) from raw.users where request_seed = 'mark-held'") == 40
        with psycopg.connect(url) as conn:
            insert_users(conn, "hand-after", 5)
            complete_load(conn, "hand-after")

        held_back = transformer.build()

        assert held_back.success
        assert held_users(url) == 35  # the 5 landed after the held load, not its 40
        [(pending, low, high)] = query(url, "select load_id, first_seq, last_seq from staging.landing_pending_loads")
        assert (low, high) == tuple(query(url, "select min(landing_seq), max(landing_seq) from raw.users"
                                               " where request_seed = 'mark-held'")[0])
        assert high < scalar(url, "select built_through from staging.landing_marks")  # type: ignore[operator]
        holder.execute("select pg_advisory_unlock(%s)", (HOLD_KEY,))
        output, _ = batch.communicate(timeout=WAIT_SECONDS)
        assert batch.returncode == 0, output
    finally:
        if batch.poll() is None:
            batch.kill()
            batch.wait()
        holder.close()
    assert scalar(url, "select status from raw._dlt_loads where load_id = %s", (pending,)) == 0

    caught_up = transformer.build()

    assert caught_up.success and not caught_up.warnings
    assert_marts_add_up(url, 75)
    assert query(url, "select load_id from staging.landing_pending_loads") == []
    assert scalar(url, "select count(*) from raw.users where landing_seq is null") == 0


QUARANTINE_ROWS = "select user_id, rule, detail, _dlt_load_id, landed_at from ops.quarantined_users order by 1, 2"
HELD_ROWS = "select * from public.incoming_users order by user_id"


def test_a_backlog_is_built_and_quarantined_in_chunks_by_one_plain_dbt_build_as_a_full_refresh_builds_it(
        database_url: str, transformer: Transformer, local_api: LocalApi, tmp_path: Path) -> None:
    """A backlog of 470 clean and 4 rule-breaking users, chunks of 100: one `dbt build` builds 5 chunks, each user
    once, all of a load with the build's synced_at, and the marts add them up; ops.quarantined_users evaluates the
    rules only on the raw rows incoming_users does not hold (a primary-key probe each). A full refresh in chunks,
    which evaluates every row, holds and quarantines the same rows."""
    url = database_url
    ingest(20, seed="mark-first", api_url=local_api.url, database_url=url)
    transformer.build()
    broken = {
        "gender_invalid": raw_rows.user({"gender": "robot"}),
        "location_missing": raw_rows.user(drop=("location",)),
        "date_of_birth_not_date": raw_rows.user({"dob.date": "soon"}),
        "picture_not_url": raw_rows.user({"picture.large": "ftp://example.com/1.jpg"}),
    }
    ids = raw_rows.land(url, [raw_rows.user() for _ in range(120)] + list(broken.values()))
    ingest(350, seed="mark-backlog", api_url=local_api.url, database_url=url)

    plain_dbt_build(tmp_path, url, "--vars", "{backlog_chunk_rows: 100}")

    assert query(url, "select chunk, high - low <= 100 from staging.landing_chunks order by chunk") == [
        (1, True), (2, True), (3, True), (4, True), (5, True)]  # 474 rows
    assert query(url, "select user_id, rule from ops.quarantined_users order by rule") == sorted(
        zip(ids[120:], broken, strict=True), key=lambda pair: pair[1])
    assert_marts_add_up(url, 20 + 120 + 350)
    assert scalar(url, "select count(distinct synced_at) from public.incoming_users i join raw.users r"
                       " on r.uuid = i.user_id where r.request_seed = 'mark-backlog'") == 1
    compiled = tmp_path / "plain-dbt" / "compiled" / "userpipe" / "models" / "quarantine" / "quarantined_users.sql"
    with psycopg.connect(url) as conn:
        conn.execute("set enable_seqscan = off")  # tiny tables: show which index the held-row probe reads
        plan = "\n".join(str(row[0]) for row in conn.execute(f"explain {compiled.read_text()}"))
    probe = r"Index.* using (incoming_users_pkey|idx_incoming_users_created_at_user_id) on incoming_users held"
    assert re.search(probe, plan), plan
    quarantined, held = query(url, QUARANTINE_ROWS), query(url, HELD_ROWS)

    plain_dbt_build(tmp_path, url, "--full-refresh", "--vars", "{backlog_chunk_rows: 100}")

    assert scalar(url, "select count(*) from staging.landing_chunks") == 5  # 494 rows from the start
    assert_marts_add_up(url, 490)
    assert scalar(url, "select count(distinct user_id) from public.incoming_users") == 490
    assert query(url, QUARANTINE_ROWS) == quarantined
    assert [row[:-1] for row in query(url, HELD_ROWS)] == [row[:-1] for row in held]  # all but synced_at


def test_builds_with_nothing_new_change_nothing(started: str, transformer: Transformer) -> None:
    url = started
    before = query(url, "select user_id, synced_at from public.incoming_users order by user_id")
    marts_before = query(url, "select country, user_count, updated_at from marts.users_by_country order by 1")
    built_before = scalar(url, "select built_through from staging.landing_marks")

    for _ in range(2):
        assert transformer.build().success

    assert query(url, "select user_id, synced_at from public.incoming_users order by user_id") == before
    assert query(url, "select country, user_count, updated_at from marts.users_by_country order by 1") == marts_before
    assert scalar(url, "select built_through from staging.landing_marks") == built_before
    assert_marts_add_up(url, 30)


def test_the_landing_column_is_filled_by_every_writer_and_dlt_keeps_loading(started: str, local_api: LocalApi,
                                                                            transformer: Transformer) -> None:
    """The column dbt added is unknown to dlt: dlt's COPY names its columns, so later loads fill landing_seq by
    its default and dlt neither drops nor complains about it; so does the stream's INSERT (tests/stream)."""
    url = started
    first = scalar(url, "select max(landing_seq) from raw.users")
    result = ingest(25, seed="mark-after-column", api_url=local_api.url, database_url=url)
    assert result.users_new == 25
    assert scalar(url, "select count(*) from raw.users where landing_seq is null") == 0
    assert scalar(url, "select min(landing_seq) from raw.users where request_seed = 'mark-after-column'") > first  # type: ignore[operator]
    assert transformer.build().success
    assert_marts_add_up(url, 55)


def test_a_pending_load_taken_back_is_forgotten(started: str, transformer: Transformer) -> None:
    """Rows of a load that never completes stay unread; once the ingest's recovery deletes them, the build forgets
    the load."""
    url = started
    with psycopg.connect(url) as conn:
        insert_users(conn, "killed-load", 3)
    assert transformer.build().success
    assert query(url, "select load_id from staging.landing_pending_loads") == [("killed-load",)]
    assert held_users(url) == 30
    with psycopg.connect(url) as conn:
        conn.execute("delete from raw.users where _dlt_load_id = 'killed-load'")

    assert transformer.build().success

    assert query(url, "select load_id from staging.landing_pending_loads") == []
    assert_marts_add_up(url, 30)


def test_a_build_puts_back_what_the_start_hooks_ensure(started: str, transformer: Transformer) -> None:
    """The start hooks check the catalog and do their work only when it is missing: a dropped index of raw.users
    (landing_seq's, fetched_at's) is there again after the next build, which still builds new users."""
    url = started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop index raw.users_landing_seq_idx")
        conn.execute("drop index raw.users_fetched_at_idx")
    with psycopg.connect(url) as conn:
        insert_users(conn, "mark-start-hooks", 3)
        complete_load(conn, "mark-start-hooks")
    assert transformer.build().success
    indexes = {row[0] for row in query(url, "select indexname from pg_indexes where schemaname = 'raw'"
                                            " and tablename = 'users'")}
    assert {"users_landing_seq_idx", "users_fetched_at_idx"} <= indexes
    assert held_users(url) == 33
