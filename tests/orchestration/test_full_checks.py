"""The whole-table dbt tests (tag whole_table) run on the slow schedule, not in every cycle, and are stored
with the cycle they ran in (scope `table`)."""

from __future__ import annotations

from dataclasses import replace

import psycopg

from randomuser_api import LocalApi
from tests.fixtures.checks import WHOLE_TABLE_TESTS
from userpipe.cycle import CycleRunner, CycleSettings


def stored(url: str, run_id: str) -> dict[str, tuple[str, str]]:
    """check_name -> (scope, status) of the dbt results of `run_id`."""
    with psycopg.connect(url) as conn:
        found = conn.execute("select check_name, scope, status from ops.check_results "
                             "where run_id = %s and source = 'dbt'", (run_id,)).fetchall()
    return {name: (scope, status) for name, scope, status in found}


def test_every_second_cycle_runs_and_stores_the_whole_table_tests_the_others_only_batch_ones(
        database_url: str, local_api: LocalApi) -> None:
    settings = CycleSettings(batch_size=5, api_url=local_api.url, full_checks_every=2)
    with CycleRunner(settings) as runner:
        records = [runner.run_cycle() for _ in range(4)]
    assert [r.status for r in records] == ["success"] * 4, [r.error for r in records]

    checks = [stored(database_url, record.run_id) for record in records]
    # every second check run: the first cycle has no run before it, the second one has one
    for cycle, full in zip(checks, (False, True, False, True), strict=True):
        table = {name for name, (scope, _) in cycle.items() if scope == "table"}
        batch = {name for name, (scope, _) in cycle.items() if scope == "batch"}
        assert batch and not batch & WHOLE_TABLE_TESTS  # the build's own tests, every cycle
        assert table == (WHOLE_TABLE_TESTS if full else set())
        assert all(status == "pass" for name, (_, status) in cycle.items() if name in table)


def test_full_checks_every_1_runs_them_every_cycle_and_0_never(database_url: str, local_api: LocalApi) -> None:
    with CycleRunner(CycleSettings(batch_size=3, api_url=local_api.url)) as runner:
        for every, expected in ((0, set()), (1, WHOLE_TABLE_TESTS), (1, WHOLE_TABLE_TESTS), (0, set())):
            runner.settings = replace(runner.settings, full_checks_every=every)
            record = runner.run_cycle()
            assert record.status == "success", record.error
            table = {n for n, (scope, _) in stored(database_url, record.run_id).items() if scope == "table"}
            assert table == expected, every
