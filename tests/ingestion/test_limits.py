"""Size limits: a page body over its limit is cut off while it is read, a user over its limit fails the batch,
each in one `error:` line naming the page, the limit and the size, with nothing of the batch landed; the stream
holds its frames to the same limits."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import orjson
import psycopg
import pytest
import requests

from ingestion.randomuser import settings
from ingestion.randomuser.helpers import PageRequest, TooLargeError, fetch_page
from ingestion.randomuser.limits import PAGE_BYTES_ENV, USER_BYTES_ENV, LimitError, Limits
from randomuser_api import Fault, FaultPlan, LocalApi
from randomuser_api.stream import stream_user
from tests.fixtures.api import FaultyApiFactory
from tests.fixtures.cli import run_cli
from tests.ingestion.conftest import Answer, FakeApi, good_page, raw_snapshot
from tests.stream.conftest import FakeFeed


def one_error_line(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_the_defaults_leave_margin_over_real_pages() -> None:
    limits = Limits.from_env({})
    assert (limits.user_bytes, limits.page_bytes) == (64 * 1024, 64 * 1024 * 1024)
    page = good_page({"results": "5000", "seed": "margin"})[2]
    users = orjson.loads(page)["results"]
    assert limits.page_bytes > 10 * len(page)
    assert limits.user_bytes > 20 * max(len(orjson.dumps(user)) for user in users)


def test_limits_are_read_from_the_environment() -> None:
    assert Limits.from_env({USER_BYTES_ENV: "1000", PAGE_BYTES_ENV: "2_000_000"}) == Limits(1000, 2_000_000)
    for bad in ("0", "-1", "64KB", "1e6", "²"):
        with pytest.raises(LimitError, match=f"{USER_BYTES_ENV} must be a whole number of bytes above 0"):
            Limits.from_env({USER_BYTES_ENV: bad})


def test_a_bad_limit_is_one_line_before_anything_is_touched(
        database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PAGE_BYTES_ENV, "lots")
    code, _, err = run_cli(["ingest", "-n", "5"], capsys, monkeypatch)
    assert f"{PAGE_BYTES_ENV} must be a whole number of bytes above 0" in one_error_line(code, err)
    assert raw_snapshot(database_url) == {"tables": []}


def page_two_oversized(params: dict[str, str]) -> tuple[int, str, bytes]:
    """Our API's pages, but user 0 of page 2 is 100,000 bytes long."""
    status, content_type, body = good_page(params)
    if params.get("page") != "2":
        return status, content_type, body
    document = orjson.loads(body)
    document["results"][0]["name"]["first"] += "x" * 100_000
    return status, content_type, orjson.dumps(document)


