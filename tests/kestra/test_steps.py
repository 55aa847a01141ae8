"""The Kestra steps and a local runner share one lock: a Kestra ingest waits for a running local cycle, then
skips (recorded) if it does not end in time."""

from __future__ import annotations

import threading

import psycopg
import pytest

from randomuser_api import LocalApi
from userpipe import kestra_steps, runs
from userpipe.errors import UserpipeError
from userpipe.runs import CycleLock


def test_kestra_ingest_skips_when_a_cycle_keeps_the_lock(database_url: str, local_api: LocalApi) -> None:
    with CycleLock(database_url) as local_cycle:
        local_cycle.try_acquire()
        with pytest.raises(UserpipeError, match="skipped: another cycle held the lock"):
            kestra_steps.ingest_step("exec-busy", 5, api_url=local_api.url, lock_wait_seconds=0.3)
    with psycopg.connect(database_url) as conn:
        record = runs.load(conn, "exec-busy")
        assert record is not None and (record.trigger, record.status) == ("kestra", "skipped")
        assert conn.execute("select to_regclass('raw.users')").fetchone() == (None,)


def test_kestra_ingest_waits_for_the_local_cycle_then_lands(database_url: str, local_api: LocalApi,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    with CycleLock(database_url) as local_cycle:
        local_cycle.try_acquire()
        threading.Timer(0.5, local_cycle.release).start()
        outputs = kestra_steps.ingest_step("exec-wait", 5, api_url=local_api.url, lock_wait_seconds=30)
    assert outputs["users_new"] == 5 and outputs["run_id"] == "exec-wait"
    assert '::{"outputs": {"run_id": "exec-wait"' in capsys.readouterr().out
    with psycopg.connect(database_url) as conn:
        record = runs.load(conn, "exec-wait")
        assert record is not None and record.status == "running"  # the lease, until check or record-failure
        assert runs.active_kestra_run(conn) == "exec-wait"
