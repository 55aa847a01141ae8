"""`userpipe transform` killed (kill -9) half way through an incremental build: incoming_users and some marts
have counted the new batch, one mart has not. The marts add each batch to their counts, so the next cycle must
count the batch in that mart once and in the others not again."""

from __future__ import annotations

from tests.faults.conftest import start_userpipe, userpipe, value, wait_for
from tests.faults.holds import HOLD_WAIT_SECONDS, hold_table, kill, wait_sessions_gone, waiting_on_table
from tests.faults.invariants import assert_consistent, served_uuids

BATCH = 20
HELD_MART = "marts.users_by_gender"


def counted(url: str, mart: str = "marts.users_by_country") -> int:
    return int(value(url, f"select coalesce(sum(user_count), 0) from {mart}"))


def test_a_transform_killed_between_its_marts_counts_no_user_twice(database_url: str) -> None:
    assert userpipe("ingest", "-n", str(BATCH), "--seed", "built").returncode == 0
    assert userpipe("transform").returncode == 0  # the marts exist: the next build is incremental
    assert userpipe("ingest", "-n", str(BATCH), "--seed", "half").returncode == 0

    with hold_table(database_url, HELD_MART):
        transform = start_userpipe("transform")
        try:
            wait_for(lambda: waiting_on_table(database_url, HELD_MART), f"the build to wait for {HELD_MART}",
                     HOLD_WAIT_SECONDS)
            wait_for(lambda: counted(database_url) == 2 * BATCH, "another mart to count the new batch",
                     HOLD_WAIT_SECONDS)
        finally:
            kill(transform)
    wait_sessions_gone(database_url)
    assert value(database_url, "select count(*) from public.incoming_users") == 2 * BATCH
    assert counted(database_url, HELD_MART) == BATCH  # half done: this mart has not counted it

    cycle = userpipe("run", "--once", "--no-dashboard", "--plain", "-n", str(BATCH))

    assert cycle.returncode == 0, cycle.stdout + cycle.stderr
    assert value(database_url, "select count(*) from public.incoming_users") == 3 * BATCH
    assert_consistent(database_url, served_uuids("built", BATCH) | served_uuids("half", BATCH))
