"""`userpipe ingest` killed (kill -9) while it fetches, and at commit (its load's row on its way into
raw._dlt_loads): one clean cycle later every user the API served for the stream's batches is in raw once, and
incoming_users and the marts hold exactly them."""

from __future__ import annotations

import re

from randomuser_api import Fault
from tests.faults.conftest import INCOMPLETE_ROWS, rows, start_userpipe, userpipe, value, wait_for
from tests.faults.holds import HOLD_WAIT_SECONDS, hold_on_insert, kill, wait_sessions_gone, waiting_on_advisory
from tests.faults.invariants import assert_consistent, served_uuids
from tests.fixtures.api import FaultyApiFactory

BATCH = 20
COMMIT_KEY = 731_014  # the advisory lock the insert into raw._dlt_loads waits on
SLOW_SECONDS = 60.0  # the page is answered long after the kill


def stream_seed(ingest_stdout: str) -> str:
    """The seed an ingest printed (`seed S, pages A..B of URL`)."""
    found = re.search(r"^seed (\w+), pages", ingest_stdout, re.MULTILINE)
    assert found, ingest_stdout
    return found.group(1)


def clean_cycle(api_url: str) -> None:
    cycle = userpipe("run", "--once", "--no-dashboard", "--plain", "-n", str(BATCH), "--api-url", api_url)
    assert cycle.returncode == 0, cycle.stdout + cycle.stderr


def test_an_ingest_killed_at_fetch_and_at_commit_loses_and_repeats_nothing(
        database_url: str, faulty_api: FaultyApiFactory) -> None:
    api = faulty_api()
    first = userpipe("ingest", "-n", str(BATCH), "--api-url", api.url)  # the stream's page 1; raw exists
    assert first.returncode == 0, first.stderr
    seed = stream_seed(first.stdout)

    # at fetch: the API holds the page request (slow switch, one use), the test kills once it is taken
    api.set_faults([Fault("slow", times=1, delay=SLOW_SECONDS)])
    fetching = start_userpipe("ingest", "-n", str(BATCH), "--api-url", api.url)
    try:
        wait_for(lambda: api.faults.to_json()["faults"][0]["remaining"] == 0, "the page request to reach the API",
                 HOLD_WAIT_SECONDS)
    finally:
        kill(fetching)
    assert value(database_url, "select count(*) from raw.users") == BATCH

    # at commit: every row is copied, the load's row waits to enter raw._dlt_loads
    with hold_on_insert(database_url, "raw._dlt_loads", COMMIT_KEY):
        committing = start_userpipe("ingest", "-n", str(BATCH), "--api-url", api.url)
        try:
            wait_for(lambda: waiting_on_advisory(database_url), "the load's completion to wait on the test's lock",
                     HOLD_WAIT_SECONDS)
            assert value(database_url, INCOMPLETE_ROWS) == BATCH  # the page-2 rows are in, not yet complete
        finally:
            kill(committing)
    # the insert the killed process had sent commits once let go: the load is complete, the process never knew
    wait_sessions_gone(database_url)
    assert value(database_url, "select count(*) from raw._dlt_loads") == 2

    clean_cycle(api.url)

    assert value(database_url, "select count(*) from ops.pipeline_runs where status = 'success'") == 1
    pages = {int(str(page)) for (page,) in rows(database_url, "select distinct request_page from raw.users")}
    assert {1, 2} <= pages, pages  # page 2 is the killed batches' (it was never fetched twice into raw)
    served = set().union(*(served_uuids(seed, BATCH, page) for page in pages))
    assert value(database_url, "select count(*) from raw.users") == len(served) == BATCH * len(pages)
    assert_consistent(database_url, served)

