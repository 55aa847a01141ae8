"""The stream and the minute cycle (ingest -> dbt build -> checks) on one database at the same time: cycles
succeed, every user lands once, and after a build the live views equal the built tables."""

from __future__ import annotations

import psycopg

from randomuser_api import LocalApi
from randomuser_api.stream import LocalStream
from tests.stream.conftest import Background, landed, last_seq, wait_until
from userpipe.cycle import CycleRunner, CycleSettings


def test_cycles_run_while_the_stream_lands(feed: LocalStream, local_api: LocalApi, database_url: str) -> None:
    consumer = Background(rate=100, url=feed.url, seed="cycle", database_url=database_url)
    try:
        wait_until(lambda: last_seq(database_url, "cycle") > 0, what="the stream's first commit")
        with CycleRunner(CycleSettings(batch_size=50, api_url=local_api.url)) as runner:
            records = [runner.run_cycle() for _ in range(2)]
    finally:
        result = consumer.stop()
    assert [record.status for record in records] == ["success", "success"], [r.error for r in records]
    assert [seq for seq, _ in landed(database_url, "cycle")] == list(range(1, result.last_seq + 1))
    with psycopg.connect(database_url) as conn:
        raw = conn.execute("select count(*), count(distinct uuid) from raw.users").fetchone()
        live = conn.execute("select count(*), count(distinct user_id) from marts.incoming_users_live").fetchone()
        kpis = conn.execute("select total_users from marts.kpis_live").fetchone()
    assert raw is not None and raw[0] == raw[1] == 100 + result.last_seq
    assert live == raw and kpis == (raw[0],)
