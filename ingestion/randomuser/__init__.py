"""dlt source for randomuser-compatible APIs: one resource, `users`, one row per user keyed by `login.uuid`.

Pages are fetched a few at a time (dlt's retrying HTTP client: 429 honouring Retry-After, 5xx, timeouts) and
yielded as Arrow tables whose `payload` is the user's JSON without its credential fields. The resource merges
`insert-only` on `uuid`: a user landed twice keeps its first row. The source state remembers the stream (seed
and next page) so a batch without a seed continues where the last one stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import dlt
import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources import DltResource
from dlt.sources.helpers.requests import Client

from ingestion.randomuser import settings
from ingestion.randomuser.helpers import BatchPlan, PageRequest, fetch_page, parse_page

USER_COLUMNS: TTableSchemaColumns = {
    "uuid": {"data_type": "text", "nullable": False, "primary_key": True, "unique": True},
    "payload": {"data_type": "json", "nullable": False},
    "fetched_at": {"data_type": "timestamp", "timezone": True, "nullable": False},
    "request_seed": {"data_type": "text"},
    "request_page": {"data_type": "bigint"},
    "api_version": {"data_type": "text"},
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
          fetch_workers: int) -> Iterator[pa.Table]:
    """One Arrow table per page, in page order; a uuid seen earlier in the batch is dropped."""
    seen: set[str] = set()

    def fetch(request: PageRequest) -> pa.Table:
        body = fetch_page(client, api_url, request)
        return parse_page(body, request, api_url).to_arrow()

    with ThreadPoolExecutor(max_workers=max(1, fetch_workers), thread_name_prefix="randomuser") as pool:
        for table in pool.map(fetch, plan.requests(nat)):
            yield _drop_seen(table, seen)
    dlt.current.source_state()[settings.STREAM_STATE_KEY] = {"seed": plan.seed, "next_page": plan.last_page + 1}


def _drop_seen(table: pa.Table, seen: set[str]) -> pa.Table:
    keep = []
    for uuid in table.column("uuid").to_pylist():
        keep.append(uuid not in seen)
        seen.add(uuid)
    return table if all(keep) else table.filter(pa.array(keep))
