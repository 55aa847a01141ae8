"""The WebSocket feed `/api/stream`: users one by one at a steady rate, each with a sequence number.

`ws://HOST:PORT/api/stream?rate=N&seed=S&nat=US,GB&from=SEQ`. The user with sequence number n is the one user
of `/api/?seed=S&results=1&page=n` (the same object, deterministic for seed + position, past page 10000 too),
so a consumer resumes after a disconnect by asking `from=` its last committed sequence + 1: no gap, no repeat.

Messages (JSON text frames): first a hello, `{"type": "hello", "api": "userpipe-randomuser", "version": "1.4",
"seed", "rate", "nat", "from"}`; then frames of users, `{"type": "users", "seq": first, "emitted_at": unix
seconds, "info": {"seed", "results", "page": first, "version"}, "results": [user, ...]}` (user i of a frame has
sequence `seq + i`; `results`/`info` are shaped like an `/api/` page). At most 1 user a frame up to
`FRAME_RATE` users/s, above that one frame every 1/`FRAME_RATE` s with the users due.

Backpressure: a frame is generated only once the previous one is handed to the socket (websockets' `send`
waits while its write buffer is above its high-water mark), so a slow consumer slows the feed down and the
server holds at most one frame per connection; a consumer that falls behind catches up at most
`MAX_FRAME_USERS` per frame. Bad parameters are refused before the upgrade with HTTP 400 and a JSON error.

A separate listener from the HTTP API (its `ThreadingHTTPServer` stays as it is): `LocalStream` runs it in a
background thread on a free port; `serve_stream` in the foreground.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from randomuser_api.generate import generate_users
from randomuser_api.nationalities import NATIONALITIES
from randomuser_api.params import VERSION, ApiRequest, random_seed

log = logging.getLogger(__name__)

STREAM_PATH = "/api/stream"
API_NAME = "userpipe-randomuser"
DEFAULT_RATE = 1.0
MAX_RATE = 20_000.0  # users per second
FRAME_RATE = 50  # frames per second at most; above this rate a frame carries several users
MAX_FRAME_USERS = 500  # a consumer catching up gets at most this many a frame (~0.55 MB, under the 1 MiB
# messages WebSocket clients such as websockets take by default: 1,000 users measured ~1.1 MB); the top rate,
# 20,000 users/s at 50 frames/s, needs 400
MAX_SEQ = 2**53  # sequence numbers stay exact in any JSON reader
WRITE_LIMIT = 64 * 1024  # bytes buffered per connection before `send` waits for the consumer
CLOSE_TIMEOUT_SECONDS = 2.0


OnSent = Callable[[int, int, float], None]  # (first sequence, users, emitted_at) of a frame sent


class StreamParamError(ValueError):
    """A query parameter of `/api/stream` out of bounds; its message is the 400 answer's error."""


@dataclass(frozen=True)
class StreamRequest:
    """One sanitised `/api/stream` request."""

    seed: str
    rate: float = DEFAULT_RATE
    nats: tuple[str, ...] = NATIONALITIES
    first_seq: int = 1

    def hello(self) -> dict[str, Any]:
        return {"type": "hello", "api": API_NAME, "version": VERSION, "seed": self.seed, "rate": self.rate,
                "nat": list(self.nats), "from": self.first_seq}


def parse_stream_query(query: Mapping[str, list[str]]) -> StreamRequest:
    """`rate` in (0, MAX_RATE] users/s, `seed` a URL-safe word (default: a fresh one), `nat` known codes,
    `from` a sequence number >= 1. Unlike `/api/`, a bad value is an error, not a fallback: a consumer that
    resumes must get exactly the stream it asked for."""
    get = {key.lower(): values[-1] for key, values in query.items() if values}
    rate = _number(get.get("rate"), "rate", DEFAULT_RATE)
    if not 0 < rate <= MAX_RATE:
        raise StreamParamError(f"rate must be in (0, {MAX_RATE:g}] users per second, got {get.get('rate')!r}")
    first = _number(get.get("from"), "from", 1)
    if first != int(first) or not 1 <= first <= MAX_SEQ:
        raise StreamParamError(f"from must be a whole number in 1..{MAX_SEQ}, got {get.get('from')!r}")
    seed = (get.get("seed") or "").strip()
    if seed and (len(seed) > 64 or not all(c.isalnum() or c in "-_." for c in seed)):
        raise StreamParamError(f"seed must be 1-64 letters, digits, '-', '_' or '.', got {seed!r}")
    nats: tuple[str, ...] = NATIONALITIES
    if get.get("nat"):
        asked = tuple(dict.fromkeys(code.strip().upper() for code in get["nat"].split(",") if code.strip()))
        unknown = [code for code in asked if code not in NATIONALITIES]
        if unknown or not asked:
            raise StreamParamError(f"unknown nationality {', '.join(unknown) or repr(get['nat'])}")
        nats = asked
    return StreamRequest(seed=seed or random_seed(), rate=rate, nats=nats, first_seq=int(first))


