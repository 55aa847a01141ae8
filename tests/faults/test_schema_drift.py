"""Schema drift from upstream: our API (a real `userpipe api serve` process) sends pages where half the users lost
`location`, got `dob.age` "thirty", `email` renamed, gender "unknown", nat "XX". A `userpipe run --once` cycle
lands them in raw, quarantines them (ops.quarantined_users), keeps them out of incoming_users and the marts, and
is recorded failed naming each broken rule with its count; one clean cycle then succeeds and the warehouse is
consistent (incoming_users = raw minus quarantine, marts add up)."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator

import pytest

from tests.faults.conftest import TIMEOUT_SECONDS, rows, start_userpipe, userpipe, value
from tests.faults.invariants import assert_consistent, assert_recorded_failed, served_uuids

DRIFT = "no_location,age_text,email_renamed,gender_unknown,nat_xx"
RULES = ("location_missing", "age_not_integer", "email_missing", "gender_invalid", "nationality_invalid")
BATCH = 1000
DRIFTED = BATCH // 2  # --drift-share 0.5 of the one 1000-user page
CLEAN_BATCH = 100


@pytest.fixture
def drifting_api(database_url: str) -> Iterator[str]:
    """`userpipe api serve` on a free port with the drift switch on every request; yields its API URL."""
    server = start_userpipe("api", "serve", "--port", "0", "--no-stream", "--fault", "drift",
                            "--drift", DRIFT, "--drift-share", "0.5")
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in server.stdout or ()], daemon=True).start()
    try:
        first = lines.get(timeout=TIMEOUT_SECONDS)
        found = re.search(r"API on (http://\S+)", first)
        assert found, first
        yield found.group(1)
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_drifted_users_are_quarantined_the_cycle_fails_by_rule_and_a_clean_cycle_recovers(
    database_url: str, drifting_api: str
) -> None:
    drifted = userpipe("run", "--once", "--plain", "--no-dashboard", "-n", str(BATCH), "--api-url", drifting_api)

    assert drifted.returncode != 0, drifted.stdout
    error = assert_recorded_failed(database_url, error_contains="checks failed: ")
    assert re.search(rf"checks failed: {len(RULES)} of \d+ \(", error), error
    for rule in RULES:
        assert f"quarantine.{rule}" in error
    failing = dict(rows(database_url, "select check_name, failing_rows from ops.check_results"
                                      " where status = 'fail'"))
    assert failing == {f"quarantine.{rule}": DRIFTED for rule in RULES}
    assert value(database_url, "select count(*) from raw.users") == BATCH
    assert value(database_url, "select count(distinct user_id) from ops.quarantined_users") == DRIFTED
    assert value(database_url, "select count(*) from public.incoming_users") == BATCH - DRIFTED
    assert value(database_url, "select total_users from marts.kpis") == BATCH - DRIFTED

    clean = userpipe("run", "--once", "--plain", "--no-dashboard", "-n", str(CLEAN_BATCH))

    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert value(database_url, "select status from ops.pipeline_runs order by started_at desc limit 1") == "success"
    batches = rows(database_url, "select request_seed, min(request_page), count(*) from raw.users"
                                 " group by _dlt_load_id, request_seed order by min(fetched_at)")
    assert [int(size) for _, _, size in batches] == [BATCH, CLEAN_BATCH]  # type: ignore[call-overload]
    served = set().union(*(served_uuids(str(seed), int(size), first_page=int(page))  # type: ignore[call-overload]
                           for seed, page, size in batches))
    assert_consistent(database_url, served)
    status = userpipe("status")
    assert status.returncode == 0, status.stderr
    assert f"{DRIFTED} in all, 0 of the last batch" in " ".join(status.stdout.split())
