"""The live panels answer while a `dbt build` runs (issue #14): a dashboard never fails because a cycle runs.

dbt's stock view materialization renames the old view away and drops it with CASCADE, and every live view
hangs on views rebuilt each run (staging, int_incoming_users_pending): until dbt had made them again, each
panel read failed ("relation ... does not exist"), or queued behind the rename's lock.

The build is held, deterministically, where that window was open: incoming_users' pre-hook takes the incremental
chain's advisory lock, which this test holds first; the staging view before it has been rebuilt by then. The
panels' SQL (as the dashboard ships it, macros expanded, as grafana_reader) must answer at that moment within
their statement timeout, and in a loop while the build then finishes: zero errors, the new users shown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from randomuser_api.server import LocalApi
from tests.dbt.raw_rows import land, user
from tests.grafana.test_panels import READONLY_ROLE_SQL, panels, reader_login
from userpipe.dashboard.macros import TimeRange, expand

LIVE_PANELS = ("Users per Second (last 5 minutes)", "Latest Users (live)", "Live Total Users")
CHAIN_LOCK = "select pg_advisory_lock(hashtext('userpipe.incremental_chain'))"
CHAIN_UNLOCK = "select pg_advisory_unlock(hashtext('userpipe.incremental_chain'))"
WAIT_SECONDS = 120  # bound of every wait (the build reaching the lock, finishing)
READ_TIMEOUT = "5s"  # a panel read waiting longer than this counts as failed


@pytest.fixture(scope="module")
def built(make_database: Callable[[], str], local_api: LocalApi,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A warehouse built once from 30 ingested users, the role applied; (owner url, its Transformer)."""
    from ingestion.pipeline import ingest
    from userpipe.transform import Transformer

    url = make_database()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("USERPIPE_DATABASE_URL", url)
        env.setenv("USERPIPE_HOME", str(tmp_path_factory.mktemp("live-build-home")))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(READONLY_ROLE_SQL.encode())
        ingest(30, seed="live-build", api_url=local_api.url, database_url=url)
        transformer = Transformer(database_url=url, state_dir=Path(tmp_path_factory.mktemp("dbt-state")))
        transformer.build()
        yield url, transformer


def live_queries() -> list[tuple[str, str]]:
    chosen = [panel for panel in panels() if panel["title"] in LIVE_PANELS]
    assert sorted(panel["title"] for panel in chosen) == sorted(LIVE_PANELS)
    return [(panel["title"], expand(panel["targets"][0]["rawSql"], TimeRange.last(minutes=30))) for panel in chosen]


