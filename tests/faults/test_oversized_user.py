"""A 200 MB user (our API's `oversize` switch): `userpipe ingest` and `userpipe run --once` fail in one `error:`
line naming the page and the limit, land nothing and stay small in memory (was: 915 MB, and the user landed);
the next clean batch and cycle land as usual. A user over the limit already in raw (landed by an older version)
is skipped by the transform instead of failing every build."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests

from randomuser_api import Fault, FaultPlan
from tests.faults.conftest import TIMEOUT_SECONDS, USERPIPE, rows, userpipe, value
from tests.faults.invariants import assert_consistent, assert_recorded_failed, served_uuids
from tests.faults.processes import descendants
from tests.fixtures.api import FaultyApiFactory

HUGE_USER_BYTES = 200_000_000
PEAK_RSS_BOUND_KB = 400 * 1024  # the ingest's own memory is ~150 MB; the 200 MB user alone would pass this


def vm_hwm_kb(pid: int) -> int:
    """Peak resident memory (VmHWM) of `pid` so far, 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0


def run_measured(*args: str) -> tuple[int, str, str, int]:
    """`userpipe ARGS` as a subprocess: (exit code, stdout, stderr, peak RSS in kB of it or any of its
    processes). The peak is VmHWM read from /proc while it runs, and the kernel's own maximum at its end
    (wait4's ru_maxrss, which covers the children it waited for)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([USERPIPE, *args], stdout=out, stderr=err, text=True)
        killer = threading.Timer(TIMEOUT_SECONDS, lambda: os.kill(process.pid, signal.SIGKILL))
        killer.start()
        peak = 0
        try:
            while True:
                peak = max([peak, *(vm_hwm_kb(pid) for pid in {process.pid, *descendants(process.pid)})])
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.02)
        finally:
            killer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return process.returncode, out.read(), err.read(), max(peak, usage.ru_maxrss)


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_a_200_mb_user_fails_ingest_and_run_in_one_line_in_bounded_memory_then_clean_cycles_land(
        database_url: str, faulty_api: FaultyApiFactory) -> None:
    api = faulty_api(FaultPlan([Fault("oversize", times=-1, user_bytes=HUGE_USER_BYTES)]))

    code, _, stderr, peak_kb = run_measured("ingest", "-n", "20", "--seed", "big", "--api-url", api.url)

    assert code == 1
    line = one_error_line(stderr)
    assert f"{api.url} (seed big, page 1) answered a page over the limit of 67,108,864 bytes" in line, line
    assert "USERPIPE_MAX_PAGE_BYTES" in line and line.endswith("; nothing landed")
    assert peak_kb < PEAK_RSS_BOUND_KB, f"ingest peaked at {peak_kb // 1024} MB"
    assert value(database_url, "select to_regclass('raw.users')") is None  # nothing landed, not even a table

    cycle = userpipe("run", "--once", "--plain", "--no-dashboard", "-n", "20", "--api-url", api.url)

    assert cycle.returncode == 1, cycle.stdout + cycle.stderr
    assert "Traceback" not in cycle.stderr, cycle.stderr
    assert_recorded_failed(database_url, error_contains="over the limit of 67,108,864 bytes")
    assert value(database_url, "select to_regclass('raw.users')") is None

    api.clear_faults()
    clean = userpipe("ingest", "-n", "20", "--seed", "big", "--api-url", api.url)
    assert clean.returncode == 0, clean.stderr
    assert "20 users fetched, 20 landed, 20 new" in clean.stdout
    cycle = userpipe("run", "--once", "--plain", "--no-dashboard", "-n", "20", "--api-url", api.url)
    assert cycle.returncode == 0, cycle.stdout + cycle.stderr
    assert value(database_url, "select count(*) from raw.users") == 40
    assert_consistent(database_url, served_uuids("big", 20))


def test_our_api_sends_a_huge_user_without_holding_it() -> None:
    server = subprocess.Popen([USERPIPE, "api", "serve", "--port", "0", "--no-stream", "--fault", "oversize",
                               "--oversize-bytes", "500000000"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        ready = server.stdout.readline()  # printed once the port is bound
        url = re.search(r"on (http://\S+/api/)", ready)
        assert url, ready
        received = 0
        with requests.get(url.group(1), params={"results": "3", "seed": "huge"}, stream=True,
                          timeout=(5, 60)) as answer:
            for piece in answer.iter_content(1024 * 1024):
                received += len(piece)
        peak_kb = vm_hwm_kb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert received > 500_000_000
    assert peak_kb < 300 * 1024, f"the API peaked at {peak_kb // 1024} MB serving a 500 MB user"


def test_a_user_over_the_limit_already_in_raw_is_skipped_by_the_transform(database_url: str) -> None:
    assert userpipe("ingest", "-n", "10", "--seed", "older").returncode == 0
    # a user landed by a version without limits: ~1.3 MB of hex in its name (stored as ~0.7 MB compressed)
    rows(database_url, """
        insert into raw.users (uuid, payload, fetched_at, request_seed, request_page, api_version,
                               _dlt_load_id, _dlt_id)
        select 'older-huge', jsonb_set(payload, '{name,first}', to_jsonb(
                   (select string_agg(md5(i::text), '') from generate_series(1, 40000) as i))),
               fetched_at, request_seed, request_page, api_version, _dlt_load_id, 'huge'
        from raw.users limit 1
        returning uuid""")
    assert value(database_url, "select pg_column_size(payload) from raw.users where uuid = 'older-huge'") > 65536

    transform = userpipe("transform")

    assert transform.returncode == 0, transform.stdout + transform.stderr
    assert value(database_url, "select count(*) from public.incoming_users") == 10
    assert value(database_url, "select count(*) from public.incoming_users where user_id = 'older-huge'") == 0
    assert userpipe("ingest", "-n", "10").returncode == 0  # later builds go on as usual
    assert userpipe("transform").returncode == 0
    assert value(database_url, "select count(*) from public.incoming_users") == 20
