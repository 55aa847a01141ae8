"""Fixtures of the stream tests: our real WebSocket feed, and helpers reading what landed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from ingestion.stream import StreamResult, StreamStats, stream
from randomuser_api.stream import LocalStream


@pytest.fixture
def feed() -> Iterator[LocalStream]:
    """A LocalStream of this test (its `users_sent` counts only this test's users)."""
    with LocalStream() as server:
        yield server


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll `condition` until it returns something true; fail after `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def landed(database_url: str, seed: str) -> list[tuple[int, str]]:
    """(request_page, uuid) of the rows of stream `seed`, in sequence order."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("select request_page, uuid from raw.users where _dlt_load_id = %s order by 1",
                            (f"stream-{seed}",)).fetchall()
    return [(int(page), str(uuid)) for page, uuid in rows]


def last_seq(database_url: str, seed: str) -> int:
    with psycopg.connect(database_url) as conn:
        if conn.execute("select to_regclass('ops.stream_state')").fetchone() == (None,):
            return 0
        row = conn.execute("select last_seq from ops.stream_state where seed = %s", (seed,)).fetchone()
    return int(row[0]) if row else 0


@dataclass
class Recorder:
    """A StreamObserver keeping every event."""

    events: list[tuple[str, str]] = field(default_factory=list)
    stats: StreamStats | None = None

    def connected(self, stats: StreamStats) -> None:
        self.stats = stats
        self.events.append(("connected", str(stats.last_seq)))

    def committed(self, stats: StreamStats) -> None:
        self.stats = stats

    def trouble(self, stats: StreamStats, message: str) -> None:
        self.stats = stats
        self.events.append(("trouble", message))

    def troubles(self) -> list[str]:
        return [message for kind, message in self.events if kind == "trouble"]


class Background:
    """`ingestion.stream.stream` in a thread: `.stop()` asks it to stop and returns its result."""

    def __init__(self, **kwargs: Any) -> None:
        self.recorder = Recorder()
        self._stop = threading.Event()
        self.result: StreamResult | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, kwargs=kwargs, daemon=True)
        self._thread.start()

    def _run(self, **kwargs: Any) -> None:
        try:
            self.result = stream(observer=self.recorder, should_stop=self._stop.is_set, **kwargs)
        except BaseException as exc:  # handed to the test by join()
            self.error = exc

    def join(self, timeout: float = 60.0) -> StreamResult:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the consumer did not stop within {timeout:g} s"
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result

    def stop(self, timeout: float = 60.0) -> StreamResult:
        self._stop.set()
        return self.join(timeout)


class FakeFeed:
    """A real WebSocket server on a free port that sends `messages` (text) to each connection, then waits:
    a feed that is not ours, or ours gone wrong (malformed frames)."""

    def __init__(self, messages: list[str]) -> None:
        import asyncio

        from websockets.asyncio.server import ServerConnection, serve

        async def handler(connection: ServerConnection) -> None:
            for message in messages:
                await connection.send(message)
            await connection.wait_closed()

        async def open_server() -> Any:
            return await serve(handler, "127.0.0.1", 0)

        self._loop = asyncio.new_event_loop()  # run in its own thread from the start, as LocalStream does
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(open_server(), self._loop).result(timeout=15)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/api/stream"

    def close(self) -> None:
        import asyncio

        async def stop() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=15)


@pytest.fixture
def fake_feed() -> Iterator[Callable[[list[str]], FakeFeed]]:
    made: list[FakeFeed] = []

    def make(messages: list[str]) -> FakeFeed:
        made.append(FakeFeed(messages))
        return made[-1]

    yield make
    for server in made:
        server.close()
