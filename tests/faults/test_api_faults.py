"""Each fault switch of our local API under `userpipe ingest` (a real process, the stream's next batch): a fault
that passes is retried and the batch lands whole; one that lasts fails the batch with one `error:` line and
nothing landed, and the stream is not moved on. With the switch off, one clean cycle; then every user served
for the stream's pages is in raw once and downstream."""

from __future__ import annotations

import re

from randomuser_api import Fault
from tests.faults.conftest import INCOMPLETE_ROWS, rows, userpipe, value
from tests.faults.invariants import assert_consistent, served_uuids
from tests.fixtures.api import FaultyApiFactory

BATCH = 20
LANDS = "lands"  # retried, then landed whole
# (fault switch, extra ingest options, outcome: LANDS or the words of the one error line)
FAULTS: list[tuple[Fault, tuple[str, ...], str]] = [
    (Fault("429", times=2, retry_after=1), (), LANDS),
    (Fault("truncate", times=1), (), LANDS),
    (Fault("malformed", times=1), (), "answered malformed or truncated JSON"),
    (Fault("500", times=-1), (), "answered HTTP 500 (retried)"),
    (Fault("truncate", times=-1), (), "answered a truncated body"),
    (Fault("slow", times=-1, delay=5.0), ("--time-limit", "2"), "time limit of 2 s passed"),
]


def landed(url: str) -> int:
    return int(value(url, "select count(*) from raw.users")) if value(
        url, "select to_regclass('raw.users') is not null") else 0


def test_each_api_fault_lands_the_batch_whole_or_fails_in_one_line_with_nothing_landed(
        database_url: str, faulty_api: FaultyApiFactory) -> None:
    api = faulty_api()
    seed = ""
    for fault, options, outcome in FAULTS:
        api.set_faults([fault])
        before = landed(database_url)

        ingest = userpipe("ingest", "-n", str(BATCH), "--api-url", api.url, *options)

        what = f"{fault.kind} x{fault.times}"
        assert "Traceback" not in ingest.stderr, (what, ingest.stderr)
        if outcome == LANDS:
            assert ingest.returncode == 0, (what, ingest.stderr)
            assert f"{BATCH} users fetched, {BATCH} landed, {BATCH} new" in ingest.stdout, (what, ingest.stdout)
            assert landed(database_url) == before + BATCH, what
            found = re.search(r"^seed (\w+), pages", ingest.stdout, re.MULTILINE)
            assert found and (not seed or found.group(1) == seed), ingest.stdout  # one stream throughout
            seed = found.group(1)
        else:
            assert ingest.returncode == 1, (what, ingest.stdout)
            lines = ingest.stderr.strip().splitlines()
            assert [line for line in lines if line.startswith("error:")] == lines[-1:], (what, ingest.stderr)
            assert outcome in lines[-1], (what, lines)
            assert landed(database_url) == before, what
        assert value(database_url, INCOMPLETE_ROWS) == 0, what

    api.clear_faults()
    cycle = userpipe("run", "--once", "--no-dashboard", "--plain", "-n", str(BATCH), "--api-url", api.url)

    assert cycle.returncode == 0, cycle.stdout + cycle.stderr
    pages = [page for (page,) in rows(database_url, "select distinct request_page from raw.users order by 1")]
    stream_pages = list(range(1, sum(outcome == LANDS for *_, outcome in FAULTS) + 2))
    assert pages == stream_pages  # a failed batch did not move the stream on: its page came next
    served = set().union(*(served_uuids(seed, BATCH, page) for page in stream_pages))
    assert landed(database_url) == len(served) == BATCH * len(stream_pages)
    assert_consistent(database_url, served)

