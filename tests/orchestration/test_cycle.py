"""The cycle in-process: real API, dlt, dbt, checks and PostgreSQL; outcomes read back from ops.pipeline_runs."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from rich.console import Console

from randomuser_api import FaultPlan, LocalApi
from userpipe import runs, status
from userpipe.cycle import CycleRunner, CycleSettings, overrun_notice, run_loop
from userpipe.errors import UserpipeError
from userpipe.live import LiveView
from userpipe.runs import CycleLock, RunRecord
from userpipe.schedule import Schedule


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def recorded(url: str, run_id: str) -> RunRecord:
    with psycopg.connect(url) as conn:
        record = runs.load(conn, run_id)
    assert record is not None, f"run {run_id} not recorded"
    return record


def test_settings_reject_out_of_range_batch_size() -> None:
    for size in (0, 100_001):
        with pytest.raises(UserpipeError, match="between 1 and 100,000"):
            CycleSettings(batch_size=size)
    assert CycleSettings(batch_size=100_000).batch_size == 100_000


def test_a_cycle_of_more_than_one_page_lands_and_checks_the_whole_batch(database_url: str,
                                                                       local_api: LocalApi) -> None:
    with CycleRunner(CycleSettings(batch_size=7_000, api_url=local_api.url)) as runner:
        record = runner.run_cycle()
    assert record.status == "success", record.error
    assert (record.users_fetched, record.users_new) == (7_000, 7_000)
    assert rows(database_url, "select request_page, count(*) from raw.users group by 1 order by 1") == [
        (1, 5_000), (2, 2_000)]  # pages of 5,000, as `userpipe ingest`
    assert rows(database_url, "select count(*) from public.incoming_users") == [(7_000,)]


def test_a_cycle_past_its_next_tick_is_said_and_one_within_it_is_not() -> None:
    schedule = Schedule("*/1 * * * *")
    started = datetime(2026, 12, 2, 3, 0, 10, tzinfo=UTC)
    within = RunRecord("local-a", "local", started, "success", ended_at=started + timedelta(seconds=49))
    past = RunRecord("local-b", "local", started, "success", ended_at=started + timedelta(seconds=75))
    assert overrun_notice(within, schedule) is None
    assert overrun_notice(RunRecord("local-c", "local", started), schedule) is None  # still running
    notice = overrun_notice(past, schedule)
    assert notice is not None and notice.startswith("cycle local-b took 75.0 s, past its next tick 03:01:00Z")
    assert "(cron interval 60 s)" in notice and "--batch-size" in notice


def test_cycle_is_skipped_while_another_holds_the_lock_or_a_kestra_lease(database_url: str,
                                                                         local_api: LocalApi) -> None:
    settings = CycleSettings(api_url=local_api.url)
    with CycleRunner(settings) as runner, CycleLock(database_url) as other:
        assert other.try_acquire()
        skipped = runner.run_cycle()
        other.release()
        runs.save(other.conn, RunRecord.start("kestra", run_id="kestra-exec-1"))
        leased = runner.run_cycle()
    for record, reason in ((skipped, "another cycle holds the lock"), (leased, "Kestra execution kestra-exec-1")):
        assert record.status == "skipped"
        assert reason in (record.error or "")
        assert recorded(database_url, record.run_id).status == "skipped"
    assert rows(database_url, "select to_regclass('raw.users')") == [(None,)]  # nothing ran


def test_loop_runs_on_the_schedule_until_max_cycles_with_one_local_api(database_url: str) -> None:
    seen: list[tuple[RunRecord, datetime | None]] = []
    api_urls: set[str] = set()

    def on_cycle(record: RunRecord, next_at: datetime | None) -> None:
        seen.append((record, next_at))
        api_urls.add(runner.api_url)
        assert requests.get(runner.api_url, params={"results": 1}, timeout=5).status_code == 200

    with CycleRunner(CycleSettings()) as runner, CycleLock(database_url) as other:
        other.try_acquire()  # every cycle skips: the loop itself is under test here
        started = time.monotonic()
        records = run_loop(runner, Schedule("* * * * * */1"), on_cycle=on_cycle, max_cycles=3)
    assert [r.status for r in records] == ["skipped"] * 3
    assert len(api_urls) == 1  # one local API for every cycle, stopped with the runner
    with pytest.raises(requests.ConnectionError):
        requests.get(api_urls.pop(), timeout=5)
    assert [n is None for _, n in seen] == [False, False, True]
    assert 1.0 <= time.monotonic() - started < 10  # two waits for the next second's tick


def test_failed_step_is_recorded_and_the_next_cycle_waits_for_the_lock_then_succeeds(
        database_url: str, faulty_api: Callable[..., LocalApi]) -> None:
    api = faulty_api(FaultPlan.of("malformed", times=1))
    settings = CycleSettings(batch_size=10, api_url=api.url, wait_for_lock=True, lock_timeout_seconds=60)
    with CycleRunner(settings) as runner:
        failed = runner.run_cycle()
        with CycleLock(database_url) as other:
            other.try_acquire()
            threading.Timer(1.0, other.release).start()
            succeeded = runner.run_cycle()

    assert failed.status == "failed" and (failed.error or "").startswith("ingest failed:")
    stored_failure = recorded(database_url, failed.run_id)
    assert stored_failure.ingest_seconds is not None and stored_failure.transform_seconds is None
    assert succeeded.status == "success", succeeded.error
    stored = recorded(database_url, succeeded.run_id)
    assert (stored.trigger, stored.users_fetched, stored.users_new) == ("local", 10, 10)
    assert all(s is not None and s > 0 for s in (stored.ingest_seconds, stored.transform_seconds,
                                                   stored.check_seconds))
    assert stored.seconds is not None and stored.seconds >= 1.0  # it waited for the other holder
    assert rows(database_url, "select count(*), count(distinct uuid) from raw.users") == [(10, 10)]
    assert rows(database_url, "select count(*) from public.incoming_users") == [(10,)]
    checks = rows(database_url, f"select count(*), count(*) filter (where status in ('fail', 'error')) "
                                f"from ops.check_results where run_id = '{succeeded.run_id}'")
    assert checks[0][0] > 0 and checks[0][1] == 0


def test_failed_checks_fail_the_cycle_but_keep_the_data(database_url: str,
                                                        faulty_api: Callable[..., LocalApi]) -> None:
    api = faulty_api(FaultPlan.of("invalid", times=1, fields=("email",)))
    with CycleRunner(CycleSettings(batch_size=10, api_url=api.url)) as runner:
        record = runner.run_cycle()
    assert record.status == "failed"
    assert (record.error or "").startswith("checks failed:") and "email" in (record.error or "")
    assert recorded(database_url, record.run_id).check_seconds is not None
    # the data stays: the user with the bad email in raw.users, quarantined out of incoming_users
    assert rows(database_url, "select count(*) from raw.users") == [(10,)]
    assert rows(database_url, "select count(*) from public.incoming_users") == [(9,)]
    assert rows(database_url, "select rule from ops.quarantined_users") == [("email_invalid",)]
    failing = rows(database_url, f"select check_name from ops.check_results where run_id = '{record.run_id}' "
                                 "and status = 'fail'")
    assert failing == [("quarantine.email_invalid",)]


class SoonAfter(Schedule):
    """A schedule whose next tick is `seconds` after the moment asked about (the loop's waits, made exact)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds  # before Schedule's check that the expression fires, which calls next_after
        super().__init__("* * * * *")

    def next_after(self, moment: datetime | None = None) -> datetime:
        return (moment or datetime.now(UTC)) + timedelta(seconds=self.seconds)


def test_live_view_refreshes_kpis_while_waiting_and_never_during_a_cycle(database_url: str,
                                                                        local_api: LocalApi) -> None:
    in_cycle = threading.Event()
    waits_in_cycle: list[float] = []
    shown: list[float] = []
    screen = io.StringIO()

    def read_kpis() -> dict[str, Any] | None:
        with psycopg.connect(database_url) as conn:
            return status.read_kpis(conn)

    view = LiveView("userpipe run", console=Console(file=screen, width=120, color_system=None),
                    read_kpis=read_kpis)

    def on_wait() -> None:
        if in_cycle.is_set():
            waits_in_cycle.append(time.monotonic())
        view.waiting()
        assert view.kpis is not None
        lag = float(view.kpis["freshness_lag_seconds"])
        rendered = io.StringIO()
        Console(file=rendered, width=120, color_system=None).print(view)
        kpi_row = next(line for line in rendered.getvalue().splitlines() if line.startswith("│"))
        assert f"{lag:.1f}" in kpi_row.split("│")[5], kpi_row  # the "Freshness lag (s)" cell
        shown.append(lag)

    def on_start() -> None:
        in_cycle.set()
        view.cycle_started()

    def on_cycle(record: RunRecord, next_at: datetime | None) -> None:
        in_cycle.clear()
        view.cycle_finished(record, read_kpis(), next_at)

    with CycleRunner(CycleSettings(api_url=local_api.url)) as runner:
        records = run_loop(runner, SoonAfter(1.5), on_cycle=on_cycle, on_start=on_start, on_wait=on_wait,
                           wait_step=0.3, max_cycles=2)
    view.close()
    assert [r.status for r in records] == ["success", "success"], [r.error for r in records]
    assert not waits_in_cycle
    assert len(shown) >= 2  # at least once per wait (1.5 s in steps of 0.3 s)
    assert shown == sorted(shown) and shown[-1] > shown[0]  # the lag grows while nothing lands


def test_a_seeded_one_off_ingest_between_cycles_does_not_move_their_stream(database_url: str,
                                                                            local_api: LocalApi) -> None:
    userpipe = str(Path(sys.executable).parent / "userpipe")
    with CycleRunner(CycleSettings(batch_size=5, api_url=local_api.url)) as runner:
        first = runner.run_cycle()
        one_off = subprocess.run([userpipe, "ingest", "-n", "3", "--seed", "oneoff", "--api-url", local_api.url],
                                 capture_output=True, text=True, timeout=180, check=False)
        second = runner.run_cycle()
    assert one_off.returncode == 0, one_off.stderr
    assert (first.status, second.status) == ("success", "success"), (first.error, second.error)
    landed = rows(database_url, "select request_seed, request_page, count(*) from raw.users group by 1, 2")
    (stream,) = {seed for seed, _, _ in landed} - {"oneoff"}
    assert sorted(landed) == sorted([(stream, 1, 5), (stream, 2, 5), ("oneoff", 1, 3)])
