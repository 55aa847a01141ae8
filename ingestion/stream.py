"""The stream path: users from our WebSocket feed (`randomuser_api.stream`) landed in `raw.users` as they arrive.

Same row contract as the batch path: each frame is checked and stripped of credentials by the batch path's
`parse_page` (a frame is shaped like an `/api/` page), rows have the columns of `csvfiles.COLUMNS`, a user
landed before keeps its first row (`on conflict (uuid) do nothing`). `request_page` is the user's sequence
number (the one user of `/api/?seed=S&results=1&page=seq`), `_dlt_load_id` is `stream-<seed>`.

Frames are committed in small batches (`COMMIT_SECONDS` after the first uncommitted one): the rows and the
stream's new last sequence (`ops.stream_state`) in one transaction, so a restart resumes exactly after the last
commit. Landing is a psycopg INSERT from arrays, not dlt: dlt commits each load file on its own (rows and state
could not share a transaction) and costs ~0.3 s a load (docs/architecture.md, "Stream path").

Faults: a lost feed is reconnected with backoff from the last committed sequence; an unreachable database
stops the reading (websockets' bounded queue, then TCP, slows the server down) and is retried until it is
back. Bad input, a server that is not ours, malformed frames and frames or users over the size limits
(`limits.Limits`) raise `StreamError` (one line).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import msgspec
import orjson
import psycopg
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import CloseCode
from websockets.sync.client import ClientConnection, connect

from ingestion.randomuser.csvfiles import COLUMNS
from ingestion.randomuser.helpers import (
    IngestError,
    PageRequest,
    new_seed,
    parse_nationalities,
    parse_page,
    parse_seed,
)
from ingestion.randomuser.limits import PAGE_BYTES_ENV, Limits
from randomuser_api.stream import API_NAME, MAX_RATE, STREAM_PATH
from userpipe import warehouse
from userpipe.errors import UserpipeError, one_line

log = logging.getLogger(__name__)
# websockets' own log (a keepalive ping that timed out while the database was down, with its traceback): the
# consumer says what happened in its own words instead
_websockets_log = logging.getLogger(f"{__name__}.websockets")
_websockets_log.setLevel(logging.CRITICAL)
T = TypeVar("T")

COMMIT_SECONDS = 0.05  # a batch is committed this long after its first frame arrived
MAX_BATCH_USERS = 5_000  # ... or once it holds this many users
MAX_QUEUE_FRAMES = 16  # frames websockets buffers while the database is slow or down (then TCP backpressure)
# a frame (at most 1000 users, ~1.1 MB) may hold this many bytes, or the page limit when lower: with the queue,
# at most 256 MiB held; its users are held to the per-user limit as a page's are
MAX_FRAME_BYTES = 16 * 2**20
OPEN_TIMEOUT_SECONDS = 5.0
FIRST_CONNECT_ATTEMPTS = 3  # a feed never reached is an error after this many attempts
BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)  # waits between reconnects (the last one repeats)
LOAD_ID_PREFIX = "stream-"

STATE_DDL = """
create schema if not exists ops;
create table if not exists ops.stream_state (
    seed text not null,
    nat text not null,
    last_seq bigint not null,
    last_emitted_at timestamptz,
    committed_at timestamptz not null,
    users_received bigint not null default 0,
    users_new bigint not null default 0,
    primary key (seed, nat)
)
"""
# The raw table as dlt creates it (same columns, types and unique uuid), for a stream that lands first; dlt
# finds it and adds nothing.
RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.users (
    uuid varchar not null unique,
    payload jsonb not null,
    fetched_at timestamp with time zone not null,
    request_seed varchar,
    request_page bigint,
    api_version varchar,
    _dlt_load_id varchar not null,
    _dlt_id varchar not null
);
create table if not exists raw._dlt_loads (
    load_id varchar not null,
    schema_name varchar,
    status bigint not null,
    inserted_at timestamp with time zone not null,
    schema_version_hash varchar
)
"""
# dbt staging reads rows of completed loads only (raw._dlt_loads, status 0). A stream's commits are whole (rows and
# state in one transaction), so its load id is registered complete once, with its first commit.
REGISTER_LOAD_SQL = """
insert into raw._dlt_loads (load_id, schema_name, status, inserted_at)
select %(load_id)s::varchar, 'randomuser', 0, now()
where not exists (select 1 from raw._dlt_loads where load_id = %(load_id)s::varchar)
"""
# A batch is COPYed into a temporary table (psycopg's COPY writes rows in C; text arrays through parameters cost
# ~25x more), then inserted: a user landed before keeps its first row. The temporary table has only the landing
# contract's columns (not raw.users' landing_seq, which the INSERT leaves to its default: dbt's landing mark).
STAGE_SQL = (f"create temporary table if not exists stream_rows on commit delete rows as "
             f"select {', '.join(COLUMNS)} from raw.users with no data")
