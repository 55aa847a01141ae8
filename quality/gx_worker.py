"""Great Expectations in a worker process of its own, for a long-lived caller (the cycle loop).

Importing great_expectations and building its project takes ~2-3 s of one core. The worker starts that at
once, when the caller starts, so it runs on the other core while the first cycle ingests and builds with dbt;
the first cycle's check then finds GX ready. The worker keeps its GX project (and data docs site builder)
across cycles, as the caller's own process did. `validate` answers with a check's results as soon as the suites
ran; the worker writes that check's data docs pages after answering (the index lists the last 100 runs: 1-2 s
with 50-100 listed at load 5-8), while the cycle goes on, and the next check waits for them. It ignores
SIGINT (the caller decides when to stop), is killed by `close()` once the last docs are written (at most
DOCS_WAIT_SECONDS; a warm-up still importing GX must not hold up the caller's exit; `close()` returns once the
pool's threads have ended), exits within a second once its caller is gone (a watchdog thread: PR_SET_PDEATHSIG
would fire when the *thread* that started it ends), and a worker that died is replaced at the next check.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from quality.results import ERROR, CheckResult

if TYPE_CHECKING:
    from quality.batch import Batch

log = logging.getLogger(__name__)

WATCHDOG_SECONDS = 0.5  # how often the worker looks for its caller
DOCS_WAIT_SECONDS = 30.0  # how long close() lets the worker finish the data docs of the last check


class GxWorker:
    """One worker process running the GX suites of each check (`validate`); use as a context manager."""

    def __init__(self, docs_dir: Path) -> None:
        self.docs_dir = docs_dir
        self._pool: ProcessPoolExecutor | None = None
        self._warm_up: Future[None] | None = None
        self._docs: Future[None] | None = None  # the data docs of the last check, written after it answered
        self._lock = threading.Lock()  # one check at a time, as a GX context serves one run at a time

    def __enter__(self) -> GxWorker:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the worker (spawned: a clean interpreter, whatever threads the caller runs) and its GX import."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_prepare, initargs=(os.getpid(),))
            self._warm_up = self._pool.submit(_warm_up, self.docs_dir)

    def validate(self, batch: Batch, run_id: str, expected_rows: int | None,
                 checked_at: datetime) -> tuple[list[CheckResult], Path | None]:
        """The GX results of `batch` (and the data docs index), as quality.gate computes them in-process; the
        docs pages are written by the worker after it answered (`wait_for_docs`), the next check queued behind."""
        from quality.gate import gx_results, render_pending_docs

        with self._lock:
            self.start()
            assert self._pool is not None
            try:
                found = self._pool.submit(gx_results, batch, run_id, expected_rows, checked_at, self.docs_dir,
                                          docs_later=True).result()
                self._docs = self._pool.submit(render_pending_docs, self.docs_dir)
                return found
            except BrokenProcessPool as exc:  # the worker died (killed, out of memory): record it, start anew
                log.warning("the GX worker died: %s", exc)
                self._close()
                died = CheckResult("gx.checkpoint", "gx", ERROR, observed_value=f"the GX worker process died: {exc}")
                return [died], None

    def wait_for_docs(self, timeout: float = DOCS_WAIT_SECONDS) -> bool:
        """Wait until the data docs of the checks so far are written (True), at most `timeout` seconds."""
        docs = self._docs
        if docs is None:
            return True
        try:
            docs.result(timeout=timeout)
        except TimeoutError:
            return False
        except BrokenProcessPool:  # the worker died: the next check replaces it and records it
            pass
        return True

    def close(self) -> None:
        """Let the worker finish the data docs it is writing (at most DOCS_WAIT_SECONDS), then kill it (it holds
        nothing else that is not written yet) and wait for its pool's threads to end."""
        try:
            if self._docs is not None and not self.wait_for_docs():
                log.warning("the GX data docs took over %s s: stopped before they were written", DOCS_WAIT_SECONDS)
        finally:
            self._close()

    def _close(self) -> None:
        pool, self._pool, self._warm_up, self._docs = self._pool, None, None, None
        if pool is not None:
            kill_pool(pool)


def kill_pool(pool: ProcessPoolExecutor) -> None:
    """Kill `pool`'s processes and return once its manager thread has ended (quick: the processes are dead).
    Left running into interpreter exit, that thread races concurrent.futures' exit hook over its wakeup pipe
    (unlocked in CPython 3.11, python/cpython#125451): a `userpipe run --once` that failed while GX was still
    warming up printed `OSError: [Errno 9] Bad file descriptor` after its error line."""
    for process in list(pool._processes.values()):
        process.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def _prepare(parent: int) -> None:
    """In the worker: leave SIGINT to the caller, and exit as soon as the caller is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_without, args=(parent,), name="gx-worker-watchdog", daemon=True).start()


def _exit_without(parent: int) -> None:
    """Exit the worker once `parent` is no longer its parent (it died; the worker was re-parented)."""
    while os.getppid() == parent:
        time.sleep(WATCHDOG_SECONDS)
    os._exit(1)


def _warm_up(docs_dir: Path) -> None:
    """Import GX and build the project (its context, suites and checkpoints) before the first check needs it."""
    from quality.context import gx_project

    try:
        gx_project(docs_dir)
    except Exception:  # the first check will meet (and record) the same failure
        log.exception("GX warm-up failed")
