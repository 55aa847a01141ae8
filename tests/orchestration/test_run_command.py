"""`userpipe run` and `userpipe status` as users run them: real subprocesses, real signals, real database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from randomuser_api import FaultPlan, LocalApi
from userpipe import warehouse
from userpipe.commands import run as run_command
from userpipe.cycle import ingest_time_limit
from userpipe.errors import UserpipeError
from userpipe.runs import CycleLock
from userpipe.schedule import Schedule

USERPIPE = str(Path(sys.executable).parent / "userpipe")
UNREACHABLE_DB = "postgresql://nobody@127.0.0.1:1/none"


def userpipe(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([USERPIPE, *args], capture_output=True, text=True, timeout=timeout, check=False)


def scalar(url: str, sql: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def run_status(url: str) -> str | None:
    """The status of the newest run, None while ops.pipeline_runs does not exist."""
    if not scalar(url, "select to_regclass('ops.pipeline_runs') is not null"):
        return None
    return scalar(url, "select status from ops.pipeline_runs order by started_at desc limit 1")  # type: ignore


@pytest.mark.parametrize(("args", "message"), [
    (["--once", "--cron", "every minute"], "invalid --cron 'every minute'"),
    (["--once", "--batch-size", "0"], "--batch-size must be between 1 and 100,000 (pages of 5,000), got 0"),
    (["--once", "--batch-size", "100001"], "--batch-size must be between 1 and 100,000 (pages of 5,000), got 100001"),
    (["--once", "--cron", "61 * * * *"], "invalid --cron '61 * * * *': the minute field '61' is not valid"),
    (["--plain", "--max-cycles", "2", "--cron", "0 0 31 2 *"], "invalid --cron '0 0 31 2 *': it never fires"),
    (["--once", "--nat", "US,,GB"], "--nat 'US,,GB' has an empty code"),
    (["--once", "--nat", ""], "--nat '' has an empty code"),
])
def test_bad_input_is_one_line_and_exit_1(args: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warehouse.DATABASE_URL_ENV, UNREACHABLE_DB)  # rejected before any cycle, no database access
    result = userpipe("run", *args)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: {message}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(("options", "message"), [
    ({"batch_size": "100001"}, "--batch-size must be between 1 and 100,000"),
    ({"batch_size": "ten"}, "--batch-size must be a whole number"),
    ({"api_url": "ftp://example.com/api"}, "API URL must be an http(s) URL"),
    ({"api_url": "http://"}, "API URL must be an http(s) URL"),
    ({"nat": "US,XX"}, "unknown nationality XX"),
    ({"nat": "US,"}, "--nat 'US,' has an empty code"),
    ({"nat": " "}, "--nat ' ' has an empty code"),
    ({"max_cycles": 0}, "--max-cycles must be at least 1, got 0"),
    ({"time_limit": "0"}, "--time-limit must be more than 0 seconds, got '0'"),
    ({"time_limit": "soon"}, "--time-limit must be a number of seconds, got 'soon'"),
])
def test_bad_options_are_rejected_before_anything_runs(options: dict[str, object], message: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warehouse.DATABASE_URL_ENV, UNREACHABLE_DB)
    with pytest.raises(UserpipeError, match=re.escape(message)):
        run_command.run(once=True, **options)  # type: ignore[arg-type]


def test_once_exits_1_when_the_cycle_fails(database_url: str, faulty_api: Callable[..., LocalApi]) -> None:
    api = faulty_api(FaultPlan.of("malformed", times=1))
    result = userpipe("run", "--once", "--api-url", api.url)
    assert result.returncode == 1
    assert " | failed | " in result.stdout
    last_line = result.stderr.strip().splitlines()[-1]  # after any warnings logged on the way
    assert last_line.startswith("error: cycle manual-") and "failed: ingest failed: " in last_line
    assert scalar(database_url, "select trigger || ' ' || status from ops.pipeline_runs") == "manual failed"


def test_a_hanging_api_fails_the_cycle_at_its_time_limit_and_lands_nothing(
        database_url: str, faulty_api: Callable[..., LocalApi]) -> None:
    api = faulty_api(FaultPlan.of("slow", times=-1, delay=120))
    started = time.monotonic()
    result = userpipe("run", "--once", "--api-url", api.url, "--time-limit", "2")
    assert time.monotonic() - started < 90  # without the limit the ingest alone takes ~84 s
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert "failed: ingest failed: the batch's time limit of 2 s passed while fetching " in last_line, result.stderr
    assert scalar(database_url, "select status from ops.pipeline_runs") == "failed"
    assert scalar(database_url, "select ingest_seconds from ops.pipeline_runs") < 2 + 5 + 20  # type: ignore
    assert scalar(database_url, "select to_regclass('raw.users')") is None

    one_off = userpipe("ingest", "-n", "5", "--api-url", api.url, "--time-limit", "1.5")
    assert one_off.returncode == 1
    assert one_off.stderr.startswith("error: the batch's time limit of 1.5 s passed while fetching ")
    assert scalar(database_url, "select to_regclass('raw.users')") is None


@pytest.mark.parametrize(("cron", "seconds"), [("*/1 * * * *", 45), ("*/10 * * * *", 450),
                                               ("* * * * * */1", 10)])
def test_a_cycles_time_limit_is_three_quarters_of_its_interval_and_at_least_10_s(cron: str, seconds: float) -> None:
    assert ingest_time_limit(Schedule(cron)) == seconds


def test_help_lists_the_options() -> None:
    result = userpipe("run", "--help")
    assert result.returncode == 0
    for option in ("--cron", "--batch-size", "--once", "--api-url", "--nat", "--wait", "--max-cycles", "--plain",
                   "--time-limit"):
        assert option in result.stdout


def test_status_on_an_empty_database_says_so(database_url: str) -> None:
    result = userpipe("status")
    assert result.returncode == 0, result.stderr
    assert "No users and no cycles yet" in result.stdout


def test_loop_runs_cycles_plain_then_status_reports_them(database_url: str, local_api: LocalApi) -> None:
    result = userpipe("run", "--plain", "--max-cycles", "2", "--cron", "* * * * * */1", "--batch-size", "5",
                      "--api-url", local_api.url)
    assert result.returncode == 0, result.stderr
    dashboard, *lines = result.stdout.strip().splitlines()  # the dashboard page's URL first, then one per cycle
    assert dashboard.startswith("dashboard: http://127.0.0.1:"), result.stdout
    assert len(lines) == 2 and all(" | success | users 5 new of 5 | " in line for line in lines), result.stdout
    assert "next " in lines[0] and "next " not in lines[1]
    # a cycle takes longer than the cron's second: the first one says it ran past its next tick (the last one,
    # with no next cycle, does not)
    assert result.stderr.count("past its next tick") == 1 and "(cron interval 1 s)" in result.stderr, result.stderr
    assert scalar(database_url, "select count(*) from ops.pipeline_runs where status = 'success' "
                                "and trigger = 'local' and transform_seconds > 0 and check_seconds > 0") == 2
    assert scalar(database_url, "select count(distinct uuid) from raw.users") == 10

    status = userpipe("status")
    assert status.returncode == 0, status.stderr
    assert "Total users: 10" in status.stdout
    assert "Latest 10 users" in status.stdout and "Users per minute" in status.stdout
    assert status.stdout.count(" success ") == 2 and "Failed checks: none" in status.stdout


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_during_ingest_finishes_the_batch_then_stops_as_interrupted(
        stop: signal.Signals, database_url: str, faulty_api: Callable[..., LocalApi]) -> None:
    api = faulty_api(FaultPlan.of("slow", times=1, delay=4.0))
    process = subprocess.Popen([USERPIPE, "run", "--plain", "--api-url", api.url], text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        wait_for(lambda: run_status(database_url) == "running")
        process.send_signal(stop)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert " | interrupted | users 10 new of 10 | " in stdout
    assert f"interrupted by {stop.name} before transform" in stdout
    assert f"stopped by {stop.name} after 1 cycle(s)" in stderr
    assert scalar(database_url, "select status || ' ' || users_new from ops.pipeline_runs") == "interrupted 10"
    assert scalar(database_url, "select ingest_seconds from ops.pipeline_runs") >= 3.0  # type: ignore[operator]
    assert scalar(database_url, "select count(*) from raw.users") == 10  # the whole batch, never half
    assert scalar(database_url, "select to_regclass('public.incoming_users')") is None  # no step after it


def test_ctrl_c_while_waiting_for_the_next_tick_stops_at_once(database_url: str, local_api: LocalApi) -> None:
    with CycleLock(database_url) as other:
        other.try_acquire()  # the first cycle is skipped, then the loop waits for the next tick
        process = subprocess.Popen([USERPIPE, "run", "--plain", "--api-url", local_api.url, "--cron", "0 0 1 1 *"],
                                   text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # next tick: new year
        try:
            wait_for(lambda: run_status(database_url) == "skipped")
            time.sleep(0.3)  # let it reach the wait
            started = time.monotonic()
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=30)
            assert time.monotonic() - started < 10
        finally:
            process.kill()
    assert process.returncode == 0, stderr
    assert " | skipped | " in stdout and "another cycle holds the lock" in stdout
    assert "stopped by SIGINT after 1 cycle(s)" in stderr
