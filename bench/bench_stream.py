"""Benchmark: latency of `userpipe stream` from the feed's emit time to the row visible to the live latest-users
query, at 1, 100 and 1000 users/s, then higher rates until p95 reaches 1 s.

Run: `.venv/bin/python bench/bench_stream.py [--seconds 10] [--full] [--max-rates 2000,3000,5000]`.
In a database of its own (on USERPIPE_DATABASE_URL's server, else the embedded one in $USERPIPE_HOME): 1,000
users landed by `ingest` and built by dbt (the live views exist, incoming_users is not empty), then per rate:
our feed in this process (its frames' emit times recorded), `userpipe stream --url ... --plain` as a
subprocess, and this process polling `marts.latest_users_live` (what the "Latest Users (live)" panel reads)
back to back. A user's latency is the time of the first poll whose answer holds it minus the emit time of
its frame; users that came and went between two polls (more than 50 a poll) are counted as "unseen". No dbt
build runs during a rate (at 60 s a rate: the minute cycle's worst case, a minute of stream pending); one runs
between rates, as the cycle would.
Load printed beside: the machine's 1-minute load average, the CPU used by the consumer process (from its first
user seen on) and by this process (feed + poller), as a share of one core. A benchmark, not a test: it prints,
it does not assert.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import scratch_databases

from ingestion.pipeline import ingest
from randomuser_api.stream import LocalStream, stream_user
from userpipe import warehouse
from userpipe.transform import Transformer

USERPIPE = str(Path(sys.executable).with_name("userpipe"))
POLL_SQL = "select user_id from marts.latest_users_live"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_rate(url: str, rate: float, seconds: float, home: Path) -> dict[str, float | int | str]:
    seed = f"bench{uuid.uuid4().hex[:8]}"
    expected = max(1, int(rate * seconds))
    # uuid -> seq of the users this run will stream (deterministic), seq -> emit time (recorded by the feed)
    seq_of = {stream_user(seed, seq)["login"]["uuid"]: seq for seq in range(1, expected + 1)}
    emitted: dict[int, float] = {}

    def on_sent(first: int, count: int, at: float) -> None:
        for seq in range(first, first + count):
            emitted[seq] = at

    seen: dict[int, float] = {}
    poll_times: list[float] = []
    done = threading.Event()

    def poll() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not done.is_set():
                started = time.time()
                rows = conn.execute(POLL_SQL).fetchall()
                now = time.time()
                poll_times.append(now - started)
                for (user_id,) in rows:
                    seq = seq_of.get(user_id)
                    if seq is not None and seq not in seen:
                        seen[seq] = now

    env = {**os.environ, warehouse.DATABASE_URL_ENV: url, warehouse.HOME_ENV: str(home)}
    with LocalStream(on_sent=on_sent) as feed:
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        own_cpu, load_before = time.process_time(), os.getloadavg()[0]
        consumer = subprocess.Popen(
            [USERPIPE, "stream", "--url", feed.url, "--rate", f"{rate:g}", "--seed", seed, "--plain",
             "--max-users", str(expected)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # the consumer's CPU from its first user seen on (its start-up, ~1.5 s of imports, left out)
        first: tuple[float, float] | None = None
        last = (0.0, 0.0)
        deadline = time.monotonic() + seconds * 3 + 30
        while consumer.poll() is None and time.monotonic() < deadline:
            try:
                last = (cpu_seconds(consumer.pid), time.monotonic())
            except (FileNotFoundError, ProcessLookupError):  # it just ended
                break
            if first is None and seen:
                first = last
            time.sleep(0.2)
        consumer_cpu = (last[0] - first[0]) / max(last[1] - first[1], 1e-3) if first and last[1] > first[1] else 0.0
        if consumer.poll() is None:
            consumer.kill()
        output = consumer.communicate()[0]
        end_wait = time.monotonic() + 3  # the last users' polls
        while len(seen) < expected and time.monotonic() < end_wait:
            time.sleep(0.05)
        done.set()
        poller.join(timeout=10)
        wall = time.process_time() - own_cpu
    latencies = [seen[seq] - emitted[seq] for seq in seen if seq in emitted]
    elapsed = max(seconds, 1e-3)
    result: dict[str, float | int | str] = {
        "rate": rate, "users": expected, "seen": len(latencies), "unseen": expected - len(latencies),
        "load1": round(max(load_before, os.getloadavg()[0]), 2),
        "consumer_cpu": round(consumer_cpu, 2), "bench_cpu": round(wall / elapsed, 2),
        "poll_ms_median": round(statistics.median(poll_times) * 1000, 1) if poll_times else 0.0,
        "exit": consumer.returncode if consumer.returncode is not None else -1,
    }
    if latencies:
        result.update({"p50": round(percentile(latencies, 0.50), 3), "p95": round(percentile(latencies, 0.95), 3),
                       "p99": round(percentile(latencies, 0.99), 3)})
    if consumer.returncode:
        result["consumer_output"] = output.strip().splitlines()[-1] if output.strip() else ""
    return result


def dlt_commit_seconds(url: str, home: Path, rows: int = 50, rounds: int = 10) -> list[float]:
    """Seconds of one dlt `pipeline.run` landing `rows` small user rows (append, postgres destination), in a
    long-lived process after a warm-up run: the fixed cost a per-commit dlt load would add to each batch."""
    import dlt

    from ingestion.pipeline import DLT_CONFIG, _credentials

    pipeline = dlt.pipeline(pipeline_name="bench_stream_dlt", pipelines_dir=str(home / "dlt"),
                            destination=dlt.destinations.postgres(credentials=_credentials(url)),
                            dataset_name="bench_dlt")
    seconds = []
    with dlt.config.values(DLT_CONFIG):
        for round_ in range(rounds + 1):
            batch = [{"uuid": str(uuid.uuid4()), "payload": {"n": round_, "i": i}, "request_page": i}
                     for i in range(rows)]
            started = time.perf_counter()
            pipeline.run(batch, table_name="users", write_disposition="append")
            if round_:  # the first run creates the tables
                seconds.append(time.perf_counter() - started)
    return seconds


def line(result: dict[str, float | int | str]) -> str:
    latency = (f"p50 {result['p50']:.3f} s  p95 {result['p95']:.3f} s  p99 {result['p99']:.3f} s"
               if "p50" in result else "no user seen")
    return (f"{result['rate']:>7g} users/s  {result['users']:>6} users ({result['unseen']} unseen)  {latency}  |  "
            f"load1 {result['load1']}  consumer CPU {result['consumer_cpu']} core  feed+poller CPU "
            f"{result['bench_cpu']} core  poll {result['poll_ms_median']} ms"
            + (f"  consumer exit {result['exit']}: {result.get('consumer_output')}" if result["exit"] else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per rate (default 10)")
    parser.add_argument("--full", action="store_true", help="60 s per rate (the README's figures)")
    parser.add_argument("--rates", default="1,100,1000", help="rates measured (users/s)")
    parser.add_argument("--max-rates", default="2000,3000,4000,6000",
                        help="higher rates tried in turn while p95 stays below 1 s")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    seconds = 60.0 if args.full else args.seconds
    name = f"bench_stream_{uuid.uuid4().hex[:8]}"
    url = scratch_databases.create(name)
    home = warehouse.home() / "bench-stream"
    try:
        ingest(1000, seed="bench-base", database_url=url)
        transformer = Transformer(database_url=url, state_dir=home / "dbt")
        transformer.build()
        dlt_runs = dlt_commit_seconds(url, home)
        print(f"dlt: one pipeline.run of 50 rows (warm, {len(dlt_runs)} runs): median "
              f"{statistics.median(dlt_runs):.3f} s, max {max(dlt_runs):.3f} s")
        print(f"bench_stream: {seconds:g} s per rate; latency = emit -> visible in {POLL_SQL!r}")
        best = None
        for rate in [float(r) for r in args.rates.split(",")]:
            result = run_rate(url, rate, seconds, home)
            print(line(result), flush=True)
            transformer.build()  # as the minute cycle would: the next rate starts with nothing pending
            if float(result.get("p95", 1e9)) < 1.0 and not result["exit"]:
                best = rate
        for rate in [float(r) for r in args.max_rates.split(",") if r]:
            result = run_rate(url, rate, seconds, home)
            print(line(result), flush=True)
            transformer.build()
            if float(result.get("p95", 1e9)) >= 1.0 or result["exit"]:
                break
            best = rate
        print(f"highest rate measured with p95 < 1 s: {best:g} users/s" if best else "no rate had p95 < 1 s")
    finally:
        scratch_databases.drop(name)


if __name__ == "__main__":
    main()
