"""`userpipe ingest` killed (kill -9) while it fetches, and at commit (its load's row on its way into
raw._dlt_loads), once with the commit landing after its death and once without: one clean cycle later every
user the API served for the stream's batches is in raw once, and incoming_users and the marts hold exactly them."""

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


def kill_at_commit(url: str, api_url: str, end_its_session: bool = False) -> None:
    """kill -9 an ingest whose rows are all copied while its load's row waits to enter raw._dlt_loads (a trigger
    waits on the test's lock); with `end_its_session` its waiting session is terminated before the test lets go."""
    with hold_on_insert(url, "raw._dlt_loads", COMMIT_KEY) as holder:
        committing = start_userpipe("ingest", "-n", str(BATCH), "--api-url", api_url)
        try:
            wait_for(lambda: waiting_on_advisory(url), "the load's completion to wait on the test's lock",
                     HOLD_WAIT_SECONDS)
            assert value(url, INCOMPLETE_ROWS) == BATCH  # the batch's rows are in, not yet complete
        finally:
            kill(committing)
        if end_its_session:
            holder.execute("select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' "
                           "and not granted and objid = %s", (COMMIT_KEY,))


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

    # at commit, and the commit lands: the insert the killed process had sent goes on once let go
    kill_at_commit(database_url, api.url)
    wait_sessions_gone(database_url)
    assert value(database_url, "select count(*) from raw._dlt_loads") == 2  # page 2 complete; nobody was told

    # at commit, and the commit never lands: the server ends the killed process's session before it goes on
    kill_at_commit(database_url, api.url, end_its_session=True)
    wait_sessions_gone(database_url)
    assert value(database_url, "select count(*) from raw._dlt_loads") == 2
    assert value(database_url, INCOMPLETE_ROWS) == BATCH  # page 3's rows, taken back by the next batch

    clean_cycle(api.url)

    assert value(database_url, "select count(*) from ops.pipeline_runs where status = 'success'") == 1
    pages = [page for (page,) in rows(database_url, "select distinct request_page from raw.users order by 1")]
    assert pages == [1, 2, 3]  # page 2 landed once, page 3 was taken back and fetched again by the cycle
    served = set().union(*(served_uuids(seed, BATCH, page) for page in (1, 2, 3)))
    assert value(database_url, "select count(*) from raw.users") == len(served) == 3 * BATCH
    assert_consistent(database_url, served)

