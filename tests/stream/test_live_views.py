"""The live views: a streamed user is in what the dashboard reads as soon as it is committed (no dbt build in
between), flattened exactly as incoming_users flattens it, and the views agree with the built marts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingestion.pipeline import ingest
from ingestion.stream import stream
from randomuser_api import LocalApi
from randomuser_api.stream import LocalStream
from userpipe.transform import Transformer


def one(url: str, sql: str) -> Any:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def built(database_url: str, local_api: LocalApi, tmp_path: Path) -> Iterator[Transformer]:
    """30 batch users landed and built; the views exist."""
    ingest(30, seed="live-batch", api_url=local_api.url)
    transformer = Transformer(database_url=database_url, state_dir=tmp_path / "dbt")
    transformer.build()
    yield transformer


KPI_COLUMNS = "total_users, users_last_minute, unique_countries, average_age, last_landed_at"


def test_streamed_users_are_live_before_any_build(built: Transformer, feed: LocalStream, database_url: str) -> None:
    before = one(database_url, f"select {KPI_COLUMNS} from marts.kpis_live")
    assert before[0] == 30 and one(database_url, "select count(*) from marts.int_incoming_users_pending") == (0,)
    stream(rate=1000, url=feed.url, seed="live", max_users=40)
    assert one(database_url, "select count(*) from public.incoming_users") == (30,)  # no build ran
    assert one(database_url, "select count(*), count(distinct user_id) from marts.incoming_users_live") == (70, 70)
    assert one(database_url, "select count(*) from marts.int_incoming_users_pending") == (40,)
    kpis = one(database_url, f"select {KPI_COLUMNS} from marts.kpis_live")
    assert kpis[0] == 70 and kpis[1] == 70
    assert one(database_url, "select sum(users_ingested) from marts.ingestion_per_minute_live") == (70,)
    streamed = {row[0] for row in rows(database_url, "select uuid from raw.users where _dlt_load_id = 'stream-live'")}
    latest = [row[0] for row in rows(database_url, "select user_id from marts.latest_users_live")]
    assert len(latest) == 50 and set(latest[:40]) == streamed  # the newest 40 are the streamed users


def test_live_rows_equal_the_built_rows_and_kpis_agree(built: Transformer, feed: LocalStream,
                                                       database_url: str) -> None:
    stream(rate=1000, url=feed.url, seed="same", nat="fr,de", max_users=25)
    columns = [row[0] for row in rows(database_url, """select column_name from information_schema.columns
        where table_schema = 'public' and table_name = 'incoming_users' and column_name <> 'synced_at'
        order by ordinal_position""")]
    select = ", ".join(columns)
    live = rows(database_url, f"select {select} from marts.incoming_users_live where synced_at is null order by 1")
    live_kpis = one(database_url, f"select {KPI_COLUMNS} from marts.kpis_live")
    live_minutes = rows(database_url, "select minute, users_ingested from marts.ingestion_per_minute_live order by 1")
    live_latest = rows(database_url, f"select {select} from marts.latest_users_live")
    built.build()  # now incoming_users holds them
    held = rows(database_url, f"select {select} from public.incoming_users where user_id in "
                f"(select uuid from raw.users where _dlt_load_id = 'stream-same') order by 1")
    assert len(live) == 25 and live == held  # one flattening: the same 28 values, built or live
    assert one(database_url, "select count(*) from marts.int_incoming_users_pending") == (0,)
    assert live_kpis[0] == 55 and one(database_url, f"select {KPI_COLUMNS} from marts.kpis")[:4] == live_kpis[:4]
    assert rows(database_url, "select minute, users_ingested from marts.ingestion_per_minute order by 1") \
        == live_minutes
    # the 25 newest are the streamed users, the same rows live and built (the batch's 30 share one time: ties)
    built_latest = rows(database_url, f"select {select} from marts.latest_users_live")
    assert sorted(built_latest[:25]) == sorted(live_latest[:25]) == held


def test_pending_users_are_found_through_the_landing_seq_index(local_api: LocalApi, feed: LocalStream,
                                                               database_url: str, tmp_path: Path) -> None:
    """The pending view reads raw.users after its landing mark (the mark the last build of incoming_users went
    through), not the whole table: 2,000 users landed an hour ago, 10 now, built; then 5 streamed."""
    ingest(2000, seed="old", api_url=local_api.url)
    with psycopg.connect(database_url) as conn:
        conn.execute("update raw.users set fetched_at = fetched_at - interval '1 hour'")
    ingest(10, seed="recent", api_url=local_api.url)
    Transformer(database_url=database_url, state_dir=tmp_path / "dbt").build()
    stream(rate=1000, url=feed.url, seed="few", max_users=5)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("analyze raw.users")
        plan = "\n".join(row[0] for row in conn.execute(
            "explain select count(*) from marts.int_incoming_users_pending").fetchall())
    assert "users_landing_seq_idx" in plan and "Seq Scan on users" not in plan, plan
    assert one(database_url, "select count(*) from marts.int_incoming_users_pending") == (5,)
