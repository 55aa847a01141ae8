"""The GX worker process: it gives the results the in-process gate gives, a dead worker is recorded as a
`gx.checkpoint` error and replaced at the next check, and it does not outlive its caller."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import psycopg

from quality import batch as batches
from quality.gate import gx_results
from quality.gx_worker import GxWorker
from randomuser_api import LocalApi
from tests.quality.conftest import Warehouse

CALLER = """
import sys, time
from pathlib import Path
from quality.gx_worker import GxWorker
worker = GxWorker(Path(sys.argv[1]))
worker.start()
print(next(iter(worker._pool._processes)), flush=True)
time.sleep(600)
"""


def worker_pid(worker: GxWorker) -> int:
    assert worker._pool is not None
    [pid] = worker._pool._processes
    return pid


def gone(pid: int, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_the_worker_validates_as_the_gate_does_and_a_dead_one_is_recorded_then_replaced(
        module_warehouse: Warehouse, local_api: LocalApi) -> None:
    landed = module_warehouse.land(local_api.url, "gx-worker", size=15)
    module_warehouse.build()
    with psycopg.connect(module_warehouse.url, autocommit=True) as conn:
        batch = batches.read_batch(conn, landed.load_id)
    at = datetime.now(UTC)
    docs = module_warehouse.home / "gx_docs"
    here, _ = gx_results(batch, "in-process", landed.users_new, at, docs)
    with GxWorker(docs) as worker:
        there, index = worker.validate(batch, "in-worker", landed.users_new, at)
        assert there == here and index == docs / "index.html"

        os.kill(worker_pid(worker), signal.SIGKILL)
        died, _ = worker.validate(batch, "worker-died", landed.users_new, at)
        assert [(r.check_name, r.status) for r in died] == [("gx.checkpoint", "error")]
        again, _ = worker.validate(batch, "worker-again", landed.users_new, at)  # a new worker
        assert again == here


def test_the_worker_dies_with_its_caller(module_warehouse: Warehouse) -> None:
    caller = subprocess.Popen([sys.executable, "-c", CALLER, str(module_warehouse.home / "gx_docs")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert caller.stdout is not None
        pid = int(caller.stdout.readline())
        os.kill(pid, 0)  # running
    finally:
        caller.kill()
        caller.wait(timeout=60)
    assert gone(pid)
