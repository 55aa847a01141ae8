"""A fresh `userpipe check` process starts its dbt tests (in a forked child) before it reads the batch, and a
check that finds nothing to check leaves no child behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from ingestion.pipeline import IngestResult
from quality.gate import run_checks
from randomuser_api import LocalApi
from tests.faults.processes import alive, descendants
from tests.quality.conftest import Warehouse
from userpipe import warehouse
from userpipe.errors import UserpipeError

TIMEOUT_SECONDS = 300  # a bound on every wait, far above what it takes


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def batch(module_warehouse: Warehouse, local_api: LocalApi) -> IngestResult:
    landed = module_warehouse.land(local_api.url, seed="fresh-check", size=50)
    module_warehouse.build()
    return landed


def test_the_dbt_tests_run_while_the_batch_read_waits(module_warehouse: Warehouse, batch: IngestResult) -> None:
    env = {**os.environ, warehouse.DATABASE_URL_ENV: module_warehouse.url,
           warehouse.HOME_ENV: str(module_warehouse.home)}
    with psycopg.connect(module_warehouse.url) as holder:
        holder.execute("lock table raw._dlt_loads in access exclusive mode")  # the batch read's first query
        check = subprocess.Popen([sys.executable, "-c", "from userpipe.cli import app; app()", "check",
                                  "--run-id", "fresh-check"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: waiting_on_a_lock(module_warehouse.url) or check.poll() is not None,
                     "the check to wait for raw._dlt_loads")
            assert check.poll() is None, check.communicate()
            children = [pid for pid in descendants(check.pid) if alive(pid)]
            assert children, "no dbt child runs while the batch read waits"
        finally:
            holder.rollback()
        _, err = check.communicate(timeout=TIMEOUT_SECONDS)
    assert check.returncode == 0, err[-3000:]
    stored = module_warehouse.stored("fresh-check")
    assert any(source == "dbt" for source, _, _ in stored.values()) and any(
        source == "gx" for source, _, _ in stored.values())


def waiting_on_a_lock(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from pg_locks where not granted"
                           " and relation = 'raw._dlt_loads'::regclass").fetchone()
    return bool(row and row[0])


def test_a_check_with_nothing_to_check_stops_its_dbt_child(
        make_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:  # users table there (dbt would run), but no load yet
        conn.execute("create schema raw; create table raw.users (uuid text primary key)")
    monkeypatch.setenv(warehouse.DATABASE_URL_ENV, url)
    monkeypatch.setenv(warehouse.HOME_ENV, str(tmp_path))
    before = descendants(os.getpid())
    with pytest.raises(UserpipeError, match="no batch has landed yet"):
        run_checks("nothing-to-check")
    wait_for(lambda: not [pid for pid in descendants(os.getpid()) - before if alive(pid)],
             "the dbt child to be gone")
    # killed at once, it never got as far as running dbt (left alone, it runs `dbt test` and writes its results)
    assert not (tmp_path / "dbt" / "target" / "run_results.json").exists()
