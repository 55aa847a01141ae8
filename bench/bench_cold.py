"""Benchmark: cold start (issue #14): the first cycle of a fresh process with a fresh USERPIPE_HOME, and a fresh
`userpipe check`, timed as the user meets them.

Run: `USERPIPE_HOME=/tmp/bench-home .venv/bin/python bench/bench_cold.py [--users 200000] [--rounds 3]
[--tree DIR ...]`.
Uses database `bench_cold` on the server userpipe uses (kept between runs: the fill is done once; `--fresh`
starts over): one real ingest of 50,000 users, SQL copies of them with fresh uuids up to `--users`, one
`userpipe transform`. Each round then runs, for every `--tree` in turn (a source tree of userpipe, e.g. an
older commit unpacked by `git archive`; default: this one), as fresh processes:

1. `userpipe run --once --batch-size 5000 --no-dashboard --plain` with a new, empty USERPIPE_HOME: the cycle's
   own figures (ops.pipeline_runs: whole, ingest, transform, check) and the process's wall and CPU seconds;
2. `userpipe check` in that home (the saved dbt manifest of step 1 there): wall and CPU seconds.

Trees are run with this venv's Python and PYTHONPATH set to the tree, so each imports its own code and dbt
project. The targets are a first cycle <= 6 s and a fresh check <= 3 s. The load average is printed beside
every figure (the machine is shared). A benchmark, not a test: it prints, it does not assert.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import scratch_databases

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "bench_cold"
TEMPLATE_USERS = 50_000
CYCLE_BATCH = 5_000
CLONE_SQL = """
insert into raw.users (uuid, payload, fetched_at, request_seed, request_page, api_version, _dlt_load_id, _dlt_id)
select c.id, jsonb_set(t.payload, '{login,uuid}', to_jsonb(c.id)), t.fetched_at - interval '1 day',
       t.request_seed, t.request_page, t.api_version, t._dlt_load_id, md5(c.id)
from (select gen_random_uuid()::text as id, g.n from generate_series(1, %(copies)s) as g(n)) as c
join (select row_number() over () as i, r.* from raw.users as r) as t on t.i = 1 + c.n %% %(template)s
"""


def load_text() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def userpipe(tree: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run `userpipe ARGS` from `tree` as a fresh process: the outcome, wall seconds, CPU seconds (with children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "import sys; from userpipe.cli import app; sys.exit(app())", *args],
                          env={**env, "PYTHONPATH": str(tree)}, cwd=tree, capture_output=True, text=True,
                          timeout=1800, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, wall, cpu


def fill(url: str, users: int, env: dict[str, str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        landed = conn.execute("select to_regclass('raw.users') is not null").fetchone()
        have = int(conn.execute("select count(*) from raw.users").fetchone()[0]) if landed and landed[0] else 0  # type: ignore[index]
    if have >= users:
        print(f"database {DATABASE}: {have:,} users already", flush=True)
        return
    started = time.perf_counter()
    done, _, _ = userpipe(ROOT, env, "ingest", "-n", str(min(TEMPLATE_USERS, users)), "--seed", "bench-cold-x")
    if done.returncode:
        raise SystemExit(f"ingest failed: {done.stderr.strip()}")
    with psycopg.connect(url, autocommit=True) as conn:
        template = int(conn.execute("select count(*) from raw.users").fetchone()[0])  # type: ignore[index]
        if users > template:
            conn.execute(CLONE_SQL.encode(), {"copies": users - template, "template": template})
        conn.execute("analyze raw.users")
    done, _, _ = userpipe(ROOT, env, "transform")
    if done.returncode:
        raise SystemExit(f"transform failed: {done.stderr.strip()}")
    print(f"database {DATABASE}: filled to {users:,} users in {time.perf_counter() - started:.0f} s", flush=True)


def newest_cycle(url: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute("select status, extract(epoch from ended_at - started_at), ingest_seconds,"
                           " transform_seconds, check_seconds from ops.pipeline_runs"
                           " order by started_at desc limit 1").fetchone()
    assert row is not None
    return tuple(row)


def one_round(tree: Path, url: str, figures: dict[str, list[float]]) -> None:
    home = Path(tempfile.mkdtemp(prefix="bench-cold-home-"))
    env = {**os.environ, "USERPIPE_HOME": str(home), "USERPIPE_DATABASE_URL": url}
    try:
        done, wall, cpu = userpipe(tree, env, "run", "--once", "--batch-size", str(CYCLE_BATCH), "--no-dashboard",
                                   "--plain")
        status, seconds, ingest, transform, check = newest_cycle(url)
        figures["cycle"].append(float(seconds))
        figures["process"].append(wall)
        print(f"  {tree.name:<14} first cycle {status} {float(seconds):.2f} s (ingest {ingest:.2f}, transform "
              f"{transform:.2f}, check {check:.2f}); process {wall:.2f} s, cpu {cpu:.2f} s  {load_text()}",
              flush=True)
        if done.returncode:
            print(f"    exit {done.returncode}: {done.stderr.strip()[-300:]}", flush=True)
        done, wall, cpu = userpipe(tree, env, "check")
        figures["check"].append(wall)
        print(f"  {tree.name:<14} userpipe check exit {done.returncode} in {wall:.2f} s, cpu {cpu:.2f} s  "
              f"{load_text()}", flush=True)
        if done.returncode:
            print(f"    {done.stderr.strip()[-300:]}", flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--users", type=int, default=200_000, help="users in the database (default 200,000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (each runs every tree once, in turn)")
    parser.add_argument("--tree", action="append", type=Path, help="a userpipe source tree (repeatable)")
    parser.add_argument("--fresh", action="store_true", help="drop and fill the database again")
    args = parser.parse_args()
    trees = [tree.resolve() for tree in (args.tree or [ROOT])]
    url = scratch_databases.create(DATABASE, fresh=args.fresh)
    with tempfile.TemporaryDirectory(prefix="bench-cold-fill-") as fill_home:
        fill(url, args.users, {**os.environ, "USERPIPE_DATABASE_URL": url, "USERPIPE_HOME": fill_home})
    print(f"bench_cold: {args.rounds} round(s), trees {', '.join(str(t) for t in trees)}, {os.cpu_count()} cores, "
          f"{load_text()}", flush=True)
    figures: dict[Path, dict[str, list[float]]] = {t: {"cycle": [], "process": [], "check": []} for t in trees}
    for number in range(args.rounds):
        print(f"round {number + 1}", flush=True)
        for tree in trees if number % 2 == 0 else trees[::-1]:
            one_round(tree, url, figures[tree])
    for tree, found in figures.items():
        medians = {name: statistics.median(values) for name, values in found.items()}
        print(f"{tree.name}: median first cycle {medians['cycle']:.2f} s (target <= 6), process "
              f"{medians['process']:.2f} s, userpipe check {medians['check']:.2f} s (target <= 3)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
