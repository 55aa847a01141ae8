"""`userpipe stream`: bad input, a feed that is not ours and malformed frames give one `error:` line, exit
code 1 and land nothing; a good run prints what it landed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import psycopg
import pytest

from randomuser_api import LocalApi
from randomuser_api.stream import LocalStream, stream_user
from tests.fixtures.cli import run_cli
from tests.stream.conftest import FakeFeed
from userpipe import warehouse


@pytest.fixture(scope="module")
def untouched_database(make_database: Callable[[], str]) -> str:
    return make_database()


@pytest.fixture
def bad_input_env(untouched_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv(warehouse.DATABASE_URL_ENV, untouched_database)
    monkeypatch.setenv(warehouse.HOME_ENV, str(tmp_path / "userpipe-home"))
    return untouched_database


def nothing_landed(url: str) -> bool:
    with psycopg.connect(url) as conn:
        tables = conn.execute("select count(*) from pg_tables where schemaname in ('raw', 'ops')").fetchone()
    return tables == (0,)


def assert_one_error_line(code: int, err: str, message: str) -> None:
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message in lines[0], lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(("args", "message"), [
    (["--rate", "0"], "rate must be above 0 and at most 20000 users per second, got '0'"),
    (["--rate", "-1"], "rate must be above 0 and at most 20000"),
    (["--rate", "abc"], "rate must be a number of users per second, got 'abc'"),
    (["--rate", "20001"], "rate must be above 0 and at most 20000"),
    (["--rate", "inf"], "rate must be above 0"),
    (["--url", "http://127.0.0.1:8000/api/stream"], "stream URL must be a ws:// URL"),
    (["--url", "ws://"], "stream URL must be a ws:// URL"),
    (["--url", "ws://127.0.0.1:99999/api/stream"], "stream URL must be a ws:// URL"),
    (["--url", "ws://127.0.0.1:1/api/stream"], "cannot reach the stream at ws://127.0.0.1:1/api/stream"),
    (["--seed", "a b"], "seed must be 1-64 letters"),
    (["--nat", "XX"], "unknown nationality XX"),
    (["--max-users", "many"], "max users must be a whole number"),
    (["--max-users", "0"], "max users must be at least 1"),
])
def test_bad_input_is_one_line_exit_1_nothing_landed(bad_input_env: str, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch, args: list[str],
                                                    message: str) -> None:
    code, _, err = run_cli(["stream", "--plain", *args], capsys, monkeypatch)
    assert_one_error_line(code, err, message)
    assert nothing_landed(bad_input_env)


def test_an_http_api_is_not_our_feed(bad_input_env: str, local_api: LocalApi, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"ws://{local_api.host}:{local_api.port}/api/"
    code, _, err = run_cli(["stream", "--plain", "--url", url], capsys, monkeypatch)
    assert_one_error_line(code, err, f"{url} is not a userpipe stream feed: it answered HTTP 200")
    assert nothing_landed(bad_input_env)


def good_frame(seed: str, seq: int, count: int = 1) -> dict[str, object]:
    return {"type": "users", "seq": seq, "emitted_at": 1.0e9,
            "info": {"seed": seed, "results": count, "page": seq, "version": "1.4"},
            "results": [stream_user(seed, seq + i) for i in range(count)]}


HELLO = {"type": "hello", "api": "userpipe-randomuser", "version": "1.4", "seed": "bad", "rate": 1.0, "nat": [],
         "from": 1}
NO_UUID = good_frame("bad", 1)
NO_UUID["results"][0]["login"].pop("uuid")  # type: ignore[index]


@pytest.mark.parametrize(("messages", "message"), [
    ([orjson.dumps({"hello": "world"}).decode()], "is not a userpipe stream feed: its first message is not the hello"),
    (["plain text"], "is not a userpipe stream feed"),
    ([orjson.dumps({**HELLO, "from": 7}).decode()], "is not a userpipe stream feed"),
    ([orjson.dumps(HELLO).decode(), "{not json"], "is malformed JSON"),
    ([orjson.dumps(HELLO).decode(), orjson.dumps({"type": "news"}).decode()], "is not a frame of users"),
    ([orjson.dumps(HELLO).decode(), orjson.dumps(good_frame("bad", 2)).decode()],
     "does not continue the stream (seq 2, expected 1)"),
    ([orjson.dumps(HELLO).decode(), orjson.dumps({**good_frame("bad", 1), "emitted_at": "now"}).decode()],
     "has no valid emitted_at"),
    ([orjson.dumps(HELLO).decode(), orjson.dumps(NO_UUID).decode()], "has no valid login.uuid"),
    ([orjson.dumps(HELLO).decode(), orjson.dumps({**good_frame("bad", 1), "results": []}).decode()],
     "does not continue the stream"),
], ids=["no-hello", "not-json-hello", "wrong-hello", "not-json", "not-users", "gap", "no-emitted-at", "no-uuid",
        "empty"])
def test_a_feed_gone_wrong_is_one_line_and_lands_nothing(
        database_url: str, fake_feed: Callable[[list[str]], FakeFeed], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, messages: list[str], message: str) -> None:
    server = fake_feed(messages)
    code, _, err = run_cli(["stream", "--plain", "--seed", "bad", "--url", server.url], capsys, monkeypatch)
    assert_one_error_line(code, err, message)
    with psycopg.connect(database_url) as conn:
        if conn.execute("select to_regclass('raw.users')").fetchone() != (None,):
            assert conn.execute("select count(*) from raw.users").fetchone() == (0,)
            assert conn.execute("select count(*) from ops.stream_state").fetchone() == (0,)


def test_a_good_run_prints_what_it_landed(database_url: str, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalStream() as feed:
        code, out, err = run_cli(["stream", "--plain", "--rate", "500", "--url", feed.url, "--seed", "cli",
                                  "--max-users", "40"], capsys, monkeypatch)
    assert code == 0, err
    assert f"streaming {feed.url} seed cli from sequence 1" in out
    assert "40 users received, 40 new in raw.users, last sequence 40 of seed cli, 0 reconnects" in out
    assert "lag p50" in out and "reconnects 0" in out
