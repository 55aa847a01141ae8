"""Benchmark: userpipe at 10k users against a big warehouse (issue #14), every ratio measured in one run.

Run: `.venv/bin/python bench/bench_scale.py [--small 10000] [--big 200000] [--backlogs 100000] [--minutes 2]`,
or `--full` for the issue's sizes (10k against 10M, backlogs of 1M and 8M, 10 minutes sustained).

Two databases on one server (USERPIPE_DATABASE_URL's, else the embedded one in $USERPIPE_HOME):
`bench_scale_small` and `bench_scale_big`. Each is driven by a worker process of its own (its own
USERPIPE_HOME under $USERPIPE_HOME/bench-scale/, so dlt's state and dbt's target are its own), holding one
`CycleRunner` (the local API and the dbt Transformer stay warm across cycles, as in `userpipe run`).

Phases, each printed as a row with the machine's load average beside it:
1. prefill: 50,000 users landed by our own ingest pipeline (API -> dlt -> raw.users), then copies of them with
   fresh uuids made in SQL (payload's login.uuid replaced), landed 5,000 a minute in the past, registered as a
   completed load. The big database is filled in steps: its first part, then each backlog.
2. backlog builds (big): `dbt build` after the first part (a first build) and after each backlog (an
   incremental catch-up): rows/s and the temporary bytes the server spilled (pg_stat_database.temp_bytes).
3. warm cycles: `--cycles` cycles of 5,000 users (ingest -> dbt build -> checks, recorded), interleaved
   small/big (order alternating per round) after one warm-up each: medians and the ratio big/small.
4. panels, idle (no users landing): every panel's SQL of the shipped dashboard, macros expanded as Grafana does
   (userpipe/dashboard/macros.py, range now-30m), on the big database: median of `--panel-rounds`.
5. sustained (big): cycles of `--sustained-batch` users started every `--interval` s for `--minutes` minutes
   (a cycle past its interval: the next starts at once, counted), every batch checked; meanwhile the panels are
   timed again (panels while users land).
6. cold: `userpipe run --once --batch-size 5000` in a fresh process and a fresh USERPIPE_HOME (dlt, dbt and
   GX imported and parsed), then `userpipe check` in a fresh process, against the big database.

Seeds: every seed this bench passes ends with a letter and holds a '-', so it never meets another seed's page
(the API derives a page's generator from seed + page number: docs/API_REFERENCE.md); the cycles' own streams
start at a fresh 16-character seed per worker home. A benchmark, not a test: it prints, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import scratch_databases  # noqa: E402  (bench/, beside this file)

from userpipe import warehouse  # noqa: E402

TEMPLATE_USERS = 50_000  # landed by the real pipeline; the rest are SQL copies of them
USERS_PER_MINUTE = 5_000  # how the prefill spreads landing times (one landing time per 5,000, as one page)
CLONE_CHUNK = 500_000  # rows per INSERT ... SELECT (one transaction each)
BYTES_PER_USER = 2_800  # raw.users + incoming_users + indexes: 2.4 KB per user measured at 200k, with margin
CYCLE_BATCH = 5_000
RESULT = "BENCH-RESULT "
ERRORS: dict[str, int] = {}  # panel title -> queries that failed (reported with the panel's figures)
USERPIPE = str(Path(sys.executable).with_name("userpipe"))


# -- output ---------------------------------------------------------------------------------------------------

def load_text() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def row(phase: str, figure: str, target: str = "") -> None:
    """One result line: phase, figure, target (and whether met), the load average when printed."""
    print(f"{phase:<34} {figure:<62} {target:<26} {load_text()}", flush=True)


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


# -- the worker: one process per database -----------------------------------------------------------------------

def worker_main() -> None:
    """Read JSON commands from stdin, answer each with one RESULT line (runs inside the database's own env)."""
    from dataclasses import replace

    from userpipe.cycle import CycleRunner, CycleSettings

    logging.basicConfig(level=logging.WARNING)
    runner = CycleRunner(CycleSettings(batch_size=CYCLE_BATCH), database_url=os.environ["USERPIPE_DATABASE_URL"])
    runner.__enter__()
    try:
        for line in sys.stdin:
            command = json.loads(line)
            try:
                answer = _work(runner, command, replace)
            except Exception as exc:  # reported to the parent, which stops with it
                answer = {"worker_error": f"{type(exc).__name__}: {exc}"}
            print(RESULT + json.dumps(answer, default=str), flush=True)
            if command["op"] == "quit":
                break
    finally:
        runner.__exit__(None, None, None)


def _work(runner: Any, command: dict[str, Any], replace: Any) -> dict[str, Any]:
    op = command["op"]
    if op == "ingest":
        from ingestion.pipeline import ingest

        result = ingest(command["users"], seed=command["seed"])
        return {"load_id": result.load_id, "users_new": result.users_new, "seconds": result.seconds}
    if op == "parse":  # dbt imported and the project parsed, so that a timed build is the build alone
        started = time.perf_counter()
        runner.transformer().parse()
        return {"seconds": time.perf_counter() - started}
    if op == "build":
        started = time.perf_counter()
        built = runner.transformer().build()
        return {"seconds": time.perf_counter() - started, "dbt_seconds": built.seconds}
    if op == "cycle":
        runner.settings = replace(runner.settings, batch_size=command["batch"],
                                  ingest_time_limit=command.get("time_limit"))
        return _record(runner.run_cycle())
    if op == "sustain":
        return {"cycles": _sustain(runner, command, replace)}
    if op == "quit":
        return {}
    raise ValueError(f"unknown op {op!r}")


def _record(record: Any) -> dict[str, Any]:
    return {"status": record.status, "error": record.error, "seconds": record.seconds,
            "ingest": record.ingest_seconds, "transform": record.transform_seconds, "check": record.check_seconds,
            "users_new": record.users_new, "run_id": record.run_id}


def _sustain(runner: Any, command: dict[str, Any], replace: Any) -> list[dict[str, Any]]:
    """Cycles of `batch` users started every `interval` s (at once after one that overran) until `seconds`."""
    interval, batch = command["interval"], command["batch"]
    runner.settings = replace(runner.settings, batch_size=batch,
                              ingest_time_limit=max(10.0, 0.75 * interval))
    end = time.monotonic() + command["seconds"]
    cycles = []
    next_start = time.monotonic()
    while next_start < end:
        time.sleep(max(0.0, next_start - time.monotonic()))
        started = time.monotonic()
        record = _record(runner.run_cycle())
        record["started"] = started
        record["overran"] = time.monotonic() > started + interval
        cycles.append(record)
        next_start = max(started + interval, time.monotonic())
    return cycles


@dataclass
class Database:
    """One benchmark database and its worker process."""

    name: str
    url: str
    home: Path
    process: subprocess.Popen[str] | None = None
    rows: int = 0
    history_start: datetime = field(default_factory=lambda: datetime.now(UTC))  # first landing time of the prefill

    @property
    def rows_label(self) -> str:
        return f"{self.name} {self.rows:,}"

    def start(self) -> None:
        env = {**os.environ, "USERPIPE_HOME": str(self.home), "USERPIPE_DATABASE_URL": self.url}
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)

    def call(self, op: str, **options: Any) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"op": op, **options}) + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith(RESULT):
                answer: dict[str, Any] = json.loads(line[len(RESULT):])
                if "worker_error" in answer:
                    raise SystemExit(f"{self.name}: {op} failed: {answer['worker_error']}")
                return answer
            sys.stderr.write(f"[{self.name}] {line}")
        raise SystemExit(f"{self.name}: worker ended during {op}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.call("quit")
                self.process.wait(timeout=60)
            except (SystemExit, subprocess.TimeoutExpired, BrokenPipeError):
                self.process.kill()
        self.process = None


# -- prefill ---------------------------------------------------------------------------------------------------

def prefill(db: Database, rows: int, seed: str) -> float:
    """Bring raw.users to `rows` (the first time: a real ingest of the template users first); seconds taken."""
    started = time.perf_counter()
    with psycopg.connect(db.url, autocommit=True) as conn:
        if db.rows == 0:
            template = db.call("ingest", users=min(TEMPLATE_USERS, rows), seed=seed)
            conn.execute("create table bench_template as select row_number() over () - 1 as i, payload,"
                         " request_seed, request_page, api_version from raw.users where _dlt_load_id = %s",
                         (template["load_id"],))
            conn.execute("update raw.users set fetched_at = %s where _dlt_load_id = %s",
                         (db.history_start, template["load_id"]))
            conn.execute("insert into raw._dlt_loads (load_id, schema_name, status, inserted_at,"
                         " schema_version_hash) select 'bench-clones', schema_name, 0, inserted_at,"
                         " schema_version_hash from raw._dlt_loads where load_id = %s", (template["load_id"],))
            db.rows = template["users_new"]
        [(count,)] = conn.execute("select count(*) from bench_template").fetchall()
        while db.rows < rows:
            chunk = min(CLONE_CHUNK, rows - db.rows)
            conn.execute(
                """
                insert into raw.users (uuid, payload, fetched_at, request_seed, request_page, api_version,
                                       _dlt_load_id, _dlt_id)
                select copy.new_uuid, jsonb_set(t.payload, '{login,uuid}', to_jsonb(copy.new_uuid)),
                       %(start)s + make_interval(mins => (copy.n / %(per_minute)s)::int),
                       t.request_seed, t.request_page, t.api_version, 'bench-clones', md5(copy.new_uuid)
                from (select gen_random_uuid()::text as new_uuid, g.n
                      from generate_series(%(first)s::bigint, %(last)s::bigint) as g(n)) as copy
                join bench_template as t on t.i = copy.n %% %(count)s
                """,
                {"start": db.history_start, "per_minute": USERS_PER_MINUTE, "first": db.rows,
                 "last": db.rows + chunk - 1, "count": count})
            db.rows += chunk
        conn.execute("analyze raw.users")
    return time.perf_counter() - started


def temp_bytes(db: Database) -> int:
    time.sleep(1.1)  # backends flush their statistics at most once a second
    with psycopg.connect(db.url) as conn:
        [(spilled,)] = conn.execute("select coalesce(temp_bytes, 0) from pg_stat_database"
                                    " where datname = current_database()").fetchall()
    return int(spilled)


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        [(value,)] = conn.execute(sql.encode()).fetchall()
    return int(value)


def build_timed(db: Database, label: str, new_rows: int) -> None:
    before = temp_bytes(db)
    built = db.call("build")
    spilled = temp_bytes(db) - before
    rate = new_rows / built["seconds"]
    held = count(db.url, "select count(*) from public.incoming_users")
    row(f"backlog build {label}", f"{new_rows:,} new rows in {built['seconds']:.1f} s = {rate:,.0f} rows/s, "
        f"spilled {spilled / 2**20:,.0f} MiB", f">= 40,000/s, no spill: {verdict(rate >= 40_000 and spilled == 0)}")
    if held != db.rows:
        row(f"backlog build {label}", f"WARNING: incoming_users holds {held:,}, raw.users {db.rows:,}")


# -- panels ----------------------------------------------------------------------------------------------------

def panel_queries() -> list[tuple[str, str]]:
    """(title, SQL with Grafana's macros expanded for now-30m) of every panel target of the shipped dashboard."""
    from userpipe.dashboard import definition
    from userpipe.dashboard.macros import expand

    dashboard = definition.load()
    titles = {panel["id"]: panel["title"] for panel in definition.all_panels(dashboard.document["panels"])}
    page_range = definition.time_range("now-30m")
    return [(titles[query.panel_id], expand(query.raw_sql, query.time_range(page_range)))
            for query in dashboard.queries]


def time_panels(url: str, rounds: int, stop: threading.Event | None = None,
                pause: float = 0.0) -> dict[str, list[float]]:
    """Seconds per panel query (client wall: execute + fetch), `rounds` rounds after one warm-up round.

    Each panel on a connection of its own (the page's pool runs them on several): a query right after a heavy
    one on the same backend was seen ~8x slower than on another, which would charge one panel for another's cost."""
    queries = panel_queries()
    seconds: dict[str, list[float]] = {title: [] for title, _ in queries}
    connections = [psycopg.connect(url, autocommit=True) for _ in queries]
    try:
        for round_ in range(rounds + 1):
            if stop is not None and stop.is_set():
                break
            for conn, (title, sql) in zip(connections, queries, strict=True):
                started = time.perf_counter()
                try:
                    conn.execute(sql.encode()).fetchall()
                except psycopg.Error:  # e.g. a view dbt is recreating at that moment: counted, as a panel shows it
                    ERRORS[title] = ERRORS.get(title, 0) + 1
                    continue
                if round_:
                    seconds[title].append(time.perf_counter() - started)
            if pause:
                time.sleep(pause)
    finally:
        for conn in connections:
            conn.close()
    return seconds


def report_panels(phase: str, seconds: dict[str, list[float]], note: str) -> None:
    medians = {title: statistics.median(times) for title, times in seconds.items() if times}
    if not medians:
        row(phase, "no panel round finished")
        return
    slow = sorted(medians.items(), key=lambda item: item[1], reverse=True)
    rounds = min(len(times) for times in seconds.values())
    over = [title for title, median in medians.items() if median > 0.001]
    row(phase, f"{len(medians)} panels, {rounds} rounds ({note}); slowest median {slow[0][0]} {ms(slow[0][1])}",
        f"<= 1 ms each: {verdict(not over)}")
    for title, median in slow:
        times = sorted(seconds[title])
        failed = f"  {ERRORS[title]} failed" if ERRORS.get(title) else ""
        print(f"{'':<36}{title:<40} median {ms(median):>10}  max {ms(times[-1]):>10}{failed}", flush=True)
    ERRORS.clear()


# -- phases ----------------------------------------------------------------------------------------------------

def warm_cycles(small: Database, big: Database, rounds: int) -> tuple[float, float]:
    for db in (small, big):  # warm-up: GX's context, the API's first pages, dbt's first incremental build
        record = db.call("cycle", batch=CYCLE_BATCH)
        row(f"warm-up cycle {db.name}", f"{record['status']} in {record['seconds']:.2f} s")
    seconds: dict[str, list[dict[str, Any]]] = {small.name: [], big.name: []}
    for round_ in range(rounds):
        for db in (small, big) if round_ % 2 == 0 else (big, small):
            record = db.call("cycle", batch=CYCLE_BATCH)
            if record["status"] != "success":
                row(f"cycle {db.name}", f"{record['status']}: {record['error']}")
            seconds[db.name].append(record)
    medians = {}
    for db in (small, big):
        records = seconds[db.name]
        medians[db.name] = statistics.median(r["seconds"] for r in records)
        steps = ", ".join(f"{step} {statistics.median(r[step] or 0 for r in records):.2f}"
                          for step in ("ingest", "transform", "check"))
        ok = sum(r["status"] == "success" for r in records)
        row(f"warm cycle {db.rows_label}", f"median {medians[db.name]:.2f} s of {len(records)} ({steps}); "
            f"{ok} succeeded", f"<= 3 s: {verdict(medians[db.name] <= 3)}" if db is big else "")
    ratio = medians[big.name] / medians[small.name]
    row("warm cycle ratio big/small", f"{ratio:.2f} (interleaved, same server)", f"<= 1.2: {verdict(ratio <= 1.2)}")
    return medians[small.name], medians[big.name]


def sustained(big: Database, minutes: float, interval: float, batch: int, panel_pause: float) -> None:
    stop = threading.Event()
    timings: dict[str, dict[str, list[float]]] = {}

    def measure() -> None:
        timings["panels"] = time_panels(big.url, rounds=10**6, stop=stop, pause=panel_pause)

    before = count(big.url, "select count(*) from raw.users")
    thread = threading.Thread(target=measure, daemon=True)
    started = time.monotonic()
    thread.start()
    cycles = big.call("sustain", seconds=minutes * 60, interval=interval, batch=batch)["cycles"]
    elapsed = time.monotonic() - started
    stop.set()
    thread.join(timeout=120)
    landed = count(big.url, "select count(*) from raw.users") - before
    big.rows += landed
    walls = sorted(c["seconds"] for c in cycles)
    failed = [c for c in cycles if c["status"] != "success"]
    overran = sum(c["overran"] for c in cycles)
    per_hour = landed / elapsed * 3600
    half = len(cycles) // 2 or 1
    first, last = (statistics.median(c["seconds"] for c in part) for part in (cycles[:half], cycles[half:] or cycles))
    row(f"sustained {minutes:g} min at {big.rows_label}", f"{per_hour / 1e6:.2f}M users/hour ({landed:,} landed in "
        f"{elapsed:.0f} s, {len(cycles)} cycles of {batch:,} every {interval:g} s)",
        f">= 10M/hour: {verdict(per_hour >= 10e6)}")
    row("sustained cycle wall", f"p50 {statistics.median(walls):.1f} s, max {walls[-1]:.1f} s; first half p50 "
        f"{first:.1f} s, second half {last:.1f} s", f"inside {interval:g} s: {verdict(overran == 0)}")
    row("sustained outcomes", f"{len(cycles) - len(failed)} succeeded (checks passed), {len(failed)} failed, "
        f"{overran} past their interval")
    for record in failed[:3]:
        print(f"{'':<36}{record['run_id']}: {record['status']}: {record['error']}", flush=True)
    rate = landed / elapsed * 60
    report_panels(f"panels while users land at {big.rows_label}", timings.get("panels", {}),
                  f"{rate:,.0f} users/min landing")


def cold(big: Database, root: Path) -> None:
    home = root / "cold"
    env = {**os.environ, "USERPIPE_HOME": str(home), "USERPIPE_DATABASE_URL": big.url}
    started = time.perf_counter()
    result = subprocess.run([USERPIPE, "run", "--once", "--batch-size", str(CYCLE_BATCH), "--no-dashboard",
                             "--plain"], env=env, capture_output=True, text=True, timeout=1800, check=False)
    wall = time.perf_counter() - started
    with psycopg.connect(big.url) as conn:
        newest = conn.execute("select status, extract(epoch from ended_at - started_at), ingest_seconds,"
                              " transform_seconds, check_seconds from ops.pipeline_runs"
                              " order by started_at desc limit 1").fetchone()
    assert newest is not None
    status, seconds, ingest, transform, check = newest
    row("cold first cycle (fresh process)", f"{status} in {float(seconds):.2f} s (ingest {ingest:.2f}, transform "
        f"{transform:.2f}, check {check:.2f}); process {wall:.1f} s", f"<= 6 s: {verdict(float(seconds) <= 6)}")
    if result.returncode != 0:
        print(f"{'':<36}exit {result.returncode}: {result.stderr.strip()[-300:]}", flush=True)
    started = time.perf_counter()
    checked = subprocess.run([USERPIPE, "check"], env=env, capture_output=True, text=True, timeout=1800,
                             check=False)
    wall = time.perf_counter() - started
    row("userpipe check (fresh process)", f"exit {checked.returncode} in {wall:.2f} s",
        f"<= 3 s: {verdict(wall <= 3)}")
    if checked.returncode != 0:
        print(f"{'':<36}{checked.stderr.strip()[-300:]}", flush=True)


# -- main ------------------------------------------------------------------------------------------------------

def disk_is_short(big: int, backlogs: list[int], minutes: float, batch: int, interval: float) -> bool:
    """Say the free space and the estimate in one line; True when short."""
    sustained_users = minutes * 60 / interval * batch
    needed = (big + sustained_users) * BYTES_PER_USER + 2 * 2**30
    place = warehouse.home() if warehouse.configured_url() is None else Path.cwd()
    place.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(place).free
    short = free < needed
    where = "the embedded server's disk" if warehouse.configured_url() is None else \
        "this disk (USERPIPE_DATABASE_URL's server: its own disk not checked)"
    print(f"disk: {free / 2**30:.0f} GiB free on {where} ({place}), ~{needed / 2**30:.0f} GiB needed"
          + (": SHORT, stopping" if short else ""), flush=True)
    return short


@contextmanager
def databases(root: Path, keep: bool) -> Iterator[tuple[Database, Database]]:
    small = Database("small", scratch_databases.create("bench_scale_small"), root / "small")
    big = Database("big", scratch_databases.create("bench_scale_big"), root / "big")
    try:
        small.start()
        big.start()
        yield small, big
    finally:
        small.stop()
        big.stop()
        if not keep:
            for name in ("bench_scale_small", "bench_scale_big"):
                scratch_databases.drop(name)
            shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--full", action="store_true",
                        help="the issue's sizes: --small 10000 --big 10000000 --backlogs 1000000,8000000 "
                        "--minutes 10 --cycles 10")
    parser.add_argument("--small", type=int, default=10_000, help="users in the small database (default 10,000)")
    parser.add_argument("--big", type=int, default=200_000, help="users in the big database before the cycles")
    parser.add_argument("--backlogs", default="100000",
                        help="comma-separated backlog sizes built incrementally at the end of the big prefill")
    parser.add_argument("--cycles", type=int, default=5, help="warm 5,000-user cycles per database (interleaved)")
    parser.add_argument("--minutes", type=float, default=2.0, help="length of the sustained phase")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between sustained cycle starts")
    parser.add_argument("--sustained-batch", type=int, default=100_000, help="users per sustained cycle")
    parser.add_argument("--panel-rounds", type=int, default=20, help="timed rounds of every panel, quiet")
    parser.add_argument("--keep", action="store_true", help="keep the databases and worker homes afterwards")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main()
        return 0
    if args.full:
        args.small, args.big, args.backlogs, args.minutes, args.cycles = 10_000, 10_000_000, "1000000,8000000", \
            10.0, 10
    backlogs = [int(size) for size in args.backlogs.split(",") if size]
    first_part = args.big - sum(backlogs)
    if first_part < TEMPLATE_USERS or args.small < 1:
        parser.error(f"--big must exceed the backlogs by at least {TEMPLATE_USERS:,}; --small must be positive")
    logging.basicConfig(level=logging.WARNING)
    started = time.monotonic()
    tag = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    print(f"bench_scale {tag}: small {args.small:,}, big {args.big:,} (first {first_part:,} + backlogs "
          f"{', '.join(f'{b:,}' for b in backlogs)}), {os.cpu_count()} cores, {load_text()} (1/5 min)", flush=True)
    if disk_is_short(args.big, backlogs, args.minutes, args.sustained_batch, args.interval):
        return 1
    root = warehouse.home() / "bench-scale" / tag
    print(f"{'phase':<34} {'figure':<62} {'target':<26} load 1/5 min", flush=True)
    with databases(root, args.keep) as (small, big):
        for db, size in ((small, args.small), (big, args.big)):  # landed 5,000 a minute, ending before now
            db.history_start = datetime.now(UTC) - timedelta(minutes=size // USERS_PER_MINUTE + 10)
        for db, size in ((small, args.small), (big, first_part)):
            seconds = prefill(db, size, seed=f"scale-{tag}-{db.name}-template-x")
            row(f"prefill {db.name} {size:,}", f"{seconds:.1f} s ({TEMPLATE_USERS if size > TEMPLATE_USERS else size:,}"
                f" ingested by our pipeline, the rest SQL copies with fresh uuids)")
        for db in (small, big):
            parsed = db.call("parse")
            row(f"dbt import + parse {db.name}", f"{parsed['seconds']:.1f} s (once per worker, not timed below)")
        built = small.call("build")
        row(f"first build small {args.small:,}", f"{built['seconds']:.1f} s")
        build_timed(big, f"first {first_part:,}", first_part)
        for backlog in backlogs:
            seconds = prefill(big, big.rows + backlog, seed="unused")
            row(f"prefill backlog {backlog:,}", f"{seconds:.1f} s (SQL copies, landed after the built rows)")
            build_timed(big, f"{backlog:,} on {big.rows - backlog:,}", backlog)
        warm_cycles(small, big, args.cycles)
        for db in (small, big):
            db.rows = count(db.url, "select count(*) from raw.users")
        report_panels(f"panels idle at {big.rows_label}", time_panels(big.url, args.panel_rounds), "no users landing")
        sustained(big, args.minutes, args.interval, args.sustained_batch, panel_pause=1.0)
        cold(big, root)
    row("bench_scale done", f"{(time.monotonic() - started) / 60:.1f} min in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
