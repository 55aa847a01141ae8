"""dlt source for randomuser-compatible APIs: one resource, `users`, one row per user keyed by `login.uuid`.

Pages are fetched a few at a time (dlt's retrying HTTP client: 429 honouring Retry-After, 5xx, timeouts),
checked, stripped of the users' credential fields, and written as csv files that dlt imports into its load
package and COPYs into PostgreSQL (no per-row normalisation). The resource merges `insert-only` on `uuid`: a user
landed twice keeps its first row. The source state remembers the stream (seed and next page) so a batch without
a seed continues where the last one stopped."""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources import DltResource
from dlt.sources.helpers.requests import Client

from ingestion.randomuser import settings
from ingestion.randomuser.helpers import BatchPlan, PageRequest, fetch_page, parse_page, write_rows_csv

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
) -> DltResource:
    """The users of `plan` from the API at `api_url` (timeouts and attempts overridable via dlt config)."""
    client = Client(
        request_timeout=(connect_timeout, read_timeout),
        request_max_attempts=max_attempts,
        request_backoff_factor=settings.BACKOFF_FACTOR,
        request_max_retry_delay=settings.MAX_RETRY_DELAY_SECONDS,
    )
    return users(api_url, plan, nat, client, fetch_workers)


@dlt.resource(
    name=settings.TABLE_NAME,
    write_disposition={"disposition": "merge", "strategy": "insert-only"},
    primary_key="uuid",
    columns=USER_COLUMNS,
    schema_contract={"columns": "freeze"},
)
def users(api_url: str, plan: BatchPlan, nat: tuple[str, ...], client: Client,
          fetch_workers: int) -> Iterator[Any]:
    """One csv file per page (dlt imports it into the load package and COPYs it), in page order; a uuid seen
    earlier in the batch is dropped. The files are hard-linked by dlt, so the temporary folder is removed."""
    seen: set[str] = set()

    def fetch(request: PageRequest) -> pa.Table:
        body = fetch_page(client, api_url, request)
        return parse_page(body, request, api_url).to_arrow()

    load_id = dlt.current.load_package_state()["load_id"]
    with tempfile.TemporaryDirectory(prefix="randomuser-", dir=dlt.current.pipeline().pipelines_dir) as folder:
        pages = _fetch_in_order(fetch, plan.requests(nat), max(1, fetch_workers))
        for number, table in enumerate(pages):
            rows = _drop_seen(table, seen)
            path = write_rows_csv(rows, load_id, Path(folder) / f"page-{number}.csv")
            yield dlt.mark.with_file_import(str(path), "csv", rows.num_rows)
    dlt.current.source_state()[settings.STREAM_STATE_KEY] = {"seed": plan.seed, "next_page": plan.last_page + 1}


def _fetch_in_order(fetch: Callable[[PageRequest], pa.Table], requests: list[PageRequest],
                    workers: int) -> Iterator[pa.Table]:
    """`fetch` of each request, in order, with at most `workers` running and one waiting; on failure the
    pages not started yet are cancelled."""
    pending: deque[Future[pa.Table]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="randomuser") as pool:
        try:
            for request in requests:
                pending.append(pool.submit(fetch, request))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _drop_seen(table: pa.Table, seen: set[str]) -> pa.Table:
    keep = []
    for uuid in table.column("uuid").to_pylist():
        keep.append(uuid not in seen)
        seen.add(uuid)
    return table if all(keep) else table.filter(pa.array(keep))
