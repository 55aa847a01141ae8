"""`userpipe check` runs the batch-scoped checks; `--full` adds the whole-table dbt tests, stored with scope
`table`, and finds what only they can see (a raw user that incoming_users does not hold). The slow schedule's
rule (`full_checks_due`) is read from ops.check_results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from quality import results
from quality.results import CheckResult
from quality.scope import full_checks_due
from randomuser_api import LocalApi
from tests.fixtures.checks import WHOLE_TABLE_TESTS
from tests.quality.conftest import Warehouse


def scoped(warehouse: Warehouse, run_id: str) -> dict[str, tuple[str, str, int | None]]:
    """check_name -> (scope, status, failing_rows) of the dbt results of `run_id`."""
    found = warehouse.rows("select check_name, scope, status, failing_rows from ops.check_results "
                           "where run_id = %s and source = 'dbt'", (run_id,))
    return {name: (scope, status, failing) for name, scope, status, failing in found}


@pytest.fixture(scope="module")
def two_batches(module_warehouse: Warehouse, local_api: LocalApi) -> Warehouse:
    for seed in ("full-older", "full-newer"):
        module_warehouse.land(local_api.url, seed, size=20)
        module_warehouse.build()
    return module_warehouse


def test_check_runs_no_whole_table_test_and_check_full_runs_and_stores_them(two_batches: Warehouse) -> None:
    plain = two_batches.cli("check", "--run-id", "plain-check")
    assert plain.returncode == 0, plain.stderr
    batch = scoped(two_batches, "plain-check")
    assert batch and not set(batch) & WHOLE_TABLE_TESTS
    assert {scope for scope, _, _ in batch.values()} == {"batch"}

    full = two_batches.cli("check", "--full", "--run-id", "full-check")
    assert full.returncode == 0, full.stderr
    every = scoped(two_batches, "full-check")
    assert {name for name, (scope, _, _) in every.items() if scope == "table"} == WHOLE_TABLE_TESTS
    assert {name for name, (scope, _, _) in every.items() if scope == "batch"} == set(batch)
    assert all(every[name][1] == "pass" for name in WHOLE_TABLE_TESTS)


def test_check_full_and_skip_dbt_exclude_each_other(two_batches: Warehouse) -> None:
    done = two_batches.cli("check", "--full", "--skip-dbt")
    assert done.returncode == 1 and done.stderr.strip().splitlines() == [
        "error: --full runs dbt tests: it cannot go with --skip-dbt"]


def test_check_full_finds_and_records_a_raw_user_not_held(two_batches: Warehouse) -> None:
    # a user of the older batch goes missing from incoming_users behind dbt's back: the newest batch is fine
    two_batches.execute("delete from public.incoming_users where user_id = (select min(r.uuid) from raw.users r "
                        "join raw._dlt_loads l on l.load_id = r._dlt_load_id where r.request_seed = 'full-older')")
    plain = two_batches.cli("check", "--run-id", "plain-after-loss")
    assert plain.returncode == 0, plain.stderr  # no batch-scoped check can see it

    full = two_batches.cli("check", "--full", "--run-id", "full-after-loss")
    assert full.returncode == 1
    assert full.stderr.strip().splitlines()[-1].startswith("error: 1 check(s) failed in run full-after-loss: "
                                                           "assert_mart_totals_match_incoming_users")
    found = scoped(two_batches, "full-after-loss")
    assert found["assert_every_raw_user_is_held"] == ("table", "warn", 1)  # severity warn: flagged, not failed
    assert found["assert_mart_totals_match_incoming_users"][:2] == ("table", "fail")


def test_full_checks_due_counts_the_check_runs_since_the_last_whole_table_one(database_url: str) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def store(run_id: str, minute: int, scope: str = results.BATCH) -> None:
        results.store(conn, run_id, [CheckResult("a", "dbt", "pass", scope=scope),
                                     CheckResult("b", "gx", "pass")], start + timedelta(minutes=minute))

    with psycopg.connect(database_url, autocommit=True) as conn:
        assert not full_checks_due(conn, 3) and not full_checks_due(conn, 0) and full_checks_due(conn, 1)
        store("r0", 0)
        assert not full_checks_due(conn, 3)
        store("r1", 1)
        assert full_checks_due(conn, 3)  # two runs so far, none with whole-table checks
        store("r2", 2, results.TABLE)
        due = []
        for minute in range(3, 7):
            due.append(full_checks_due(conn, 3))
            store(f"r{minute}", minute)
        assert due == [False, False, True, True]  # 0, 1, 2, 3 batch-only runs since r2
        assert full_checks_due(conn, 1) and not full_checks_due(conn, 0)
