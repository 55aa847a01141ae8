"""The check step records the tests of the cycle's own `dbt build` (no second `dbt test`), and a build stopped
by a failing test still leaves that test's result in ops.check_results."""

from __future__ import annotations

import json

import psycopg

from randomuser_api import LocalApi
from userpipe.cycle import CycleRunner, CycleSettings


def rows(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def test_check_step_records_the_builds_tests_and_a_failed_build_records_its_failing_test(
        database_url: str, local_api: LocalApi) -> None:
    # full_checks_every=0: no whole-table tests (their own `dbt test`, tests/orchestration/test_full_checks.py)
    with CycleRunner(CycleSettings(batch_size=10, api_url=local_api.url, full_checks_every=0)) as runner:
        first = runner.run_cycle()
        assert first.status == "success", first.error
        run_results = json.loads((runner.transformer().target_dir / "run_results.json").read_text())
        build_tests = {r["unique_id"].split(".")[2] for r in run_results["results"]
                       if r["unique_id"].startswith("test.")}
        assert run_results["args"]["which"] == "build"  # the last dbt command of the cycle was the build

        recorded = {name for (name,) in rows(database_url, "select check_name from ops.check_results "
                                                           "where run_id = %s and source = 'dbt'", (first.run_id,))}
        assert build_tests and recorded == build_tests

        with psycopg.connect(database_url) as conn:  # break a mart behind dbt's back (a batch-scoped test sees it)
            conn.execute("update marts.users_by_country set country = null "
                         "where country = (select min(country) from marts.users_by_country)")
        second = runner.run_cycle()

    assert second.status == "failed" and (second.error or "").startswith("transform failed:")
    failing = rows(database_url, "select check_name, status from ops.check_results where run_id = %s "
                                 "and status in ('fail', 'error')", (second.run_id,))
    assert ("not_null_users_by_country_country", "fail") in failing
    assert rows(database_url, "select count(*) from raw.users") == [(20,)]  # the data stays
