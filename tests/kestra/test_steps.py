"""The Kestra steps and a local runner share one lock: a Kestra ingest waits for a running local cycle, then
skips (recorded) if it does not end in time."""

from __future__ import annotations

import json
import threading
from pathlib import Path

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


@pytest.mark.parametrize("content", ["", "{}", '{"results": [{"status": "pass"}]}', "[1, 2]"])
def test_a_file_that_is_not_dbt_run_results_is_one_line_error(tmp_path: Path, content: str) -> None:
    results = tmp_path / "run_results.json"
    results.write_text(content)
    with pytest.raises(UserpipeError, match=r"^--dbt-results .*run_results\.json: not a dbt run_results\.json \("):
        kestra_steps.dbt_build_outcome(results)
    with pytest.raises(UserpipeError, match=r"missing\.json: cannot read it \(No such file or directory\)$"):
        kestra_steps.dbt_build_outcome(tmp_path / "missing.json")


def test_run_results_nodes_keep_type_name_status_and_failures(tmp_path: Path) -> None:
    results = tmp_path / "run_results.json"
    results.write_text(json.dumps({"args": {"which": "build"}, "elapsed_time": 2.5, "results": [
        {"unique_id": "model.userpipe.incoming_users", "status": "success", "execution_time": 0.4, "failures": None,
         "message": "INSERT 0 7"},
        {"unique_id": "test.userpipe.not_null_incoming_users_user_id.5f3a", "status": "fail", "execution_time": 0.1,
         "failures": 2, "message": "Got 2 results"},
        {"unique_id": "test.userpipe.assert_no_future_dates", "status": "pass", "failures": 0, "message": None}]}))
    outcome = kestra_steps.dbt_build_outcome(results)
    assert (outcome.command, outcome.success, outcome.seconds) == ("build", False, 2.5)
    assert [(t.name, t.status, t.failures) for t in outcome.tests] == [
        ("not_null_incoming_users_user_id", "fail", 2), ("assert_no_future_dates", "pass", 0)]
