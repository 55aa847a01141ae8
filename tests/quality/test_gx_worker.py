"""The GX worker process: it gives the results the in-process gate gives, answers before it writes the data docs
(and writes them before it is closed), a dead worker is recorded as a `gx.checkpoint` error and replaced at the
next check, and it does not outlive its caller."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

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


def test_the_worker_answers_before_it_writes_the_data_docs_and_writes_them_before_it_is_closed(
        module_warehouse: Warehouse, local_api: LocalApi, tmp_path: Path) -> None:
    landed = module_warehouse.land(local_api.url, "gx-worker-docs", size=15)
    module_warehouse.build()
    with psycopg.connect(module_warehouse.url, autocommit=True) as conn:
        batch = batches.read_batch(conn, landed.load_id)
    docs = tmp_path / "gx_docs"
    docs.mkdir()
    os.mkfifo(docs / "index.html")  # writing the index waits until this test reads it
    worker = GxWorker(docs)
    answered: list[object] = []
    asking = threading.Thread(
        target=lambda: answered.append(worker.validate(batch, "docs-later", landed.users_new, datetime.now(UTC))),
        daemon=True)
    try:
        asking.start()
        asking.join(timeout=120)
        assert answered, "validate waited for the data docs to be written"
        [(results, index)] = answered
        assert index == docs / "index.html" and results and not worker.wait_for_docs(timeout=0.5)
        with open(docs / "index.html") as fifo:  # the worker writes the index now: the new run is listed
            assert "validations/incoming_users_batch/docs-later/" in fifo.read()
        assert worker.wait_for_docs(timeout=120)

        (docs / "index.html").unlink()
        os.mkfifo(docs / "index.html")
        worker.validate(batch, "docs-at-close", landed.users_new, datetime.now(UTC))
        read: list[str] = []

        def read_index() -> None:
            with open(docs / "index.html") as fifo:
                read.append(fifo.read())

        reader = threading.Thread(target=read_index, daemon=True)
        reader.start()
        worker.close()  # waits for the docs of that last check
        reader.join(timeout=60)
        assert read and "validations/incoming_users_batch/docs-at-close/" in read[0]
    finally:
        if asking.is_alive() or not answered:  # free a worker stuck on the index, then stop it
            with open(docs / "index.html", "rb") as fifo:
                fifo.read()
        worker.close()


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


def test_nothing_of_the_worker_outlives_close_even_during_its_warm_up(tmp_path: Path) -> None:
    """A cycle can fail (and its runner exit) while GX is still being imported. The pool's manager thread must
    be gone by then: left running into interpreter exit it races `concurrent.futures`' exit hook, which printed
    `OSError: [Errno 9] Bad file descriptor` after a failed `userpipe run --once` (CPython 3.11)."""
    worker = GxWorker(tmp_path / "gx_docs")
    worker.start()
    assert worker._pool is not None
    pid = worker_pid(worker)
    manager = worker._pool._executor_manager_thread
    assert manager is not None and manager.is_alive()
    worker.close()
    assert not manager.is_alive()
    assert gone(pid, timeout=10)
