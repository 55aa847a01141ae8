"""Great Expectations in a worker process of its own, for a long-lived caller (the cycle loop).

Importing great_expectations and building its project takes ~2-3 s of one core. The worker starts that at
once, when the caller starts, so it runs on the other core while the first cycle ingests and builds with dbt;
the first cycle's check then finds GX ready. The worker keeps its GX project (and data docs site builder)
across cycles, as the caller's own process did. It ignores SIGINT (the caller decides when to stop), dies
with its caller (Linux: PR_SET_PDEATHSIG), and a worker that died is replaced at the next check.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from quality.results import ERROR, CheckResult

if TYPE_CHECKING:
    from quality.batch import Batch

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class GxWorker:
    """One worker process running the GX suites of each check (`validate`); use as a context manager."""

    def __init__(self, docs_dir: Path) -> None:
        self.docs_dir = docs_dir
        self._pool: ProcessPoolExecutor | None = None
        self._warm_up: Future[None] | None = None

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

        self.start()
        assert self._pool is not None
        try:
            return self._pool.submit(gx_results, batch, run_id, expected_rows, checked_at, self.docs_dir).result()
        except BrokenProcessPool as exc:  # the worker died (killed, out of memory): record it, start anew next time
            log.warning("the GX worker died: %s", exc)
            self.close()
            died = CheckResult("gx.checkpoint", "gx", ERROR, observed_value=f"the GX worker process died: {exc}")
            return [died], None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool, self._warm_up = None, None


def _prepare(parent: int) -> None:
    """In the worker: leave SIGINT to the caller, and be killed as soon as the caller dies (Linux)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
    if os.getppid() != parent:  # the caller died before the request took effect
        os._exit(1)


def _warm_up(docs_dir: Path) -> None:
    """Import GX and build the project (its context, suites and checkpoints) before the first check needs it."""
    from quality.context import gx_project

    try:
        gx_project(docs_dir)
    except Exception:  # the first check will meet (and record) the same failure
        log.exception("GX warm-up failed")
