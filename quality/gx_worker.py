"""Great Expectations in a worker process of its own, for a long-lived caller (the cycle loop).

Importing great_expectations and building its project takes ~2-3 s of one core. The worker starts that at
once, when the caller starts, so it runs on the other core while the first cycle ingests and builds with dbt;
the first cycle's check then finds GX ready. The worker keeps its GX project (and data docs site builder)
across cycles, as the caller's own process did. It ignores SIGINT (the caller decides when to stop), is
killed by `close()` (a check's results, data docs included, are complete when `validate` returns; a warm-up
still importing GX must not hold up the caller's exit), exits within a second once its caller is gone (a
watchdog thread: PR_SET_PDEATHSIG would fire when the *thread* that started it ends), and a worker that died
is replaced at the next check.
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


class GxWorker:
    """One worker process running the GX suites of each check (`validate`); use as a context manager."""

    def __init__(self, docs_dir: Path) -> None:
        self.docs_dir = docs_dir
        self._pool: ProcessPoolExecutor | None = None
        self._warm_up: Future[None] | None = None
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
        """The GX results of `batch` (and the data docs index), as quality.gate computes them in-process."""
        from quality.gate import gx_results

        with self._lock:
            self.start()
            assert self._pool is not None
            try:
                return self._pool.submit(gx_results, batch, run_id, expected_rows, checked_at,
                                         self.docs_dir).result()
            except BrokenProcessPool as exc:  # the worker died (killed, out of memory): record it, start anew
                log.warning("the GX worker died: %s", exc)
                self.close()
                died = CheckResult("gx.checkpoint", "gx", ERROR, observed_value=f"the GX worker process died: {exc}")
                return [died], None

    def close(self) -> None:
        """Kill the worker (it holds nothing that is not written yet) and let its pool wind down."""
        pool, self._pool, self._warm_up = self._pool, None, None
        if pool is not None:
            for process in list(pool._processes.values()):
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)


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
