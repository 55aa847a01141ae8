"""dlt source for randomuser-compatible APIs: one resource, `users`, one row per user keyed by `login.uuid`.

Pages are fetched a few at a time (dlt's retrying HTTP client: 429 honouring Retry-After, 5xx, timeouts),
checked, stripped of the users' credential fields and written as csv files that dlt imports into its load
package and COPYs into `raw.users` (no per-row normalisation). A user is landed once: uuids already in
`raw.users` or earlier in the batch are dropped before the load, and a UNIQUE index on `uuid` backs that up.
The source state remembers the stream (seed, next page) so a batch without a seed continues where the last
one stopped; a batch given its own seed is a one-off that leaves the stream where it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dlt
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources import DltResource

from ingestion.randomuser import settings
from ingestion.randomuser.csvfiles import LoadFiles, keep_rows
from ingestion.randomuser.fetching import HttpSettings, PageFetcher, TimeLimit, fetch_in_order, page_folder
from ingestion.randomuser.helpers import BatchPlan
from ingestion.randomuser.limits import Limits

USER_COLUMNS: TTableSchemaColumns = {
    "uuid": {"data_type": "text", "nullable": False, "primary_key": True, "unique": True},
    "payload": {"data_type": "json", "nullable": False},
    "fetched_at": {"data_type": "timestamp", "timezone": True, "nullable": False},
    "request_seed": {"data_type": "text"},
    "request_page": {"data_type": "bigint"},
    "api_version": {"data_type": "text"},
    "_dlt_load_id": {"data_type": "text", "nullable": False},
    "_dlt_id": {"data_type": "text", "nullable": False, "unique": False},
}


@dlt.source(name=settings.SOURCE_NAME, max_table_nesting=0)
def randomuser_source(
    api_url: str,
    plan: BatchPlan,
    nat: tuple[str, ...] = (),
    fetch_workers: int = settings.FETCH_WORKERS,
    connect_timeout: float = settings.CONNECT_TIMEOUT_SECONDS,
    read_timeout: float = settings.READ_TIMEOUT_SECONDS,
    max_attempts: int = settings.MAX_ATTEMPTS,
    moves_stream: bool = True,
    time_limit: TimeLimit | None = None,
    sizes: Limits | None = None,
) -> DltResource:
    """The users of `plan` from the API at `api_url`; `moves_stream`: the batch is the stream's next one (its end
    is remembered), not a one-off; `time_limit` bounds the fetching (retries included); `sizes` the bytes of a
    page and of a user (default: `Limits()`). Workers, timeouts and attempts can be set in dlt config (e.g.
    `SOURCES__RANDOMUSER__MAX_ATTEMPTS=2`)."""
    http = HttpSettings(connect_timeout, read_timeout, max_attempts)
    return users(api_url, plan, nat, http, fetch_workers, moves_stream, time_limit, sizes or Limits())


@dlt.resource(
    name=settings.TABLE_NAME,
    write_disposition="append",
    primary_key="uuid",
    columns=USER_COLUMNS,
    schema_contract={"columns": "freeze"},
    file_format="csv",
)
def users(api_url: str, plan: BatchPlan, nat: tuple[str, ...], http: HttpSettings, fetch_workers: int,
          moves_stream: bool = True, time_limit: TimeLimit | None = None, sizes: Limits | None = None
          ) -> Iterator[Any]:
    """One csv file per page, in page order, holding the users not landed before. dlt hard-links the files
    into its load package, so the temporary folder is removed at the end."""
    load_id = dlt.current.load_package_state()["load_id"]
    pipeline = dlt.current.pipeline()
    seen: set[str] = set()
    with page_folder(Path(pipeline.pipelines_dir)) as folder, pipeline.sql_client() as sql:
        landed_before = _landed_lookup(sql)
        fetcher = PageFetcher(api_url, folder, load_id, http, time_limit, sizes or Limits())
        fetcher.prepare()
        files = LoadFiles(folder, pages_per_file=-(-plan.page_count // settings.LOAD_FILES))
        for page in fetch_in_order(fetcher, plan.requests(nat), fetch_workers):
            keep = _new_users(page.uuids, landed_before(page.uuids), seen)
            rows = len(page.uuids) if keep is None else keep_rows(page.path, keep)
            if done := files.add(page.path, rows):
                yield dlt.mark.with_file_import(str(done[0]), "csv", done[1])
        if done := files.flush():
            yield dlt.mark.with_file_import(str(done[0]), "csv", done[1])
    if moves_stream:
        dlt.current.source_state()[settings.STREAM_STATE_KEY] = {"seed": plan.seed, "next_page": plan.last_page + 1}


def _new_users(uuids: list[str], known: set[str], seen: set[str]) -> list[bool] | None:
    """Which users of a page to keep: those neither `known` (landed before) nor `seen` earlier in the batch
    (added to `seen`). None when all are kept, the usual case, found with set operations alone."""
    page = set(uuids)
    if not known and len(page) == len(uuids) and seen.isdisjoint(page):
        seen |= page
        return None
    keep = []
    for uuid in uuids:
        keep.append(uuid not in known and uuid not in seen)
        seen.add(uuid)
    return keep


def _landed_lookup(sql: Any) -> Callable[[list[str]], set[str]]:
    """uuids -> those already landed by a completed load in `raw.users` (one query on its unique index per page;
    none before the first load). Rows of a load that did not complete do not count: the batch lands its own
    users again (and fails on the unique index unless those rows were taken back first)."""
    table = sql.make_qualified_table_name(settings.TABLE_NAME)
    if not sql.execute_sql("select to_regclass(%s) is not null", table)[0][0]:
        return lambda uuids: set()
    loads = sql.make_qualified_table_name("_dlt_loads")
    completed: dict[str, bool] = {}

    def landed(uuids: list[str]) -> set[str]:
        # one text parameter split by the server (a third cheaper than a 5000-element ARRAY[...] expression;
        # uuids are printable, so never hold the unit separator), joined to the table: a nested loop of index
        # probes on a big table (`uuid = any(...)` gets a parallel seq scan there, ~3.5x slower at 1M rows), a
        # hash join on a small one (~2.5x cheaper than the index scan of `= any`)
        query = (f"select t.uuid, t._dlt_load_id from unnest(string_to_array(%s, E'\\x1f')) as k(uuid) "
                 f"join {table} as t on t.uuid = k.uuid")
        found = sql.execute_sql(query, "\x1f".join(uuids))
        unknown = sorted({load_id for _, load_id in found} - completed.keys())
        if unknown:  # only when a page holds users landed before (a re-run): its few load ids looked up once
            done = {row[0] for row in sql.execute_sql(
                f"select load_id from {loads} where load_id = any(%s) and status = 0", unknown)}
            completed.update({load_id: load_id in done for load_id in unknown})
        return {uuid for uuid, load_id in found if completed[load_id]}

    return landed