COPY_SQL = f"copy stream_rows ({', '.join(COLUMNS)}) from stdin"
INSERT_SQL = f"""
insert into raw.users ({", ".join(COLUMNS)})
select {", ".join(COLUMNS)} from stream_rows
on conflict (uuid) do nothing
"""
ADVANCE_SQL = """
insert into ops.stream_state as s (seed, nat, last_seq, last_emitted_at, committed_at, users_received, users_new)
values (%(seed)s, %(nat)s, %(last_seq)s, to_timestamp(%(emitted_at)s), now(), %(received)s, %(new)s)
on conflict (seed, nat) do update set
    last_seq = excluded.last_seq,
    last_emitted_at = excluded.last_emitted_at,
    committed_at = excluded.committed_at,
    users_received = s.users_received + excluded.users_received,
    users_new = s.users_new + excluded.users_new
where s.last_seq = %(previous)s
"""


class _FrameHead(msgspec.Struct):
    """What the consumer reads of a frame before `parse_page` checks its users (kept raw: not decoded twice)."""

    type: str = ""
    seq: int | None = None
    emitted_at: Any = None
    results: list[msgspec.Raw] | None = None


_frame_head = msgspec.json.Decoder(_FrameHead)


class StreamError(UserpipeError):
    """Bad stream input, a feed that is not ours, a malformed frame, or a stream taken over by another consumer."""


def parse_rate(value: float | str) -> float:
    """Users per second, a number in (0, MAX_RATE]."""
    try:
        rate = float(str(value).strip())
    except ValueError:
        raise StreamError(f"rate must be a number of users per second, got {value!r}") from None
    if not math.isfinite(rate) or not 0 < rate <= MAX_RATE:
        raise StreamError(f"rate must be above 0 and at most {MAX_RATE:g} users per second, got {value!r}")
    return rate


