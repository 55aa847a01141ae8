"""Run every benchmark in turn (`make bench`); each prints its own measured rates and ratios.

Benchmarks are not tests: they time, print and never assert. Sizes default to what fits a laptop in a few
minutes; pass `--full` for the README's sizes (dbt up to 1M users, the quality gate and a dashboard
refresh over 1M users, and bench_scale.py's 10k against 10M users).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

QUICK = [
    ["bench_api.py"],
    ["bench_ingest.py", "--users", "100000", "--rounds", "3"],
    ["bench_dbt.py", "--sizes", "10000,100000"],
    ["bench_check.py", "--users", "100000", "--cli-runs", "2"],
    ["bench_dashboard.py", "--sizes", "10000", "--rounds", "10"],
    ["bench_scale.py"],  # 10k against 200k, 2 minutes sustained
]
FULL = [
    ["bench_api.py"],
    ["bench_ingest.py", "--users", "100000", "--rounds", "5"],
    ["bench_dbt.py", "--sizes", "10000,100000,1000000"],
    ["bench_check.py", "--users", "1000000", "--cli-runs", "3"],
    ["bench_dashboard.py", "--sizes", "10000,1000000", "--rounds", "20"],
    ["bench_scale.py", "--full"],  # 10k against 10M: hours on 2 cores, ~28 GB of disk
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="README sizes (~15 minutes, then bench_scale's 10M: hours)")
    args = parser.parse_args()
    failed = []
    for script, *options in FULL if args.full else QUICK:
        print(f"\n=== {script} {' '.join(options)}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(HERE / script), *options], check=False)
        print(f"=== {script}: exit {result.returncode} in {time.perf_counter() - started:.0f} s", flush=True)
        if result.returncode != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