def test_a_user_over_the_limit_fails_the_batch_in_one_line_and_lands_nothing(
        database_url: str, local_api: LocalApi, fake_api: Callable[[Answer], FakeApi],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(["ingest", "-n", "30", "--seed", "before", "--api-url", local_api.url], capsys, monkeypatch)[0] == 0
    before = raw_snapshot(database_url)
    api = fake_api(page_two_oversized)

    # two pages: the second one's first user is over the limit, and the first page is not landed either
    code, _, err = run_cli(["ingest", "-n", "6000", "--seed", "big", "--api-url", api.url], capsys, monkeypatch)

    line = one_error_line(code, err)
    assert "(seed big, page 2): user 0 (" in line, line
    assert f"over the limit of 65,536 bytes a user ({USER_BYTES_ENV}); nothing landed" in line
    assert " is 10" in line and "bytes, over" in line  # its size, about 100,000 bytes
    assert raw_snapshot(database_url) == before


def test_the_oversize_switch_makes_one_user_over_the_limit(
        database_url: str, faulty_api: FaultyApiFactory, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    api = faulty_api(FaultPlan([Fault("oversize", times=-1, user_bytes=100_000)]))
    code, _, err = run_cli(["ingest", "-n", "10", "--seed", "big", "--api-url", api.url], capsys, monkeypatch)
    line = one_error_line(code, err)
    assert "(seed big, page 1): user 0 (" in line and " is 99,7" in line, line  # less its credential fields
    assert raw_snapshot(database_url) == {"tables": []}


def test_a_user_under_a_raised_limit_lands(database_url: str, faulty_api: FaultyApiFactory,
                                           capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(USER_BYTES_ENV, "200000")
    api = faulty_api(FaultPlan([Fault("oversize", times=1, user_bytes=100_000)]))
    code, out, err = run_cli(["ingest", "-n", "10", "--seed", "raised", "--api-url", api.url], capsys, monkeypatch)
    assert code == 0, err
    assert "10 landed" in out
    with psycopg.connect(database_url) as conn:
        biggest = conn.execute("select max(octet_length(payload::text)) from raw.users").fetchone()
    assert biggest is not None and 99_000 < biggest[0] < 110_000


def test_a_page_over_the_limit_is_cut_off_while_read(
        database_url: str, faulty_api: FaultyApiFactory, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PAGE_BYTES_ENV, "1000000")
    api = faulty_api(FaultPlan([Fault("oversize", times=-1, user_bytes=500_000_000)]))  # chunked, no length

    code, _, err = run_cli(["ingest", "-n", "10", "--seed", "huge", "--api-url", api.url], capsys, monkeypatch)

    line = one_error_line(code, err)
    assert "(seed huge, page 1) answered a page over the limit of 1,000,000 bytes" in line, line
    assert "its body was cut off after 1,048,576 bytes; nothing landed" in line  # one 1 MiB piece read
    assert raw_snapshot(database_url) == {"tables": []}


def test_a_page_announcing_more_than_the_limit_is_not_read(local_api: LocalApi) -> None:
    request, session = PageRequest("announced", 1, 5000), requests.Session()
    session.headers["Accept-Encoding"] = "identity"  # a Content-Length of the body itself
    with pytest.raises(TooLargeError, match=r"over the limit of 1,000,000 bytes \(USERPIPE_MAX_PAGE_BYTES\): "
                                            r"its body announces 5,\d{3},\d{3} bytes"):
        fetch_page(session, local_api.url, request, max_bytes=1_000_000)
    assert len(fetch_page(session, local_api.url, request)) > 5_000_000  # the default takes it


def gzip_bomb(params: dict[str, str]) -> tuple[int, str, bytes, dict[str, str]]:
    """A small gzip body that inflates to 100 MB."""
    return 200, "application/json", gzip.compress(b" " * 100_000_000, 1), {"Content-Encoding": "gzip"}


def test_a_compressed_page_is_held_to_the_limit_once_inflated(fake_api: Callable[[Answer], FakeApi]) -> None:
    api = fake_api(gzip_bomb)
    with pytest.raises(TooLargeError, match="its body was cut off after"):
        fetch_page(requests.Session(), api.url, PageRequest("bomb", 1, 10), max_bytes=settings.MAX_PAGE_BYTES // 8)


def hello(seed: str) -> str:
    return orjson.dumps({"type": "hello", "api": "userpipe-randomuser", "version": "1.4", "seed": seed,
                         "rate": 1.0, "nat": [], "from": 1}).decode()


def frame(seed: str, seq: int, pad: int = 0) -> str:
    user = stream_user(seed, seq)
    user["name"]["first"] += "x" * pad
    return orjson.dumps({"type": "users", "seq": seq, "emitted_at": 1.0e9,
                         "info": {"seed": seed, "results": 1, "page": seq, "version": "1.4"},
                         "results": [user]}).decode()


@pytest.mark.parametrize(("env", "pad", "message"), [
    ({}, 100_000, "stream frame after sequence 0 from {url}: API {url} (seed big, page 1): user 0 ("),
    ({PAGE_BYTES_ENV: "1000000"}, 2_000_000,
     "stream frame after sequence 0 from {url} is over the limit of 1,000,000 bytes a frame"),
], ids=["user-over-its-limit", "frame-over-its-limit"])
def test_the_stream_refuses_a_frame_over_the_limits_in_one_line(
        database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        env: dict[str, str], pad: int, message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    feed = FakeFeed([hello("big"), frame("big", 1, pad)])
    try:
        code, _, err = run_cli(["stream", "--plain", "--seed", "big", "--url", feed.url, "--max-users", "3"],
                               capsys, monkeypatch)
    finally:
        feed.close()
    line = one_error_line(code, err)
    assert message.format(url=feed.url) in line, line
    assert "nothing of it landed" in line
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) from raw.users").fetchone() == (0,)
        assert conn.execute("select count(*) from ops.stream_state").fetchone() == (0,)
