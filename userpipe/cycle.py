"""One cycle: ingest -> transform -> check, under the cycle lock, recorded in `ops.pipeline_runs`.

`CycleRunner` is long-lived: one local API (when no `api_url` is given) and one dbt Transformer serve every
cycle. A cycle's build and checks read the batch; the whole-table dbt tests run in one cycle of every
`full_checks_every` (see `quality.scope`). A failed step ends its cycle (status `failed`, `error` = the step and
its reason) and the next cycle starts afresh. Failed checks also make the cycle `failed` (error `checks failed:
...`), but the data they looked at stays. A stop request (SIGINT/SIGTERM, see `StopRequest`) is honoured between
steps, never inside one; the cycle it cuts short is recorded as `interrupted`. When the database cannot be
reached the outcome is kept (in memory and in `$USERPIPE_HOME/unrecorded_cycles/`) and written by the next cycle
that can, of this process or a later one: a `userpipe run --once` exits before the database is back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

import psycopg

from quality.scope import DEFAULT_FULL_CHECKS_EVERY, WHOLE_TABLE_SELECTOR
from userpipe import runs, warehouse
from userpipe.errors import UserpipeError
from userpipe.runs import RunRecord
from userpipe.schedule import Schedule

if TYPE_CHECKING:
    from randomuser_api import LocalApi

log = logging.getLogger(__name__)

MIN_BATCH_SIZE = 1
MAX_BATCH_SIZE = 100_000  # as `userpipe ingest`: fetched in pages of 5,000 (the API's most per request)
# dlt must not swallow our SIGINT/SIGTERM in its normalize/load steps: we stop *after* the step instead.
DLT_SIGNALS_ENV = "RUNTIME__INTERCEPT_SIGNALS"
# between cycles the loop wakes this often (the live view refreshes its KPIs then)
WAIT_STEP_SECONDS = 5.0
# a cycle's ingest may take this share of the cron interval (fetching and its retries), the rest is for dbt and
# the checks; never less than the floor, so that a schedule of seconds still fetches a page
INGEST_SHARE_OF_INTERVAL = 0.75
MIN_INGEST_TIME_LIMIT_SECONDS = 10.0


class ChecksFailed(UserpipeError):
    """The quality gate found failing checks (the data stays; the cycle is recorded as failed)."""


@dataclass(frozen=True)
class CycleSettings:
    """What every cycle of a runner does."""

    batch_size: int = 10
    nat: str | None = None
    api_url: str | None = None
    trigger: str = "local"
    wait_for_lock: bool = False
    lock_timeout_seconds: float | None = None
    ingest_time_limit: float | None = None  # seconds; None: `ingest`'s default
    full_checks_every: int = DEFAULT_FULL_CHECKS_EVERY  # 1: every cycle; 0: never (`userpipe check --full`)

    def __post_init__(self) -> None:
        if self.full_checks_every < 0:
            raise UserpipeError(f"--full-checks-every must be 0 or more, got {self.full_checks_every}")
        if not MIN_BATCH_SIZE <= self.batch_size <= MAX_BATCH_SIZE:
            raise UserpipeError(
                f"--batch-size must be between {MIN_BATCH_SIZE} and {MAX_BATCH_SIZE:,} (pages of 5,000), "
                f"got {self.batch_size}"
            )
        if self.trigger not in runs.TRIGGERS:
            raise UserpipeError(f"unknown trigger {self.trigger!r}; choose from {', '.join(runs.TRIGGERS)}")


class StopRequest:
    """A stop asked for by a signal: the runner finishes the current step, records the cycle, and stops.

    The first SIGINT/SIGTERM only sets the flag (and wakes a waiting loop); a second SIGINT raises
    KeyboardInterrupt to force the stop.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when a stop was requested meanwhile."""
        return self._event.wait(max(0.0, seconds))

    @contextlib.contextmanager
    def on_signals(self) -> Iterator[StopRequest]:
        """Turn SIGINT/SIGTERM into stop requests while inside (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def handle(signum: int, frame: FrameType | None) -> None:
            if self and signum == signal.SIGINT:
                raise KeyboardInterrupt
            log.warning("%s received: stopping after the current step", signal.Signals(signum).name)
            self.request(signal.Signals(signum).name)

        for sig in previous:
            signal.signal(sig, handle)
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class CycleRunner:
    """Runs cycles with shared long-lived resources; use as a context manager."""

    def __init__(self, settings: CycleSettings, database_url: str | None = None,
                 stop: StopRequest | None = None) -> None:
        self.settings = settings
        self.database_url = database_url
        self.stop = stop if stop is not None else StopRequest()
        self.pending: list[RunRecord] = []  # outcomes not yet written (database unreachable)
        self.unrecorded = runs.UnrecordedCycles()  # the same, kept on disk for a later process
        self._api: LocalApi | None = None
        self._transformer: Any = None
        self._load_id: str | None = None
        self._build: Any = None  # the last `dbt build` result: its tests are recorded by the check step
        self._gx: Any = None  # quality.gx_worker.GxWorker: GX warms up in its own process meanwhile

    # -- lifecycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> CycleRunner:
        os.environ.setdefault(DLT_SIGNALS_ENV, "false")
        from quality.gate import docs_dir
        from quality.gx_worker import GxWorker

        self._gx = GxWorker(docs_dir())
        self._gx.start()  # its GX import overlaps the first ingest and dbt build, on the other core
        if not self.settings.api_url:
            from randomuser_api import LocalApi

            self._api = LocalApi().start()
            log.info("local randomuser API at %s", self._api.url)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._api is not None:
            self._api.stop()
            self._api = None
        if self._gx is not None:
            self._gx.close()
            self._gx = None

    @property
    def api_url(self) -> str:
        if self.settings.api_url:
            return self.settings.api_url
        if self._api is None:
            raise RuntimeError("CycleRunner used outside its `with` block")
        return self._api.url

    # -- one cycle ---------------------------------------------------------------------------------------

    def run_cycle(self) -> RunRecord:
        """Run one cycle (or skip it when another holds the lock) and return its recorded outcome."""
        record = RunRecord.start(self.settings.trigger)
        try:
            url = self.database_url or warehouse.database_url()
            lock = runs.CycleLock(url)
        except UserpipeError as exc:
            record.finish("failed", f"database unreachable: {exc}")
            self._defer(record)
            return record
        with lock:
            try:
                runs.ensure_table(lock.conn)
                self._flush_pending(lock.conn)
                if self._claim(lock, record):
                    runs.save(lock.conn, record)
                    self._run_steps(record, url, lock.conn)
            except (psycopg.Error, UserpipeError) as exc:  # recording failed: the database went away
                if record.ended_at is None:
                    record.finish("failed", f"database lost: {_reason(exc)}")
            finally:  # also on a forced stop (second Ctrl-C): the row is closed, not left running
                self._record_end(lock.conn, record)
        return record

    def _claim(self, lock: runs.CycleLock, record: RunRecord) -> bool:
        """Take the lock for `record`, or finish it as skipped (False)."""
        if self.settings.wait_for_lock:
            got = lock.acquire(self.settings.lock_timeout_seconds, should_stop=lambda: bool(self.stop))
        else:
            got = lock.try_acquire()
        if not got and self.stop:
            record.finish("interrupted", f"interrupted by {self.stop.reason} while waiting for the cycle lock")
            return False
        if not got:
            record.finish("skipped", "another cycle holds the lock (a `userpipe run` or a Kestra execution)")
            return False
        kestra_run = runs.active_kestra_run(lock.conn)
        if kestra_run:
            record.finish("skipped", f"Kestra execution {kestra_run} is mid-cycle")
            return False
        for trigger in ("local", "manual"):
            runs.close_abandoned(lock.conn, trigger, keep_run_id=record.run_id)
        return True

    def _run_steps(self, record: RunRecord, url: str, conn: psycopg.Connection) -> None:
        steps: dict[str, Callable[[RunRecord, str], None]] = {
            "ingest": self._ingest, "transform": self._transform, "check": self._check,
        }
        for name, step in steps.items():
            if self.stop:
                record.finish("interrupted", f"interrupted by {self.stop.reason} before {name}")
                return
            started = time.perf_counter()
            try:
                step(record, url)
            except KeyboardInterrupt:
                record.finish("interrupted", f"interrupted: forced stop (second Ctrl-C) during {name}")
                raise
            except Exception as exc:  # any step failure ends the cycle, recorded with its reason
                log.info("cycle %s: %s failed: %s", record.run_id, name, exc)
                setattr(record, f"{name}_seconds", round(time.perf_counter() - started, 3))
                prefix = "" if isinstance(exc, ChecksFailed) else f"{name} failed: "
                record.finish("failed", prefix + _reason(exc))
                if name == "transform":
                    self._transformer = None  # start dbt afresh next cycle
                return
            setattr(record, f"{name}_seconds", round(time.perf_counter() - started, 3))
            with contextlib.suppress(psycopg.Error):
                runs.save(conn, record)  # progress is visible while the cycle runs
        record.finish("success")

    def _ingest(self, record: RunRecord, url: str) -> None:
        from ingestion.pipeline import ingest
        from ingestion.randomuser.settings import BATCH_TIME_LIMIT_SECONDS

        result = ingest(self.settings.batch_size, nat=self.settings.nat, api_url=self.api_url, database_url=url,
                        time_limit=self.settings.ingest_time_limit or BATCH_TIME_LIMIT_SECONDS)
        record.users_fetched = result.users_fetched
        record.users_new = result.users_new
        self._load_id = result.load_id

    def _transform(self, record: RunRecord, url: str) -> None:
        from userpipe.transform import TransformError

        self._build = None
        try:
            self._build = self.transformer().build(exclude=[WHOLE_TABLE_SELECTOR])
        except TransformError as exc:
            if exc.result is not None and exc.result.tests:  # a failed test stops the build: record it
                from quality.gate import record_dbt_tests

                record_dbt_tests(record.run_id, exc.result, database_url=url)
            raise

    def _check(self, record: RunRecord, url: str) -> None:
        from quality.gate import run_checks
        from quality.scope import full_checks_due

        with warehouse.connect(url, autocommit=True) as conn:
            full = full_checks_due(conn, self.settings.full_checks_every)
        report = run_checks(record.run_id, expected_rows=record.users_new, load_id=self._load_id,
                            transformer=self.transformer(), database_url=url, dbt_outcome=self._build, full=full,
                            gx=self._gx)
        if not report.passed:
            names = ", ".join(f.check_name for f in report.failures[:5])
            raise ChecksFailed(f"checks failed: {len(report.failures)} of {len(report.results)} ({names})")

    def transformer(self) -> Any:
        """The long-lived dbt Transformer (made on first use: importing dbt is slow)."""
        if self._transformer is None:
            from userpipe.transform import Transformer

            self._transformer = Transformer(database_url=self.database_url)
        return self._transformer

    # -- recording ---------------------------------------------------------------------------------------

    def _record_end(self, conn: psycopg.Connection, record: RunRecord) -> None:
        if record.ended_at is None:
            record.finish("failed", "the cycle ended without an outcome")
        try:
            runs.save(conn, record)
        except psycopg.Error:
            self._defer(record)

    def _defer(self, record: RunRecord) -> None:
        kept = self.unrecorded.keep(record)
        # info, not a warning: the cycle's outcome itself is what the caller shows (one line)
        log.info("cycle %s %s (%s); kept%s until a cycle reaches the database", record.run_id, record.status,
                 record.error, f" in {kept}" if kept else " in memory")
        self.pending.append(record)

    def _flush_pending(self, conn: psycopg.Connection) -> None:
        """Write the outcomes kept while the database was unreachable (this runner's, then earlier processes')."""
        while self.pending:
            runs.save(conn, self.pending[0])
            self.unrecorded.forget(self.pending.pop(0).run_id)
        for record in self.unrecorded.records():
            runs.save(conn, record)
            self.unrecorded.forget(record.run_id)


def run_loop(runner: CycleRunner, schedule: Schedule,
             on_cycle: Callable[[RunRecord, datetime | None], None] = lambda record, next_at: None,
             on_start: Callable[[], None] = lambda: None, max_cycles: int | None = None,
             on_wait: Callable[[], None] = lambda: None, wait_step: float = WAIT_STEP_SECONDS) -> list[RunRecord]:
    """Run a cycle now, then at every tick of `schedule`, until stopped or `max_cycles` ran.

    `on_cycle(record, next_at)` sees every outcome with the time of the next cycle (None when the loop ends);
    `on_wait()` is called every `wait_step` seconds while the loop waits for the next tick (never during a
    cycle), e.g. to refresh what a view shows.
    """
    records: list[RunRecord] = []
    while True:
        on_start()
        record = runner.run_cycle()
        records.append(record)
        last = bool(runner.stop) or (max_cycles is not None and len(records) >= max_cycles)
        next_at = None if last else schedule.next_after()
        on_cycle(record, next_at)
        if next_at is None or _wait_until(next_at, runner.stop, on_wait, wait_step):
            return records


def _wait_until(moment: datetime, stop: StopRequest, on_wait: Callable[[], None], step: float) -> bool:
    """Sleep until `moment`, calling `on_wait` every `step` seconds; True when a stop was requested."""
    while (left := (moment - datetime.now(UTC)).total_seconds()) > 0:
        if stop.wait(min(left, step)):
            return True
        if left > step:  # not at the tick yet
            on_wait()
    return bool(stop)


def interval_seconds(schedule: Schedule) -> float:
    """Seconds between the next two ticks of `schedule`."""
    try:
        first = schedule.next_after()
        return (schedule.next_after(first) - first).total_seconds()
    except ValueError as exc:  # croniter's errors for a schedule that never fires
        raise UserpipeError(f"--cron {schedule.expression!r} never fires: {exc}") from None


def ingest_time_limit(schedule: Schedule) -> float:
    """How long a cycle's ingest may take on `schedule`: its share of the interval between the next two ticks."""
    return round(max(MIN_INGEST_TIME_LIMIT_SECONDS, interval_seconds(schedule) * INGEST_SHARE_OF_INTERVAL), 3)


def overrun_notice(record: RunRecord, schedule: Schedule) -> str | None:
    """A sentence when `record` ran past the tick after its start (that tick was skipped), else None."""
    if record.ended_at is None:
        return None
    next_tick = schedule.next_after(record.started_at)
    if record.ended_at <= next_tick:
        return None
    took = (record.ended_at - record.started_at).total_seconds()
    return (f"cycle {record.run_id} took {took:.1f} s, past its next tick {next_tick:%H:%M:%S}Z (cron interval "
            f"{interval_seconds(schedule):g} s): ticks it overran are skipped; a smaller --batch-size or a "
            "wider --cron fits the interval")


def run_cycle(batch_size: int = 10, nat: str | None = None, api_url: str | None = None,
              trigger: str = "manual", database_url: str | None = None) -> RunRecord:
    """One cycle with fresh resources (the `userpipe run --once` path, usable from Python)."""
    settings = CycleSettings(batch_size=batch_size, nat=nat, api_url=api_url, trigger=trigger)
    with CycleRunner(settings, database_url=database_url) as runner:
        return runner.run_cycle()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return runs.one_line(text) if text else type(exc).__name__
