"""Faults, with the real feed, the real consumer and a real PostgreSQL: the feed restarts mid-stream, the
database goes away, the consumer is killed with SIGKILL. Nothing acknowledged is lost, nothing is repeated."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from ingestion.stream import stream
from randomuser_api.stream import LocalStream
from tests.stream.conftest import Background, landed, last_seq, wait_until
from userpipe import warehouse

USERPIPE = str(Path(sys.executable).with_name("userpipe"))


def assert_exactly(database_url: str, seed: str, count: int) -> None:
    """Stream `seed` holds users 1..count, once each, and its state says `count`."""
    assert [seq for seq, _ in landed(database_url, seed)] == list(range(1, count + 1))
    assert last_seq(database_url, seed) == count
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) = count(distinct uuid) from raw.users").fetchone() == (True,)


def test_feed_restart_mid_stream_reconnects_and_resumes(database_url: str) -> None:
    first = LocalStream().start()
    port = first.port
    consumer = Background(rate=300, url=first.url, seed="restart", max_users=300)
    try:
        wait_until(lambda: last_seq(database_url, "restart") >= 50, what="50 users before the restart")
        first.stop()
        wait_until(lambda: consumer.recorder.troubles(), what="the consumer to notice the lost feed")
        time.sleep(0.5)  # down for a while: the consumer retries with backoff
        second = LocalStream(port=port).start()
        try:
            result = consumer.join(timeout=120)
        finally:
            second.stop()
    finally:
        first.stop()
    assert result.reconnects >= 1 and result.last_seq == 300
    assert any(message.startswith("stream lost") for message in consumer.recorder.troubles())
    assert_exactly(database_url, "restart", 300)


def test_database_down_stops_taking_users_then_resumes(own_server: warehouse.EmbeddedPostgres,
                                                       feed: LocalStream) -> None:
    url = own_server.url()
    consumer = Background(rate=2000, url=feed.url, seed="outage", database_url=url)
    try:
        wait_until(lambda: last_seq(url, "outage") >= 100, what="100 users before the outage")
        own_server.stop()
        wait_until(lambda: any("database unreachable" in m for m in consumer.recorder.troubles()),
                   what="the consumer to say the database is unreachable")

        def stalled() -> bool:
            before = feed.users_sent
            time.sleep(0.5)
            return feed.users_sent == before

        # bounded memory: the consumer stops reading, so the feed stops sending
        wait_until(stalled, timeout=30, what="the feed to stall while the database is down")
        held = feed.users_sent
        assert own_server.start() == url
        wait_until(lambda: last_seq(url, "outage") >= held + 200, timeout=60, what="200 users after the outage")
    finally:
        result = consumer.stop()
    messages = consumer.recorder.troubles()
    assert len([m for m in messages if "database unreachable" in m]) == 1  # said once, in one line
    assert "database back; streaming again" in messages and all("\n" not in m for m in messages)
    assert_exactly(url, "outage", result.last_seq)


def test_kill_9_loses_nothing_committed_and_repeats_nothing(feed: LocalStream, database_url: str,
                                                            tmp_path: Path) -> None:
    env = {**os.environ, warehouse.DATABASE_URL_ENV: database_url, warehouse.HOME_ENV: str(tmp_path / "home")}
    for round_ in range(2):
        before = last_seq(database_url, "kill")
        process = subprocess.Popen([USERPIPE, "stream", "--rate", "500", "--url", feed.url, "--seed", "kill",
                                    "--plain"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_until(lambda b=before: last_seq(database_url, "kill") >= b + 100, timeout=60,
                       what=f"round {round_}: 100 users landed by the subprocess")
        finally:
            process.kill()  # SIGKILL, wherever it is (mid-transaction included)
            process.wait(timeout=30)
        assert_exactly(database_url, "kill", last_seq(database_url, "kill"))
    killed_at = last_seq(database_url, "kill")
    result = stream(rate=2000, url=feed.url, seed="kill", max_users=100)
    assert result.last_seq == killed_at + 100
    assert_exactly(database_url, "kill", killed_at + 100)