def parse_stream_url(value: str) -> str:
    """A ws(s):// URL with a host; an empty path means `/api/stream`."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
        parts = urlsplit("")
    if parts.scheme not in ("ws", "wss") or not parts.hostname or not port_ok:
        raise StreamError(f"stream URL must be a ws:// URL like ws://127.0.0.1:8001{STREAM_PATH}, got {value!r}")
    return parts._replace(path=parts.path if parts.path not in ("", "/") else STREAM_PATH).geturl()


def feed_url(base: str, seed: str, rate: float, nat: Sequence[str], first_seq: int) -> str:
    parts = urlsplit(base)
    query = dict(parse_qsl(parts.query))
    query.update({"seed": seed, "rate": f"{rate:g}", "from": str(first_seq)})
    if nat:
        query["nat"] = ",".join(nat)
    return parts._replace(query=urlencode(query)).geturl()


@dataclass
class StreamStats:
    """What the consumer did so far (the live view reads it)."""

    seed: str
    url: str = ""
    received: int = 0
    landed_new: int = 0
    last_seq: int = 0
    commits: int = 0
    reconnects: int = 0
    database_down: bool = False
    started: float = field(default_factory=time.monotonic)
    lags: deque[float] = field(default_factory=lambda: deque(maxlen=5000))  # seconds, emit -> commit, per user
    recent: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=400))  # (when, users) commits

    def rate(self, window: float = 5.0) -> float:
        """Users committed per second over the last `window` seconds."""
        now = time.monotonic()
        users = sum(n for when, n in self.recent if now - when <= window)
        return users / min(window, max(now - self.started, 1e-3))

    def lag_percentile(self, fraction: float) -> float | None:
        if not self.lags:
            return None
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class StreamObserver(Protocol):
    """Receives the consumer's events (the CLI's live view)."""

    def connected(self, stats: StreamStats) -> None: ...

    def committed(self, stats: StreamStats) -> None: ...

    def trouble(self, stats: StreamStats, message: str) -> None: ...


@dataclass
class _Frame:
    first_seq: int
    emitted_at: float
    rows: list[tuple[Any, ...]]


@dataclass
class StreamResult:
    seed: str
    url: str
    received: int
    landed_new: int
    last_seq: int
    reconnects: int


def stream(
    rate: float | str = 1,
    url: str | None = None,
    seed: str | None = None,
    nat: str | Sequence[str] | None = None,
    database_url: str | None = None,
    max_users: int | None = None,
    observer: StreamObserver | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> StreamResult:
    """Land the users of the feed at `url` (default: our feed, started in-process) until stopped (Ctrl-C,
    `should_stop`, or `max_users` received in this run). Without `seed`: resume the newest stream of
    `ops.stream_state` with the same nationalities, else a new seed."""
    users_per_second = parse_rate(rate)
    nats = parse_nationalities(nat)
    given_seed = parse_seed(seed) if seed is not None else None
    base = parse_stream_url(url) if url else None
    if max_users is not None and max_users < 1:
        raise StreamError(f"max users must be at least 1, got {max_users}")
    sizes = Limits.from_env()
    db_url = database_url or warehouse.database_url()
    conn = _connect_database(db_url)
    try:
        seed_in_use, last_seq = _resume_point(conn, given_seed, ",".join(nats))
        stats = StreamStats(seed=seed_in_use, last_seq=last_seq)
        with _local_feed_unless(base) as feed_base:
            stats.url = feed_base
            consumer = _Consumer(conn, db_url, feed_base, users_per_second, nats, stats, observer, should_stop,
                                 max_users, sizes)
            consumer.run()
            conn = consumer.conn
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.close()
    return StreamResult(seed=stats.seed, url=stats.url, received=stats.received, landed_new=stats.landed_new,
                        last_seq=stats.last_seq, reconnects=stats.reconnects)


@contextlib.contextmanager
def _local_feed_unless(base: str | None) -> Iterator[str]:
    if base:
        yield base
        return
    from randomuser_api.stream import LocalStream

    with LocalStream() as feed:
        yield feed.url


def _connect_database(url: str) -> psycopg.Connection:
    try:
        conn = psycopg.connect(url, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise StreamError(f"database unreachable: {one_line(exc, 160)}") from None
    return conn


def _ensure_tables(conn: psycopg.Connection) -> None:
    """ops.stream_state, and raw.users should the stream land first (once the feed has proved to be ours)."""
    with conn.transaction():
        conn.execute(STATE_DDL)
        conn.execute(RAW_DDL)


def _resume_point(conn: psycopg.Connection, seed: str | None, nat: str) -> tuple[str, int]:
    """(seed, last committed sequence) of the stream to continue."""
    if conn.execute("select to_regclass('ops.stream_state')").fetchone() == (None,):
        conn.commit()
        return seed or new_seed(), 0
    if seed is None:
        row = conn.execute("select seed from ops.stream_state where nat = %s order by committed_at desc limit 1",
                           (nat,)).fetchone()
        seed = str(row[0]) if row else new_seed()
    row = conn.execute("select last_seq from ops.stream_state where seed = %s and nat = %s", (seed, nat)).fetchone()
    conn.commit()
    return seed, int(row[0]) if row else 0


class _FeedLost(Exception):
    """The connection to the feed ended or failed; reconnect."""


class _Consumer:
    def __init__(self, conn: psycopg.Connection, db_url: str, base: str, rate: float, nats: tuple[str, ...],
                 stats: StreamStats, observer: StreamObserver | None, should_stop: Callable[[], bool],
                 max_users: int | None, sizes: Limits | None = None) -> None:
        self.conn, self.db_url, self.base, self.rate, self.nats = conn, db_url, base, rate, nats
        self.stats, self.observer, self.should_stop, self.max_users = stats, observer, should_stop, max_users
        self.sizes = sizes or Limits()
        self.max_frame_bytes = min(MAX_FRAME_BYTES, self.sizes.page_bytes)
        self.nat_key = ",".join(nats)
        self.load_id = LOAD_ID_PREFIX + stats.seed
        self.ever_connected = False
        self._staged_on: psycopg.Connection | None = None  # the connection holding the temporary table
        self._registered = False  # the load id is in raw._dlt_loads (done with the first commit)

    def done(self) -> bool:
        return self.should_stop() or (self.max_users is not None and self.stats.received >= self.max_users)

    def run(self) -> None:
        failures = 0
        while not self.done():
            try:
                with self._open() as ws:
                    failures = 0
                    self._consume(ws)
            except _FeedLost as lost:
                if not self.ever_connected and failures + 1 >= FIRST_CONNECT_ATTEMPTS:
                    raise StreamError(f"cannot reach the stream at {self.base}: {lost}") from None
                delay = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS) - 1)]
                failures += 1
                if self.ever_connected:
                    self.stats.reconnects += 1
                self._say(f"stream lost ({lost}); reconnecting in {delay:g} s from sequence "
                          f"{self.stats.last_seq + 1}")
                self._sleep(delay)

    @contextlib.contextmanager
    def _open(self) -> Iterator[ClientConnection]:
        """A connection to the feed from the next sequence on, its hello checked."""
        url = feed_url(self.base, self.stats.seed, self.rate, self.nats, self.stats.last_seq + 1)
        with contextlib.ExitStack() as stack:
            try:
                ws = stack.enter_context(connect(url, open_timeout=OPEN_TIMEOUT_SECONDS, max_queue=MAX_QUEUE_FRAMES,
                                                 compression=None, max_size=self.max_frame_bytes, proxy=None,
                                                 close_timeout=1.0, logger=_websockets_log))
            except InvalidStatus as exc:
                raise StreamError(f"{self.base} is not a userpipe stream feed: it answered HTTP "
                                  f"{exc.response.status_code} {_error_text(exc.response.body)}") from None
            except InvalidURI as exc:
                raise StreamError(f"bad stream URL {self.base}: {one_line(exc, 160)}") from None
            except InvalidHandshake as exc:  # e.g. an answer that is not HTTP; during a restart, a cut handshake
                if not self.ever_connected:
                    raise StreamError(f"{self.base} is not a userpipe stream feed: {one_line(exc, 160)}") from None
                raise _FeedLost(one_line(exc, 120)) from None
            except (OSError, TimeoutError) as exc:
                raise _FeedLost(one_line(exc, 120) or type(exc).__name__) from None
            self._check_hello(ws)
            if not self.ever_connected:
                self._run_database(lambda: _ensure_tables(self.conn))
            self.ever_connected = True
            if self.observer:
                self.observer.connected(self.stats)
            yield ws

    def _check_hello(self, ws: ClientConnection) -> None:
        try:
            message = ws.recv(timeout=OPEN_TIMEOUT_SECONDS)
        except (ConnectionClosed, TimeoutError, OSError) as exc:
            raise _FeedLost(f"no hello from the feed: {one_line(exc, 100)}") from None
        try:
            hello = orjson.loads(message)
        except orjson.JSONDecodeError:
            hello = None
        expected = {"type": "hello", "api": API_NAME, "seed": self.stats.seed, "from": self.stats.last_seq + 1}
        if not isinstance(hello, dict) or any(hello.get(key) != value for key, value in expected.items()):
            raise StreamError(f"{self.base} is not a userpipe stream feed: its first message is not the hello "
                              f"of seed {self.stats.seed} from {self.stats.last_seq + 1} "
                              f"({one_line(message, 80)!r})")

    def _consume(self, ws: ClientConnection) -> None:
        while not self.done():
            batch = self._receive_batch(ws)
            if batch:
                self._commit(batch)

    def _receive_batch(self, ws: ClientConnection) -> list[_Frame]:
        """Frames for one commit: wait up to 1 s for the first (then check for a stop), then COMMIT_SECONDS more."""
        frames: list[_Frame] = []
        users, deadline = 0, time.monotonic() + 1.0
        expected = self.stats.last_seq + 1
        while users < MAX_BATCH_USERS and (self.max_users is None or
                                           self.stats.received + users < self.max_users):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                message = ws.recv(timeout=remaining)
            except TimeoutError:
                break
            except ConnectionClosed as exc:
                if frames:
                    self._commit(frames)  # what arrived whole is landed before reconnecting
                if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:  # sent again on a reconnect
                    raise StreamError(f"stream frame after sequence {expected - 1} from {self.base} is over the "
                                      f"limit of {self.max_frame_bytes:,} bytes a frame ({PAGE_BYTES_ENV}, at "
                                      f"most {MAX_FRAME_BYTES:,}), nothing of it landed") from None
                raise _FeedLost(f"connection closed: {one_line(exc, 100)}") from None
            frame = self._parse_frame(message, expected)
            if self.max_users is not None:  # the last frame is cut at the limit (the rest is sent again later)
                del frame.rows[self.max_users - self.stats.received - users:]
            if not frames:
                deadline = time.monotonic() + COMMIT_SECONDS
            frames.append(frame)
            users += len(frame.rows)
            expected += len(frame.rows)
        return frames

    def _parse_frame(self, message: str | bytes, expected: int) -> _Frame:
        body = message.encode() if isinstance(message, str) else message
        where = f"stream frame after sequence {expected - 1} from {self.base}"
        try:
            head = _frame_head.decode(body)
        except msgspec.ValidationError as exc:
            raise StreamError(f"{where} is not a frame of users ({exc}), nothing of it landed") from None
        except msgspec.DecodeError as exc:
            raise StreamError(f"{where} is malformed JSON ({exc}), nothing of it landed") from None
        if head.type != "users":
            raise StreamError(f"{where} is not a frame of users, nothing of it landed")
        seq, emitted_at, results = head.seq, head.emitted_at, head.results
        if seq != expected or not isinstance(results, list) or not results:
            raise StreamError(f"{where} does not continue the stream (seq {seq!r}, expected {expected}), "
                              "nothing of it landed")
        if isinstance(emitted_at, bool) or not isinstance(emitted_at, int | float) or not math.isfinite(emitted_at):
            raise StreamError(f"{where} has no valid emitted_at, nothing of it landed")
        request = PageRequest(self.stats.seed, expected, len(results), self.nats)
        try:
            page = parse_page(body, request, self.base, self.sizes.user_bytes)
        except IngestError as exc:
            raise StreamError(f"{where}: {exc}, nothing of it landed") from None
        from dlt.common.normalizers.utils import generate_dlt_ids

        version = page.version or "1.4"
        rows = [
            (uuid, payload.decode(), page.fetched_at, page.seed, expected + i, version, self.load_id, dlt_id)
            for i, (uuid, payload, dlt_id) in enumerate(
                zip(page.uuids, page.payloads, generate_dlt_ids(len(page.uuids)), strict=True))
        ]
        return _Frame(first_seq=expected, emitted_at=float(emitted_at), rows=rows)

    def _commit(self, frames: list[_Frame]) -> None:
        """Land the frames' rows and advance the stream's state in one transaction; retried until the database
        answers (the feed is not read meanwhile)."""
        rows = [row for frame in frames for row in frame.rows]
        previous, last_seq = self.stats.last_seq, frames[-1].first_seq + len(frames[-1].rows) - 1

        def land() -> int:
            with self.conn.transaction():
                if self._staged_on is not self.conn:
                    self.conn.execute(STAGE_SQL)
                    self._staged_on = self.conn
                with self.conn.cursor().copy(COPY_SQL) as copy:
                    for row in rows:
                        copy.write_row(row)
                inserted = self.conn.execute(INSERT_SQL).rowcount
                if not self._registered:
                    self.conn.execute(REGISTER_LOAD_SQL, {"load_id": self.load_id})
                advanced = self.conn.execute(ADVANCE_SQL, {
                    "seed": self.stats.seed, "nat": self.nat_key, "last_seq": last_seq,
                    "emitted_at": frames[-1].emitted_at, "received": len(rows), "new": inserted,
                    "previous": previous,
                }).rowcount
                if advanced != 1:
                    raise StreamError(f"another consumer advanced stream {self.stats.seed} past sequence "
                                      f"{previous}; stopping (nothing of this batch landed)")
            return inserted

        inserted = self._run_database(land, f"holding {len(rows)} users after sequence {previous}")
        self._registered = True
        committed = time.time()
        stats = self.stats
        stats.received += len(rows)
        stats.landed_new += inserted
        stats.last_seq = last_seq
        stats.commits += 1
        stats.recent.append((time.monotonic(), len(rows)))
        for frame in frames:
            stats.lags.extend([committed - frame.emitted_at] * len(frame.rows))
        if self.observer:
            self.observer.committed(stats)

    def _run_database(self, work: Callable[[], T], holding: str = "") -> T:
        """`work()`, retried with backoff while the database is unreachable (said once, and once it is back)."""
        attempt = 0
        while True:
            try:
                result = work()
                break
            except psycopg.OperationalError as exc:
                if self.should_stop():
                    raise StreamError(f"stopped while the database was unreachable ({holding or 'nothing held'}; "
                                      "the feed sends those users again)") from None
                if not self.stats.database_down:
                    self.stats.database_down = True
                    self._say(f"database unreachable ({one_line(exc, 100)}); {holding + ', ' if holding else ''}"
                              f"not reading the feed, retrying every <= {BACKOFF_SECONDS[-1]:g} s")
                self._sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)])
                attempt += 1
                self.conn = self._reconnect_database()
        if self.stats.database_down:
            self.stats.database_down = False
            self._say("database back; streaming again")
        return result

    def _reconnect_database(self) -> psycopg.Connection:
        with contextlib.suppress(psycopg.Error):
            self.conn.close()
        try:
            return psycopg.connect(self.db_url, connect_timeout=3)
        except psycopg.OperationalError:
            return self.conn  # still down: the next attempt fails again and waits

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.should_stop() and time.monotonic() < end:
            time.sleep(min(0.05, end - time.monotonic()) if end > time.monotonic() else 0)

    def _say(self, message: str) -> None:
        if self.observer:
            self.observer.trouble(self.stats, message)
        else:
            log.warning("%s", message)


def _error_text(body: bytes | None) -> str:
    try:
        error = orjson.loads(body or b"").get("error")
    except (orjson.JSONDecodeError, AttributeError):
        error = None
    return f"({one_line(error, 120)})" if error else "(not a WebSocket feed)"
