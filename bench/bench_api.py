"""Benchmark: users generated and serialised per second by randomuser_api, on one core.

Run: `.venv/bin/python bench/bench_api.py [--rounds N]`. Measures `build_response` in-process
(results=5000, JSON) and a real HTTP GET against LocalApi (gzipped as requests asks, and uncompressed),
and prints users/s for each.
The target is >= 30,000 users/s in-process. A benchmark, not a test: it prints, it does not assert.
"""

from __future__ import annotations

import argparse
import time

import requests

from randomuser_api import MAX_RESULTS, LocalApi, build_response

TARGET = 30_000


def bench_in_process(rounds: int) -> tuple[float, float]:
    """(users per CPU second, users per wall-clock second): CPU time is what one core spends, and stays
    meaningful on a machine shared with other work; wall time is what a caller waits."""
    build_response({"results": "10", "seed": "warm-up"})  # load the data files once
    cpu, wall = time.process_time(), time.perf_counter()
    for page in range(1, rounds + 1):
        build_response({"results": str(MAX_RESULTS), "seed": "bench", "page": str(page)})
    users = rounds * MAX_RESULTS
    return users / (time.process_time() - cpu), users / (time.perf_counter() - wall)


def bench_http(rounds: int, encoding: str) -> float:
    """users/s over HTTP with `Accept-Encoding: encoding` (`gzip, deflate` is what requests sends, and our
    server, like randomuser.me, then gzips; `identity`: uncompressed)."""
    with LocalApi() as api, requests.Session() as session:
        session.headers["Accept-Encoding"] = encoding
        session.get(api.url, params={"results": 10}, timeout=60).raise_for_status()
        started = time.perf_counter()
        for page in range(1, rounds + 1):
            response = session.get(api.url, params={"results": MAX_RESULTS, "seed": "bench", "page": page},
                                   timeout=60)
            response.raise_for_status()
            assert len(response.json()["results"]) == MAX_RESULTS
        return rounds * MAX_RESULTS / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="requests of 5000 users per measurement")
    args = parser.parse_args()
    per_cpu, per_wall = bench_in_process(args.rounds)
    http_gzip = bench_http(args.rounds, "gzip, deflate")
    http_plain = bench_http(args.rounds, "identity")
    verdict = "meets" if per_cpu >= TARGET else "MISSES"
    print(f"build_response (in-process, results={MAX_RESULTS}, json): {per_cpu:,.0f} users per CPU second "
          f"on one core ({verdict} the {TARGET:,} users/s target); {per_wall:,.0f} users/s wall clock")
    print(f"HTTP GET via LocalApi (results={MAX_RESULTS}, client parses JSON): {http_gzip:,.0f} users/s gzipped "
          f"(requests' default Accept-Encoding), {http_plain:,.0f} users/s uncompressed")


if __name__ == "__main__":
    main()