def read_all(conn: psycopg.Connection[Any], errors: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every live panel's rows; a failure is appended to `errors` (title: error), never raised."""
    shown = {}
    for title, sql in live_queries():
        try:
            shown[title] = conn.execute(sql.encode()).fetchall()
        except psycopg.Error as error:
            errors.append(f"{title}: {type(error).__name__}: {error}".strip())
    return shown


def reader(url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(reader_login(url), autocommit=True)
    conn.execute(f"set statement_timeout = '{READ_TIMEOUT}'")
    return conn


def wait_for_build_at_chain_lock(url: str, build: threading.Thread) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline and build.is_alive():
            [(waiting,)] = conn.execute("select count(*) from pg_locks where locktype = 'advisory'"
                                        " and not granted").fetchall()
            if waiting:
                return
            time.sleep(0.05)
    pytest.fail("the build never waited for the incremental chain's lock")


def test_live_panels_answer_while_a_build_recreates_the_models(built: tuple[str, Any]) -> None:
    url, transformer = built
    landed = land(url, [user() for _ in range(7)])
    outcome: dict[str, Any] = {}
    errors: list[str] = []
    held_errors: list[str] = []
    with psycopg.connect(url, autocommit=True) as holder, reader(url) as conn:
        holder.execute(CHAIN_LOCK)
        build = threading.Thread(target=lambda: outcome.update(result=transformer.build()), daemon=True)
        build.start()
        try:
            wait_for_build_at_chain_lock(url, build)
            held = read_all(conn, held_errors)  # staging has been rebuilt; incoming_users waits for us
        finally:
            holder.execute(CHAIN_UNLOCK)
        rounds, deadline = 0, time.monotonic() + WAIT_SECONDS
        while (build.is_alive() or rounds == 0) and time.monotonic() < deadline:
            read_all(conn, errors)
            rounds += 1
            build.join(timeout=0.01)
        build.join(timeout=WAIT_SECONDS)
        after = read_all(conn, errors)
    assert not build.is_alive() and outcome["result"].success, outcome
    assert held_errors == [], held_errors
    assert errors == [], f"{len(errors)} failed reads in {rounds} rounds: {errors[:5]}"
    assert held["Live Total Users"] == [(37,)], held  # the 7 new users, not built yet, shown live
    assert after["Live Total Users"] == [(37,)]
    newest = {row[2] for row in after["Latest Users (live)"]}  # email: the hand-made users share one
    assert newest and len(landed) == 7


def views(url: str) -> dict[str, tuple[int, int, str]]:
    """Every view of the project: name -> (oid, xmin of its _RETURN rule: changes when it is replaced, definition)."""
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "select n.nspname || '.' || c.relname, c.oid::int, r.xmin::text::bigint, pg_get_viewdef(c.oid)"
            " from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_rewrite r on r.ev_class = c.oid"
            " where c.relkind = 'v' and n.nspname in ('staging', 'marts', 'public', 'ops')").fetchall()
    return {name: (oid, xmin, definition) for name, oid, xmin, definition in found}


def test_a_build_replaces_only_the_views_whose_sql_changed_in_place(built: tuple[str, Any]) -> None:
    """Same oids after a build; only int_incoming_users_pending (its landing mark a literal) is replaced."""
    url, transformer = built
    land(url, [user() for _ in range(3)])
    before = views(url)
    assert {"staging.stg_randomuser__users", "marts.int_incoming_users_pending", "marts.incoming_users_live",
            "marts.kpis_live", "marts.latest_users_live"} <= set(before)
    assert transformer.build().success
    after = views(url)
    assert {name: oid for name, (oid, _, _) in after.items()} == {name: oid for name, (oid, _, _) in before.items()}
    replaced = sorted(name for name in before if before[name][1] != after[name][1])
    assert replaced == ["marts.int_incoming_users_pending"]
    assert before["marts.int_incoming_users_pending"][2] != after["marts.int_incoming_users_pending"][2]


def test_a_view_whose_columns_changed_is_made_again_with_its_grant(built: tuple[str, Any]) -> None:
    """PostgreSQL cannot `create or replace` a view whose columns were renamed: it is dropped and made again,
    and the read-only role reads it (the schema's default privileges)."""
    url, transformer = built
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop view marts.kpis_live")
        conn.execute("create view marts.kpis_live as select 1 as an_old_column")
        conn.execute("comment on view marts.kpis_live is 'userpipe view sql md5 of another definition'")
    assert transformer.build().success
    with reader(url) as conn:
        cursor = conn.execute("select * from marts.kpis_live")
        assert [column.name for column in cursor.description or []][:2] == ["total_users", "users_last_minute"]


def test_users_per_second_counts_built_and_pending_users_per_second(built: tuple[str, Any]) -> None:
    """ingestion_per_second_live agrees, second by second, with counting incoming_users_live (built users in
    the mart, plus users landed after the build), and the panel shows those of its last 5 minutes."""
    url, transformer = built
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(url) as conn:  # the module's earlier users landed in real time: seconds of their own
        occupied = {second for (second,) in conn.execute(
            "select distinct date_trunc('second', created_at) from marts.incoming_users_live")}
    first, later = [second for second in (now - timedelta(seconds=ago) for ago in range(240, 20, -1))
                    if second.replace(tzinfo=None) not in occupied][:2]
    land(url, [user() for _ in range(4)], fetched_at=first)
    assert transformer.build().success
    land(url, [user() for _ in range(5)], fetched_at=first)  # pending, same second
    land(url, [user() for _ in range(2)], fetched_at=later + timedelta(milliseconds=500))
    land(url, [user() for _ in range(3)], fetched_at=now - timedelta(minutes=10))  # outside the 5 minutes
    with psycopg.connect(url) as conn:
        expected = conn.execute("select date_trunc('second', created_at), count(*) from marts.incoming_users_live"
                                " group by 1 order by 1").fetchall()
        live = conn.execute("select second, users_ingested from marts.ingestion_per_second_live"
                            " order by 1").fetchall()
    assert live == expected
    by_second: dict[Any, Any] = dict(live)
    assert by_second[first.replace(tzinfo=None)] == 9
    assert by_second[later.replace(tzinfo=None)] == 2
    (sql,) = [sql for title, sql in live_queries() if title == "Users per Second (last 5 minutes)"]
    with reader(url) as conn:
        shown = conn.execute(sql.encode()).fetchall()
    in_panel = {second: count for second, count in live
                if second > (datetime.now(UTC) - timedelta(minutes=5)).replace(tzinfo=None)}
    assert sum(count for _, count in shown) == sum(in_panel.values()) >= 11
