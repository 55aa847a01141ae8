"""Which checks run every cycle and which on the slow schedule (importing this module costs nothing).

Every cycle runs the batch-scoped checks: the GX suites (they read the batch and catalog facts, `quality.batch`)
and the dbt tests that read only the rows of the latest build. dbt tests tagged `whole_table` read whole tables
(counts of raw.users and incoming_users, sums over every mart, a mart that grows a row a minute): their cost
grows with the warehouse, so they run in one check run of every N (`full_checks_due`), and always with
`userpipe check --full`. Their results are stored in ops.check_results with scope `table`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

WHOLE_TABLE_TAG = "whole_table"
WHOLE_TABLE_SELECTOR = f"tag:{WHOLE_TABLE_TAG}"
# one check run in 15 has the whole-table checks: every 15 minutes on the default minute schedule
DEFAULT_FULL_CHECKS_EVERY = 15

# The newest whole-table result, through the checked_at index (PostgreSQL reads it backwards and stops at the
# first match); then the check runs stored since (one checked_at per run), at most `limit` of them, read in
# index order so the count stops there.
LAST_FULL_SQL = "select max(checked_at) from ops.check_results where scope = %s"
RUNS_SINCE_SQL = """
select count(*) from (
    select distinct checked_at from ops.check_results where checked_at > %s order by checked_at desc limit %s
) as runs
"""


def full_checks_due(conn: psycopg.Connection, every: int) -> bool:
    """True when this check run should include the whole-table checks: `every` 1 means always, 0 never; N
    means when at least N - 1 check runs were stored in ops.check_results since the last one that had them
    (or since the first, when none had), by any process: a restart does not reset the count."""
    if every < 0:
        raise ValueError(f"every must be >= 0, got {every}")
    if every <= 1:
        return every == 1
    from quality import results

    results.ensure_table(conn)
    row = conn.execute(LAST_FULL_SQL, (results.TABLE,)).fetchone()
    last_full = row[0] if row and row[0] is not None else "-infinity"
    since = conn.execute(RUNS_SINCE_SQL, (last_full, every - 1)).fetchone()
    return int(since[0] if since else 0) >= every - 1
