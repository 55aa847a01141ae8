"""The consumer lands streamed users with the batch path's row contract, resumes exactly, and runs beside
the batch path on one database without duplicates or lost users."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import psycopg
import pytest

from ingestion.pipeline import ingest
from ingestion.randomuser.helpers import IngestError
from ingestion.stream import stream
from randomuser_api import LocalApi, build_response
from randomuser_api.stream import LocalStream, stream_user
from tests.stream.conftest import Background, landed, last_seq, wait_until

ROW_SQL = """select uuid, payload, request_seed, request_page, api_version from raw.users
where request_seed = %s order by request_page"""


def rows(url: str, seed: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(ROW_SQL, (seed,)).fetchall()


def test_streamed_rows_equal_the_batch_paths_rows(feed: LocalStream, local_api: LocalApi,
                                                  make_database: Callable[[], str]) -> None:
    streamed_db, batch_db = make_database(), make_database()
    result = stream(rate=1000, url=feed.url, seed="contract", database_url=streamed_db, max_users=5)
    assert (result.received, result.landed_new, result.last_seq) == (5, 5, 5)
    for page in range(1, 6):  # the batch path: user n of the stream is the one user of page n
        ingest(1, seed="contract", page=page, api_url=local_api.url, database_url=batch_db)
    streamed, batch = rows(streamed_db, "contract"), rows(batch_db, "contract")
    assert streamed == batch and len(streamed) == 5
    for _, payload, *_ in streamed:
        assert isinstance(payload, dict)
        assert set(payload["login"]) == {"uuid", "username"}  # credentials dropped
    with psycopg.connect(streamed_db) as conn:
        meta = conn.execute("select distinct _dlt_load_id, _dlt_id is not null, fetched_at is not null "
                            "from raw.users").fetchall()
        state = conn.execute("select seed, nat, last_seq, users_received, users_new from ops.stream_state").fetchall()
    assert meta == [("stream-contract", True, True)]
    assert state == [("contract", "", 5, 5, 5)]


def test_payload_is_the_feeds_user_without_credentials(feed: LocalStream, database_url: str) -> None:
    stream(rate=1000, url=feed.url, seed="pay", nat="us", max_users=3)
    for seq, payload in [(row[3], row[1]) for row in rows(database_url, "pay")]:
        expected = stream_user("pay", int(seq), ("US",))
        for name in ("password", "salt", "md5", "sha1", "sha256"):
            del expected["login"][name]
        assert payload == expected


def test_a_second_run_resumes_after_the_last_commit(feed: LocalStream, database_url: str) -> None:
    first = stream(rate=2000, url=feed.url, seed="again", max_users=30)
    second = stream(rate=2000, url=feed.url, max_users=20)  # no seed: the newest stream continues
    assert second.seed == "again" and (first.last_seq, second.last_seq) == (30, 50)
    assert [seq for seq, _ in landed(database_url, "again")] == list(range(1, 51))


def test_a_user_landed_before_keeps_its_first_row(feed: LocalStream, local_api: LocalApi,
                                                  database_url: str) -> None:
    ingest(1, seed="first", page=2, api_url=local_api.url)  # user 2 of the stream, landed by the batch path
    with psycopg.connect(database_url) as conn:
        before = conn.execute("select fetched_at, _dlt_load_id from raw.users").fetchone()
    result = stream(rate=1000, url=feed.url, seed="first", max_users=4)
    assert (result.received, result.landed_new) == (4, 3)
    with psycopg.connect(database_url) as conn:
        kept = conn.execute("select fetched_at, _dlt_load_id from raw.users where request_page = 2").fetchone()
        assert conn.execute("select users_received, users_new from ops.stream_state").fetchone() == (4, 3)
    assert kept == before


def test_stream_and_batch_cycles_at_once_send_the_same_users(feed: LocalStream, local_api: LocalApi,
                                                             database_url: str) -> None:
    """The stream (seed `both`, users 1..400) and batches of 10 users of the same seed (pages 1..12, whose first
    users are stream users 1..12) land together: every user once, none lost."""
    consumer = Background(rate=400, url=feed.url, seed="both", max_users=400)
    wait_until(lambda: last_seq(database_url, "both") > 0, what="the stream's first commit")
    failed: list[str] = []
    for page in range(1, 13):
        for _ in range(3):  # as the next cycles would
            try:
                ingest(10, seed="both", page=page, api_url=local_api.url)
                break
            except IngestError as exc:  # the stream landed one of its users between its check and its COPY
                failed.append(str(exc))
    consumer.join(timeout=120)
    expected = {stream_user("both", seq)["login"]["uuid"] for seq in range(1, 401)}
    for page in range(1, 13):
        body = orjson.loads(build_response({"seed": "both", "results": "10", "page": str(page)}))
        expected |= {user["login"]["uuid"] for user in body["results"]}
    with psycopg.connect(database_url) as conn:
        uuids = [row[0] for row in conn.execute("select uuid from raw.users").fetchall()]
    assert len(uuids) == len(set(uuids)) == len(expected) == 400 + 12 * 9
    assert set(uuids) == expected
    assert all("duplicate key" in message or "unique" in message for message in failed), failed


def test_stop_request_ends_the_stream_after_a_commit(feed: LocalStream, database_url: str) -> None:
    consumer = Background(rate=200, url=feed.url, seed="stop")
    wait_until(lambda: last_seq(database_url, "stop") >= 20, what="20 users committed")
    result = consumer.stop()
    assert result.last_seq == last_seq(database_url, "stop")
    assert [seq for seq, _ in landed(database_url, "stop")] == list(range(1, result.last_seq + 1))


@pytest.mark.parametrize("rate", [1])
def test_default_rate_lands_within_seconds(feed: LocalStream, database_url: str, rate: int) -> None:
    result = stream(rate=rate, url=feed.url, seed="slow", max_users=2)
    assert result.last_seq == 2


def test_without_url_our_feed_is_started(database_url: str) -> None:
    result = stream(rate=1000, seed="own", max_users=10)
    assert result.url.startswith("ws://127.0.0.1:") and result.last_seq == 10
    assert len(landed(database_url, "own")) == 10




def test_a_stream_that_lands_first_then_a_batch_are_both_built(feed: LocalStream, local_api: LocalApi,
                                                              database_url: str, tmp_path: object) -> None:
    """The stream creates raw.users and raw._dlt_loads as dlt would and registers its load complete (dbt staging
    reads completed loads only); a batch then lands beside it and one build holds both."""
    from userpipe.transform import Transformer

    streamed = stream(rate=1000, url=feed.url, seed="streamfirst", max_users=5)
    assert streamed.landed_new == 5
    landed_batch = ingest(10, seed="batchafter", api_url=local_api.url)
    assert landed_batch.users_new == 10
    Transformer(database_url=database_url).build()
    with psycopg.connect(database_url) as conn:
        loads = conn.execute("select status from raw._dlt_loads where load_id = 'stream-streamfirst'").fetchall()
        held = conn.execute("select count(*) from public.incoming_users").fetchone()
    assert loads == [(0,)]
    assert held == (15,)
