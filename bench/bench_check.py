"""Benchmark: the quality gate on a 5,000-user batch over a 1M-user incoming_users table.

Run: `USERPIPE_HOME=/tmp/bench-home .venv/bin/python bench/bench_check.py [--users 1000000] [--batch 5000]`.
Uses database `bench_check` on the server userpipe uses (kept between runs: the fill is done once; `--fresh`
starts over). The fill is real where it matters and fast where it does not: one real ingest (dlt, local API)
creates raw.users, SQL clones its rows to `--users` (new uuids), and dbt models them all into incoming_users.
Then a real 5,000-user batch is ingested and modelled, and the gate is timed:

- in one long-lived process (the orchestrator's case): `run_checks` cold, then warm, with and without dbt tests;
- as `userpipe check` subprocesses (a fresh process each: GX and dbt imports included), twice.

`--explain` instead EXPLAIN ANALYZEs each per-cycle check's query (batch-scoped dbt tests, GX batch reads) and
says whether any scans raw.users or incoming_users whole.

The target is <= 5 s warm. A benchmark, not a test: it prints, it does not assert.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import psycopg
import scratch_databases

from userpipe import warehouse

DATABASE = "bench_check"
TARGET_SECONDS = 5.0
FILL_LOAD_ID = "bench-fill"
LOAD_ID_INDEX = "users__dlt_load_id_idx"


def timed(label: str, action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    print(f"  {label}: {seconds:.2f} s", flush=True)
    return result, seconds


def bench_database(fresh: bool) -> str:
    return scratch_databases.create(DATABASE, fresh=fresh)


def scalar(url: str, sql: str, params: tuple[Any, ...] = ()) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql.encode(), params).fetchone()
    return row[0] if row else None


def modelled_users(url: str) -> int:
    if not scalar(url, "select to_regclass('public.incoming_users')"):
        return 0
    return int(scalar(url, "select count(*) from public.incoming_users"))


def fill(url: str, users: int, transformer: Any, api_url: str) -> None:
    """`users` users in raw.users and incoming_users: one real ingest, SQL clones, one dbt build."""
    from ingestion.pipeline import ingest

    template, _ = timed("real ingest of 1,000 template users", lambda: ingest(1000, seed="bench-template",
                                                                               api_url=api_url, database_url=url))
    copies = max(0, users // template.users_new - 1)
    clone_sql = """
        insert into raw.users (uuid, payload, fetched_at, request_seed, request_page, api_version,
                               _dlt_load_id, _dlt_id)
        select id, jsonb_set(payload::jsonb, '{login,uuid}', to_jsonb(id)), fetched_at - interval '1 day',
               request_seed, request_page, api_version, %s, substr(md5(id), 1, 14)
        from (select gen_random_uuid()::text as id, r.* from raw.users as r
              cross join generate_series(1, %s) where r._dlt_load_id = %s) as clones
    """

    def clone() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(clone_sql.encode(), (FILL_LOAD_ID, copies, template.load_id))
            conn.execute("insert into raw._dlt_loads (load_id, schema_name, status, inserted_at, schema_version_hash)"
                         " select %s, schema_name, 0, inserted_at, schema_version_hash from raw._dlt_loads"
                         " where load_id = %s", (FILL_LOAD_ID, template.load_id))
            conn.execute("vacuum analyze raw.users")

    timed(f"SQL clone to {template.users_new * (copies + 1):,} raw users", clone)
    timed("dbt build (models the fill into incoming_users)", transformer.build)


def set_load_id_index(url: str, wanted: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        if wanted:
            conn.execute(f"create index if not exists {LOAD_ID_INDEX} on raw.users (_dlt_load_id)")
        else:
            conn.execute(f"drop index if exists raw.{LOAD_ID_INDEX}")


def cli_check(url: str, *args: str) -> float:
    """Wall seconds of one `userpipe check` process (its CPU seconds printed too: load on a shared machine
    stretches the wall time, not the CPU time)."""
    env = {**os.environ, warehouse.DATABASE_URL_ENV: url}
    command = [sys.executable, "-c", "from userpipe.cli import app; app()", "check", *args]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    print(f"    {seconds:.2f} s wall, {cpu:.2f} s CPU (this process and its dbt child), load {os.getloadavg()[0]:.1f}")
    if done.returncode != 0:
        print(f"    (exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]})")
    return seconds


BIG_TABLES = {("raw", "users"), ("public", "incoming_users")}


def plan_scans(plan: dict[str, Any]) -> list[str]:
    """`<node type> <schema>.<table> (<actual rows>)` for every node of an EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) plan
    that reads raw.users or incoming_users."""
    found = []
    if (plan.get("Schema"), plan.get("Relation Name")) in BIG_TABLES:
        found.append(f"{plan['Node Type']} {plan['Schema']}.{plan['Relation Name']} ({plan.get('Actual Rows')} rows)")
    for child in plan.get("Plans", ()):
        found += plan_scans(child)
    return found


def explain(conn: psycopg.Connection[Any], label: str, sql: str, params: dict[str, Any] | None = None) -> bool:
    """Print how `sql` reads the big tables and how long it took; False when it scans one whole."""
    cursor = psycopg.ClientCursor(conn)  # parameters inlined: EXPLAIN takes no bind parameters
    cursor.execute(f"explain (analyze, verbose, format json) {sql}".encode(), params)
    row = cursor.fetchone()
    assert row is not None
    [document] = row[0]
    scans = plan_scans(document["Plan"])
    whole = any(scan.startswith("Seq Scan") for scan in scans)
    verdict = "SCANS A BIG TABLE" if whole else "ok"
    print(f"  {label}: {document['Execution Time']:.1f} ms, {verdict}: {'; '.join(scans) or 'no big table'}")
    return not whole


def explain_checks(url: str, transformer: Any, load_id: str) -> None:
    """EXPLAIN ANALYZE every per-cycle check's query: the batch-scoped dbt tests (as the last `dbt test` compiled
    them) and the GX batch reads; then the whole-table tests, for comparison."""
    import json

    from quality import batch as batches
    from quality.scope import WHOLE_TABLE_SELECTOR

    def compiled_tests(**selection: Any) -> dict[str, str]:
        transformer.test(**selection)
        document = json.loads((transformer.target_dir / "run_results.json").read_text())
        return {r["unique_id"].split(".")[2]: r["compiled_code"] for r in document["results"]
                if r["unique_id"].startswith("test.") and r.get("compiled_code")}

    per_cycle = compiled_tests(exclude=[WHOLE_TABLE_SELECTOR])
    slow = compiled_tests(select=[WHOLE_TABLE_SELECTOR])
    ok = True
    with psycopg.connect(url, autocommit=True) as conn:
        print(f"per-cycle dbt tests ({len(per_cycle)}):")
        for name, sql in sorted(per_cycle.items()):
            ok &= explain(conn, name, sql)
        print("per-cycle GX batch reads:")
        load_time = batches._load_time(load_id)
        params = {"load_id": load_id, "load_time": load_time}
        select_users = batches.BATCH_USERS_SQL.split(" as\n", 1)[1] + batches.SINCE_LOAD_TIME_SQL
        ok &= explain(conn, "raw users of the batch", select_users, params)
        with conn.transaction():
            conn.execute((batches.BATCH_USERS_SQL + batches.SINCE_LOAD_TIME_SQL).encode(), params)
            conn.execute("analyze batch_users")
            conn.execute(batches.PRIMARY_KEY_PROBES_SQL)  # as read_batch plans it
            ok &= explain(conn, "incoming_users of the batch", batches.INCOMING_BATCH_SQL)
            conn.execute(batches.DEFAULT_SCANS_SQL)
            ok &= explain(conn, "catalog facts", batches.CATALOG_SQL)
        print(f"whole-table dbt tests, slow schedule ({len(slow)}):")
        for name, sql in sorted(slow.items()):
            explain(conn, name, sql)
    print("every per-cycle check reads the batch through indexes" if ok else "A PER-CYCLE CHECK SCANS A BIG TABLE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000, help="users in incoming_users before the batch")
    parser.add_argument("--batch", type=int, default=5000, help="users in the checked batch")
    parser.add_argument("--cli-runs", type=int, default=4, help="`userpipe check` runs (the first warms caches)")
    parser.add_argument("--fresh", action="store_true", help="drop the bench database and fill it again")
    parser.add_argument("--load-id-index", choices=("keep", "with", "without"), default="keep",
                        help="create or drop an index on raw.users(_dlt_load_id) before timing")
    parser.add_argument("--explain", action="store_true",
                        help="EXPLAIN ANALYZE each per-cycle check's query (no timing of the gate)")
    args = parser.parse_args()

    from quality.gate import run_checks
    from randomuser_api import LocalApi
    from userpipe.transform import Transformer

    url = bench_database(args.fresh)
    os.environ[warehouse.DATABASE_URL_ENV] = url
    transformer = Transformer(database_url=url)
    print(f"database {warehouse.redact(url)}, USERPIPE_HOME {warehouse.home()}")
    with LocalApi() as api:
        if modelled_users(url) < args.users:
            print(f"filling to {args.users:,} users:")
            fill(url, args.users, transformer, api.url)
        from ingestion.pipeline import ingest

        print(f"batch of {args.batch:,} users:")
        seed = f"bench-batch-{time.time_ns()}"
        batch, _ = timed("real ingest", lambda: ingest(args.batch, seed=seed, api_url=api.url, database_url=url))
        timed("dbt build (incremental)", transformer.build)
    if args.load_id_index != "keep":
        set_load_id_index(url, args.load_id_index == "with")
    has_index = bool(scalar(url, "select to_regclass(%s)", (f"raw.{LOAD_ID_INDEX}",)))
    total = modelled_users(url)
    raw_size = scalar(url, "select pg_size_pretty(pg_total_relation_size('raw.users'))")
    print(f"incoming_users: {total:,} users; raw.users {raw_size}; index on raw.users(_dlt_load_id): {has_index}")
    if args.explain:
        explain_checks(url, transformer, batch.load_id)
        return

    def check(run_id: str, dbt: bool) -> Any:
        return run_checks(run_id, expected_rows=batch.users_new, load_id=batch.load_id, transformer=transformer,
                          run_dbt_tests=dbt)

    print("run_checks in one long-lived process:")
    figures: dict[str, float] = {}
    for label, dbt in (("cold (GX import, context, dbt parse)", True), ("warm", True), ("warm, GX only", False)):
        report, seconds = timed(label, lambda dbt=dbt: check(f"bench-{time.time_ns()}", dbt))
        figures[label] = seconds
        steps = ", ".join(f"{step} {s:.2f} s" for step, s in report.timings.items())
        state = "passed" if report.passed else f"FAILED: {[f.check_name for f in report.failures]}"
        print(f"    {len(report.results)} checks {state}; {steps}")
    print("userpipe check as a fresh process each run (GX + dbt imports; dbt runs in a forked child alongside GX):")
    cli_runs = []
    for attempt in range(1, args.cli_runs + 1):
        seconds = cli_check(url, "--load-id", batch.load_id, "--expected-rows", str(batch.users_new))
        cli_runs.append(seconds)
        print(f"  run {attempt}: {seconds:.2f} s")
    seconds = cli_check(url, "--skip-dbt", "--load-id", batch.load_id, "--expected-rows", str(batch.users_new))
    print(f"  --skip-dbt: {seconds:.2f} s")
    warm = figures["warm"]
    cli_warm = statistics.median(cli_runs[1:] or cli_runs)
    for label, seconds in (("warm in-process run_checks", warm), ("userpipe check, median of warm runs", cli_warm)):
        verdict = "meets" if seconds <= TARGET_SECONDS else "MISSES"
        print(f"{label} on {batch.users_new:,} new users over {total:,}: {seconds:.2f} s "
              f"({verdict} the {TARGET_SECONDS:.0f} s target)")


if __name__ == "__main__":
    main()
