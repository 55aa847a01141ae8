"""Runs a dashboard's panel queries, macros expanded for the picked range, as `grafana_reader` on a small pool.

One refresh runs each query once, in parallel on the pool's connections. A failing query becomes that panel's
error (its message, one line), as in Grafana; the others are unaffected. Values are made JSON-ready the way
Grafana's SQL datasource hands them to panels: numbers as numbers, timestamps (naive ones are UTC) as epoch
milliseconds, and a numeric `time` column of a `time_series` query read as epoch seconds (or ms, µs, ns).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg_pool import ConnectionPool

from userpipe.dashboard.definition import PAGE_WIDTH, Dashboard, DashboardError, Query
from userpipe.dashboard.macros import MacroError, TimeRange, expand
from userpipe.errors import one_line

log = logging.getLogger(__name__)

POOL_SIZE = 4
NUMERIC_TYPES = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric", "oid"})
TIME_TYPES = frozenset({"timestamp", "timestamptz", "date"})
ERROR_CHARS = 500


class QueryRunner:
    """A connection pool for `grafana_reader` and the refresh that runs all of a dashboard's queries."""

    def __init__(self, reader_url: str, size: int = POOL_SIZE, wait_seconds: float = 10) -> None:
        self.wait_seconds = wait_seconds
        self.pool = ConnectionPool(reader_url, min_size=1, max_size=size, open=False, timeout=wait_seconds,
                                   kwargs={"autocommit": True, "application_name": "userpipe-dashboard"})
        self.executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="dashboard-query")
        self.executed: Counter[tuple[int, str]] = Counter()  # (panel id, refId) -> times run
        self._lock = threading.Lock()

    def open(self) -> QueryRunner:
        try:
            self.pool.open(wait=True, timeout=self.wait_seconds)
        except Exception as exc:
            self.pool.close()
            raise DashboardError(f"the dashboard cannot connect as grafana_reader: {one_line(exc, 300)} (its password:"
                                 " USERPIPE_DASHBOARD_READER_PASSWORD, else $USERPIPE_HOME/grafana_reader.password)"
                                 ) from exc
        return self

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.pool.close()

    def refresh(self, dashboard: Dashboard, time_range: TimeRange, page_width: int = PAGE_WIDTH,
                panel_ids: set[int] | None = None) -> dict[str, Any]:
        """Every panel's frames (or error) for `time_range` on a page `page_width` pixels wide, by panel id.

        `panel_ids`: only those panels (the ones shown: as in Grafana, a collapsed row's panels are not queried).
        """
        started = time.perf_counter()
        queries = [query for query in dashboard.queries if panel_ids is None or query.panel_id in panel_ids]
        results = list(self.executor.map(lambda query: self._run(query, query.time_range(time_range, page_width)),
                                         queries))
        panels: dict[str, dict[str, Any]] = {}
        for panel_id, group in itertools.groupby(zip(queries, results, strict=True),
                                                 key=lambda pair: pair[0].panel_id):
            frames, errors = [], []
            for query, (frame, error) in group:
                if error is None:
                    frames.append(frame)
                else:
                    errors.append(error if _targets(dashboard, panel_id) == 1 else f"{query.ref_id}: {error}")
            panels[str(panel_id)] = {"frames": frames, "error": "; ".join(errors) or None}
        return {"from": _epoch_ms(time_range.start), "to": _epoch_ms(time_range.end), "panels": panels,
                "seconds": round(time.perf_counter() - started, 4)}

    def _run(self, query: Query, time_range: TimeRange) -> tuple[dict[str, Any], str | None]:
        with self._lock:
            self.executed[(query.panel_id, query.ref_id)] += 1
        try:
            sql = expand(query.raw_sql, time_range)
        except MacroError as exc:
            return {}, one_line(exc, ERROR_CHARS)
        try:
            with self.pool.connection() as conn, conn.cursor() as cursor:
                cursor.execute(sql.encode())  # raw SQL, as Grafana sends it: no client-side parameters
                columns = [(column.name, _type_name(conn, column.type_code)) for column in cursor.description or []]
                rows = cursor.fetchall() if cursor.description else []
        except (psycopg.Error, OSError) as exc:
            log.info("panel %s query %s failed: %s", query.panel_id, query.ref_id, exc)
            return {}, one_line(str(exc) or type(exc).__name__, ERROR_CHARS)
        return _frame(query, columns, rows), None


def _targets(dashboard: Dashboard, panel_id: int) -> int:
    return sum(1 for query in dashboard.queries if query.panel_id == panel_id)


def _type_name(conn: psycopg.Connection, oid: int) -> str:
    info = conn.adapters.types.get(oid)
    return info.name if info else ""


def _frame(query: Query, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    kinds = [_kind(type_name) for _, type_name in columns]
    epoch_time = query.format == "time_series"
    for index, (name, _) in enumerate(columns):
        if epoch_time and name == "time" and kinds[index] == "number":
            kinds[index] = "epoch"
    values = [[_value(value, kind) for value, kind in zip(row, kinds, strict=True)] for row in rows]
    return {"refId": query.ref_id, "format": query.format,
            "fields": [{"name": name, "type": "time" if kind == "epoch" else kind}
                       for (name, _), kind in zip(columns, kinds, strict=True)],
            "rows": values}


def _kind(type_name: str) -> str:
    if type_name in NUMERIC_TYPES:
        return "number"
    if type_name in TIME_TYPES:
        return "time"
    if type_name == "bool":
        return "boolean"
    return "string"


def _value(value: Any, kind: str) -> Any:
    if value is None or (isinstance(value, (bool, int, float, str)) and kind != "epoch"):
        return value
    if kind == "epoch":
        return _epoch_precision_ms(float(value))
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return _epoch_ms(value)
    if isinstance(value, date):
        return _epoch_ms(datetime(value.year, value.month, value.day, tzinfo=UTC))
    if isinstance(value, (timedelta, time_of_day, UUID)):
        return str(value)
    return value if isinstance(value, (list, dict)) else str(value)


def _epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def _epoch_precision_ms(value: float) -> float:
    """Grafana's reading of a numeric time: seconds, or ms / µs / ns when the number is that large."""
    if value >= 1e17:
        return value / 1e6
    if value >= 1e14:
        return value / 1e3
    if value >= 1e11:
        return value
    return value * 1000
