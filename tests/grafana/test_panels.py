"""Every dashboard panel's SQL, macros expanded as Grafana does, run AS THE READ-ONLY ROLE on a loaded warehouse.

The warehouse is built by the real layers: users from our local API landed by ingestion (dlt), `dbt build`
(userpipe.transform), the cycle's row written by userpipe.runs and check results by quality.results (one
failing check, so the failed-checks panels have something to show). grafana/readonly_role.sql is applied
first, as the compose init does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import psycopg
import pytest

from randomuser_api.server import LocalApi
from tests.fixtures.warehouse import load_one_cycle
from userpipe.dashboard.macros import TimeRange, expand

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = json.loads((ROOT / "grafana" / "dashboards" / "realtime_user_analytics.json").read_text())
READONLY_ROLE_SQL = (ROOT / "grafana" / "readonly_role.sql").read_text()
READER = "grafana_reader"
USERS = 60  # more than the 50 rows "Latest Users" shows

TABLE_COLUMNS = {
    "Latest Users": ["picture", "name", "email", "gender", "age", "city", "country", "nationality", "created_at"],
    "Users by Nationality": ["nationality", "user_count", "average_age"],
    "Latest Users (live)": ["picture", "name", "email", "gender", "age", "city", "country", "nationality",
                            "created_at"],
    "Failed Checks": ["checked_at", "check_name", "source", "status", "failing_rows", "observed_value", "run_id"],
}
NUMBERS = (int, float, Decimal)


@dataclass(frozen=True)
class Warehouse:
    owner_url: str
    reader_url: str

    def as_reader(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        with psycopg.connect(self.reader_url) as conn, conn.cursor() as cursor:
            cursor.execute(sql.encode())  # raw SQL, as Grafana sends it: no client-side parameters
            columns = [column.name for column in cursor.description or []]
            return columns, cursor.fetchall()


def reader_login(url: str) -> str:
    """`url` logging in as grafana_reader, with the password the test session gave it (tests/fixtures/database.py)."""
    parts = urlsplit(url)
    password = quote(os.environ["USERPIPE_DASHBOARD_READER_PASSWORD"], safe="")
    return parts._replace(netloc=f"{READER}:{password}@{parts.hostname}:{parts.port}", query="").geturl()


@pytest.fixture(scope="module")
def warehouse(make_database: Callable[[], str], local_api: LocalApi,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    from ingestion.stream import stream
    from randomuser_api.stream import LocalStream

    url = make_database()
    home = tmp_path_factory.mktemp("grafana-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("USERPIPE_DATABASE_URL", url)
        env.setenv("USERPIPE_HOME", str(home))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(READONLY_ROLE_SQL.encode())  # before any table exists, as in the compose init
        load_one_cycle(url, home, local_api.url, USERS, seed="grafana")
        # the stream's state for the live row: user 1 of seed "grafana" is the first user of the batch's page,
        # so the totals stay USERS
        with LocalStream() as feed:
            streamed = stream(rate=1000, url=feed.url, seed="grafana", database_url=url, max_users=1)
        assert (streamed.received, streamed.landed_new) == (1, 0)
        yield Warehouse(url, reader_login(url))


def panels() -> list[dict[str, Any]]:
    return [panel for panel in DASHBOARD["panels"] if panel["type"] != "row"]


def is_time(value: Any) -> bool:
    return isinstance(value, (datetime, date, *NUMBERS))


@pytest.mark.parametrize("panel", panels(), ids=lambda panel: panel["title"])
def test_panel_query_returns_what_its_visualisation_needs(warehouse: Warehouse, panel: dict[str, Any]) -> None:
    (target,) = panel["targets"]
    sql = expand(target["rawSql"], TimeRange.last(minutes=30))
    assert "$__" not in sql
    columns, rows = warehouse.as_reader(sql)
    assert rows, f"{panel['title']} returned no rows for: {sql}"
    kind = panel["type"]
    if kind == "stat":
        (row,) = rows
        (value,) = row
        mappings = panel["fieldConfig"]["defaults"].get("mappings")
        if mappings:
            assert value in mappings[0]["options"], f"{value!r} has no colour mapping"
        else:
            assert isinstance(value, NUMBERS), f"{panel['title']}: {value!r} is not a number"
    elif kind == "timeseries":
        assert target["format"] == "time_series"
        assert "time" in columns
        time_index = columns.index("time")
        for row in rows:
            assert is_time(row[time_index])
            assert all(isinstance(v, NUMBERS) for i, v in enumerate(row) if i != time_index and v is not None)
        assert len(columns) >= 2
    elif kind in {"piechart", "barchart"}:
        label, value = columns
        assert all(isinstance(row[0], str) and isinstance(row[1], NUMBERS) for row in rows), rows
        if kind == "barchart":
            assert panel["options"]["xField"] == label
    elif kind == "table":
        assert columns == TABLE_COLUMNS[panel["title"]]
    else:
        pytest.fail(f"no check for panel type {kind}")


def test_latest_users_are_the_50_newest_with_picture_urls(warehouse: Warehouse) -> None:
    table = next(panel for panel in panels() if panel["title"] == "Latest Users")
    columns, rows = warehouse.as_reader(expand(table["targets"][0]["rawSql"], TimeRange.last(minutes=30)))
    assert len(rows) == 50
    pictures = [row[columns.index("picture")] for row in rows]
    assert all(picture.startswith("https://") and picture.endswith(".jpg") for picture in pictures)
    created = [row[columns.index("created_at")] for row in rows]
    assert created == sorted(created, reverse=True)


def test_kpis_agree_with_what_was_landed(warehouse: Warehouse) -> None:
    stats = {panel["title"]: panel for panel in panels() if panel["type"] == "stat"}
    time_range = TimeRange.last(minutes=30)

    def value(title: str) -> Any:
        return warehouse.as_reader(expand(stats[title]["targets"][0]["rawSql"], time_range))[1][0][0]

    assert value("Total Users") == USERS  # ("Users Last Minute" depends on the clock: its shape is checked above)
    assert value("Last Cycle Status") == "success"
    assert value("Failed Checks (last cycle)") == 1
    assert value("Quarantined users") == 0  # a clean batch (tests/quality: a drifted one, counted)


def test_the_reader_cannot_read_raw_or_staging_nor_write(warehouse: Warehouse) -> None:
    for forbidden in ("select * from raw.users", "select * from staging.stg_randomuser__users",
                      "delete from marts.users_by_gender", "create table public.grafana_was_here (x int)"):
        with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)):
            warehouse.as_reader(forbidden)


def test_the_reader_cannot_create_temp_tables(warehouse: Warehouse) -> None:
    # read-only is only the role's default: a session can turn it off, so the privilege is what refuses
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="temporary tables"):
        warehouse.as_reader("set transaction read write; create temporary table grafana_was_here (x int)")


def test_the_owner_still_creates_temp_tables(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.owner_url) as conn:
        conn.execute("create temp table owner_scratch (x int)")


def test_incoming_users_and_marts_stay_readable_after_a_full_refresh(warehouse: Warehouse,
                                                              tmp_path: Path) -> None:
    from userpipe.transform import Transformer

    def table_oid() -> int:
        with psycopg.connect(warehouse.owner_url) as conn:
            row = conn.execute("select 'public.incoming_users'::regclass::oid").fetchone()
        assert row is not None
        return int(row[0])

    before = table_oid()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("USERPIPE_DATABASE_URL", warehouse.owner_url)
        Transformer(database_url=warehouse.owner_url, state_dir=tmp_path).build(full_refresh=True)
    assert table_oid() != before, "dbt did not recreate the table: this test would prove nothing"
    assert warehouse.as_reader("select count(*) from public.incoming_users")[1] == [(USERS,)]
    assert warehouse.as_reader("select total_users from marts.kpis")[1] == [(USERS,)]


def test_live_stream_panels_read_no_stream_yet_without_an_error(make_database: Callable[[], str]) -> None:
    """Before any `userpipe stream`, a cycle's ops tables hold an empty ops.stream_state: no panel fails on it."""
    from userpipe import runs

    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(READONLY_ROLE_SQL.encode())
        runs.ensure_table(conn)
    queries = [target["rawSql"] for panel in panels() for target in panel.get("targets", [])
               if "ops.stream_state" in target.get("rawSql", "")]
    assert len(queries) >= 3
    with psycopg.connect(reader_login(url)) as conn:
        for sql in queries:
            rows = conn.execute(expand(sql, TimeRange.last(minutes=30)).encode()).fetchall()
            assert rows in ([], [(0,)]), (sql, rows)
