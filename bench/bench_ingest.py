"""Benchmark: ingest (API -> rows committed in raw.users) against a plain PostgreSQL COPY of the same rows.

Run: `.venv/bin/python bench/bench_ingest.py [--users 50000] [--rounds 5]` (USERPIPE_HOME / USERPIPE_DATABASE_URL
name the server, as for every userpipe command; the bench works in scratch databases it drops afterwards).

It prints, measured in the same run on the same users:
- local API users/s: the pages of the batch fetched over HTTP from an in-process LocalApi (nothing stored);
- ingest users/s, twice: (a) from a LocalApi generating every page, as `userpipe ingest` does, and (b) from
  a replay API serving the same pages pre-rendered (the generator's CPU off the clock, as with a remote API);
- COPY users/s: `COPY (key text, payload jsonb)` of the rows ingest landed (uuid, payload);
- the ratios ingest/COPY. Target: >= 0.5 with the API off the clock (b).
Each round runs in a fresh process (ingest after a 10-user warm-up batch, then COPY after a 10-row warm-up) and
reports the best of the rounds per side and the median of the paired ratios: this machine's speed varies from
minute to minute. A benchmark, not a test: it prints, it does not assert.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import pickle
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import psycopg
import requests
import scratch_databases

from ingestion.pipeline import IngestResult, ingest
from ingestion.randomuser.helpers import BatchPlan
from randomuser_api import LocalApi, build_response
from userpipe import warehouse

TARGET_RATIO = 0.5
WARM_UP_USERS, WARM_UP_SEED = 10, "warm-up"


@dataclass(frozen=True)
class Measure:
    users: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.users / self.seconds


class ReplayApi:
    """A randomuser-compatible server answering from pre-rendered bodies (byte-identical to LocalApi's)."""

    def __init__(self, bodies: dict[tuple[tuple[str, str], ...], bytes]) -> None:
        self.bodies = bodies
        handler = self._handler()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = bodies.get(_query_key(self.path))
                status = 200 if body is not None else 404
                body = body if body is not None else b'{"error": "not pre-rendered"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def __enter__(self) -> ReplayApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _query_key(path: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(parse_qsl(urlsplit(path).query)))


def page_queries(users: int, seed: str) -> list[dict[str, str]]:
    return [r.params() for r in BatchPlan(seed, 1, users).requests()]


Bodies = dict[tuple[tuple[str, str], ...], bytes]


def bench_api(api_url: str, queries: list[dict[str, str]], keep: bool) -> tuple[Measure, Bodies]:
    """Fetch every page once (no parsing); with `keep`, also returns the bodies for the replay API (kept once
    only: ingest forks worker processes, and a bigger bench process makes every fork slower)."""
    bodies = {}
    with requests.Session() as session:
        for warm_up in page_queries(WARM_UP_USERS, WARM_UP_SEED):  # also served by the replay API
            response = session.get(api_url, params=warm_up, timeout=60)
            response.raise_for_status()
            bodies[tuple(sorted(warm_up.items()))] = response.content
        started = time.perf_counter()
        for query in queries:
            response = session.get(api_url, params=query, timeout=120)
            response.raise_for_status()
            if keep:
                bodies[tuple(sorted(query.items()))] = response.content
        seconds = time.perf_counter() - started
    return Measure(sum(int(q["results"]) for q in queries), seconds), bodies


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    name = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    try:
        yield scratch_databases.create(name)
    finally:
        scratch_databases.drop(name)


def bench_ingest(users: int, seed: str, api_url: str | None, database_url: str) -> tuple[Measure, IngestResult]:
    """One `ingest()` into an empty database, in a private dlt working dir; the warm-up batch creates the
    tables first so the measure is a steady-state batch."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as home:
        previous = os.environ.get(warehouse.HOME_ENV)
        os.environ[warehouse.HOME_ENV] = home
        try:
            ingest(WARM_UP_USERS, seed=WARM_UP_SEED, api_url=api_url, database_url=database_url)
            started = time.perf_counter()
            result = ingest(users, seed=seed, api_url=api_url, database_url=database_url)
            seconds = time.perf_counter() - started
        finally:
            _restore_env(warehouse.HOME_ENV, previous)
    if result.users_new != users:
        raise SystemExit(f"ingest landed {result.users_new} new users, expected {users}")
    return Measure(users, seconds), result


def bench_copy(database_url: str, load_id: str) -> Measure:
    """COPY the rows of one load (uuid, payload as JSON text) into a fresh (key text, payload jsonb) table, after
    a warm-up COPY of a few rows (as ingest's measure follows a warm-up batch)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("select uuid, payload::text from raw.users where _dlt_load_id = %s", (load_id,)).fetchall()
        conn.execute("create table bench_copy (key text, payload jsonb)")
        with conn.cursor() as cursor, cursor.copy("copy bench_copy (key, payload) from stdin") as copy:
            for row in rows[:WARM_UP_USERS]:
                copy.write_row(row)
        conn.execute("truncate bench_copy")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy("copy bench_copy (key, payload) from stdin") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("drop table bench_copy")
        conn.commit()
    return Measure(len(rows), seconds)


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _server_url() -> str:
    return urlsplit(warehouse.database_url())._replace(path="/postgres").geturl()


def ingest_then_copy(users: int, seed: str, bodies_file: str | None) -> tuple[Measure, Measure]:
    """One round in a fresh process: ingest into a scratch database (from a replay API serving the bodies
    pickled in `bodies_file`, else from a LocalApi as `userpipe ingest` does), then COPY the same rows there.
    A fresh process per round: rounds share no heap, and the bench's own (the API's data, the bodies) would
    otherwise slow the forks of ingest's workers and its garbage collections."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_round, users, seed, bodies_file).result()


def _round(users: int, seed: str, bodies_file: str | None) -> tuple[Measure, Measure]:
    with contextlib.ExitStack() as stack:
        api_url = None
        if bodies_file:
            api_url = stack.enter_context(ReplayApi(pickle.loads(Path(bodies_file).read_bytes()))).url
        database = stack.enter_context(scratch_database())
        ingested, result = bench_ingest(users, seed, api_url, database)
        if result.load_id is None:
            raise SystemExit("ingest loaded nothing")
        return ingested, bench_copy(database, result.load_id)


def report(label: str, rounds: list[tuple[Measure, Measure]]) -> None:
    """Best of the rounds for each side (the machine may be shared), and the median of the paired ratios."""
    best_ingest = max((i for i, _ in rounds), key=lambda m: m.rate)
    best_copy = max((c for _, c in rounds), key=lambda m: m.rate)
    paired = sorted(i.rate / c.rate for i, c in rounds)
    print(f"  {label:<58} {best_ingest.rate:>10,.0f} users/s  ({best_ingest.seconds:.2f} s)")
    print(f"  {'    COPY of the same rows into (key text, payload jsonb)':<58} {best_copy.rate:>10,.0f} users/s"
          f"  ({best_copy.seconds:.2f} s)")
    print(f"  {'    ratio ingest/COPY: best/best, median of rounds':<58} {best_ingest.rate / best_copy.rate:>10.2f}"
          f"  {paired[len(paired) // 2]:.2f}  (rounds: {', '.join(f'{r:.2f}' for r in paired)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000, help="users per batch (1..100000)")
    parser.add_argument("--seed", default="bench", help="seed of the batch")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per measure (best and median reported)")
    args = parser.parse_args()
    build_response({"results": "1"})  # load the generator's data files once
    queries = page_queries(args.users, args.seed)
    print(f"ingest benchmark: {args.users:,} users, seed {args.seed}, {len(queries)} page(s), {args.rounds} round(s), "
          f"{os.cpu_count()} CPU(s), server {warehouse.redact(_server_url())}")
    with LocalApi() as api:
        api_rounds = [bench_api(api.url, queries, keep=round_ == 0) for round_ in range(args.rounds)]
    bodies = api_rounds[0][1]
    best_api = max((m for m, _ in api_rounds), key=lambda m: m.rate)
    print(f"  {'local API (LocalApi, HTTP GET, no parsing)':<58} {best_api.rate:>10,.0f} users/s"
          f"  ({best_api.seconds:.2f} s)")
    live = [ingest_then_copy(args.users, args.seed, None) for _ in range(args.rounds)]
    report("(a) ingest from LocalApi, generating (as userpipe ingest)", live)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
        bodies_file = Path(folder) / "bodies.pickle"
        bodies_file.write_bytes(pickle.dumps(bodies))
        replayed = [ingest_then_copy(args.users, args.seed, str(bodies_file)) for _ in range(args.rounds)]
    report("(b) ingest from a replay API (pages pre-rendered)", replayed)
    print(f"target: ratio >= {TARGET_RATIO} with the API off the clock (b)")


if __name__ == "__main__":
    main()