def _number(text: str | None, name: str, default: float) -> float:
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise StreamParamError(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise StreamParamError(f"{name} must be a finite number, got {text!r}")
    return value


def stream_user(seed: str, seq: int, nats: tuple[str, ...] = NATIONALITIES) -> dict[str, Any]:
    """The user with sequence number `seq`: the one user of page `seq` of `seed`."""
    return generate_users(ApiRequest(results=1, seed=seed, page=seq, nats=nats))[0]


def users_frame(req: StreamRequest, first: int, count: int, emitted_at: float) -> bytes:
    """The frame of users `first .. first + count - 1`."""
    users = [stream_user(req.seed, seq, req.nats) for seq in range(first, first + count)]
    return orjson.dumps({
        "type": "users", "seq": first, "emitted_at": emitted_at,
        "info": {"seed": req.seed, "results": count, "page": first, "version": VERSION},
        "results": users,
    })


async def feed(connection: ServerConnection, req: StreamRequest, on_sent: OnSent | None = None) -> None:
    """Send the hello, then the users of `req` at its rate until the consumer goes; `on_sent(first_seq, count,
    emitted_at)` after each frame handed to the socket."""
    await connection.send(orjson.dumps(req.hello()).decode())
    loop = asyncio.get_running_loop()
    started, next_seq = loop.time(), req.first_seq
    min_gap = 1.0 / FRAME_RATE
    while True:
        # users due by now: user first_seq + k is due at started + k / rate
        due_until = req.first_seq + int((loop.time() - started) * req.rate)
        count = min(due_until - next_seq + 1, MAX_FRAME_USERS)
        if count > 0:
            emitted_at = time.time()
            frame = users_frame(req, next_seq, count, emitted_at)
            await connection.send(frame, text=True)  # waits while the consumer does not read
            if on_sent is not None:
                on_sent(next_seq, count, emitted_at)
            next_seq += count
        wake = started + (next_seq - req.first_seq) / req.rate
        await asyncio.sleep(max(wake - loop.time(), min_gap if req.rate > FRAME_RATE else 0.0))


def _error_response(connection: ServerConnection, status: HTTPStatus, message: str) -> Response:
    body = orjson.dumps({"error": message})
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body)


def _check_request(connection: ServerConnection, request: Request) -> Response | None:
    """Before the upgrade: 404 off `/api/stream`, 400 on a bad parameter (the request is parsed again, once
    accepted, by the handler)."""
    parts = urlsplit(request.path)
    if parts.path.rstrip("/") != STREAM_PATH:
        return _error_response(connection, HTTPStatus.NOT_FOUND, f"not found: {parts.path}; the feed is at "
                               f"{STREAM_PATH}")
    try:
        parse_stream_query(parse_qs(parts.query, keep_blank_values=True))
    except StreamParamError as exc:
        return _error_response(connection, HTTPStatus.BAD_REQUEST, str(exc))
    return None


async def _handle(connection: ServerConnection, on_sent: OnSent | None = None) -> None:
    assert connection.request is not None
    req = parse_stream_query(parse_qs(urlsplit(connection.request.path).query, keep_blank_values=True))
    log.info("stream to %s: seed %s, rate %g/s, from %s", connection.remote_address, req.seed, req.rate,
             req.first_seq)
    with contextlib.suppress(ConnectionClosed):
        await feed(connection, req, on_sent)


class LocalStream:
    """The feed on `host:port` (0 = a free port) in a background thread with its own event loop; use as a
    context manager. `.url` is `ws://HOST:PORT/api/stream`; `stop()` closes every connection."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, on_sent: OnSent | None = None) -> None:
        self._host, self._port, self._on_sent = host, port, on_sent
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.host, self.port = host, port
        self.users_sent = 0  # users handed to the sockets of all connections (read by tests and the bench)

    def _count(self, first_seq: int, users: int, emitted_at: float) -> None:
        self.users_sent += users
        if self._on_sent is not None:
            self._on_sent(first_seq, users, emitted_at)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{STREAM_PATH}"

    def start(self) -> LocalStream:
        if self._thread is not None:
            return self
        # the loop runs in its own thread from the start, so a caller that already runs an event loop (a
        # notebook, playwright's sync API) can start the feed too
        self._thread = threading.Thread(target=self._loop.run_forever, name="randomuser-stream", daemon=True)
        self._thread.start()
        opening = asyncio.run_coroutine_threadsafe(_open(self._host, self._port, self._count), self._loop)
        try:
            self._server = opening.result(timeout=15)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=15)
            self._thread = None
            raise
        self.host, self.port = _bound_address(self._server)
        return self

    def stop(self) -> None:
        if self._thread is None or self._server is None:
            return
        server = self._server

        async def close() -> None:
            server.close()  # closes every connection (close frame, then TCP)
            try:
                await asyncio.wait_for(server.wait_closed(), CLOSE_TIMEOUT_SECONDS + 1)
            except TimeoutError:  # a peer that reads nothing cannot even take the close frame
                for connection in server.connections:
                    connection.transport.abort()
                await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=15)
        self._thread, self._server = None, None

    def __enter__(self) -> LocalStream:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


async def _open(host: str, port: int, on_sent: OnSent | None = None) -> Server:
    return await serve(functools.partial(_handle, on_sent=on_sent), host, port, process_request=_check_request,
                       write_limit=WRITE_LIMIT, max_size=2**16, compression=None,
                       close_timeout=CLOSE_TIMEOUT_SECONDS,
                       server_header=f"{API_NAME}/{VERSION}")


def _bound_address(server: Server) -> tuple[str, int]:
    address = next(iter(server.sockets)).getsockname()
    return str(address[0]), int(address[1])


def serve_stream(host: str = "127.0.0.1", port: int = 8001) -> None:
    """Run the feed in the foreground until interrupted."""

    async def main() -> None:
        server = await _open(host, port)
        bound = _bound_address(server)
        log.info("randomuser stream on ws://%s:%s%s", bound[0], bound[1], STREAM_PATH)
        await server.serve_forever()

    asyncio.run(main())


def main(argv: list[str] | None = None) -> None:
    """`python -m randomuser_api.stream [--host 127.0.0.1] [--port 8001]`: the feed in the foreground."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m randomuser_api.stream", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="port (default 8001; 0 = a free one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        serve_stream(args.host, args.port)


if __name__ == "__main__":
    main()
