"""What each panel's SQL reads grows neither with the batch size nor with the rate (issue #14, item 4).

One cycle lands a batch of 6,000 users (pages of 5,000: 5,000 of them share one landing time), then every
panel's SQL, macros expanded, is run under EXPLAIN ANALYZE as the read-only role: no panel may read more than
a page of 50 rows of the users' tables (public.incoming_users, raw.users). Before the fix "Latest Users" read
the 5,000 users of the newest landing time to sort them, "Users Last Minute" counted every user of the
last minute, and "Users per Second (last 5 minutes)" every user of the last 5 minutes (it reads a row per second
of marts.ingestion_per_second_live now).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from randomuser_api.server import LocalApi
from tests.fixtures.warehouse import load_one_cycle
from tests.grafana.test_panels import READONLY_ROLE_SQL, Warehouse, panels, reader_login
from userpipe.dashboard.macros import TimeRange, expand

BATCH = 6_000
USER_TABLES = {"incoming_users", "users"}  # public.incoming_users, raw.users
MOST_ROWS_READ = 100  # a page of 50, and a few of the pending users' keys


@pytest.fixture(scope="module")
def warehouse(make_database: Callable[[], str], local_api: LocalApi,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    url = make_database()
    home = tmp_path_factory.mktemp("panel-costs-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("USERPIPE_DATABASE_URL", url)
        env.setenv("USERPIPE_HOME", str(home))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(READONLY_ROLE_SQL.encode())
        load_one_cycle(url, home, local_api.url, BATCH, seed="panel-costs")
        yield Warehouse(url, reader_login(url))


def rows_read(plan: dict[str, Any]) -> int:
    """Rows the plan's scans of the users' tables returned (actual rows x loops), all nodes summed."""
    own = 0
    if plan.get("Relation Name") in USER_TABLES:
        own = int(plan["Actual Rows"]) * int(plan.get("Actual Loops", 1))
    return own + sum(rows_read(child) for child in plan.get("Plans", []))


def cost_cases() -> list[Any]:
    return [pytest.param(panel, id=panel["title"]) for panel in panels()]


@pytest.mark.parametrize("panel", cost_cases())
def test_no_panel_reads_more_than_a_page_of_users(warehouse: Warehouse, panel: dict[str, Any]) -> None:
    (target,) = panel["targets"]
    sql = expand(target["rawSql"], TimeRange.last(minutes=30))
    (_, [(plan,)]) = warehouse.as_reader(f"explain (analyze, format json) {sql}")
    document = plan if isinstance(plan, list) else json.loads(plan)
    read = rows_read(document[0]["Plan"])
    assert read <= MOST_ROWS_READ, f"{panel['title']} read {read} rows of the users' tables:\n{sql}"


def test_latest_users_come_from_the_index_in_the_panels_order(warehouse: Warehouse) -> None:
    (panel,) = [panel for panel in panels() if panel["title"] == "Latest Users"]
    sql = expand(panel["targets"][0]["rawSql"], TimeRange.last(minutes=30))
    (_, [(plan,)]) = warehouse.as_reader(f"explain (format json) {sql}")
    text = json.dumps(plan)
    assert "idx_incoming_users_created_at_user_id" in text and '"Sort"' not in text, text
    with psycopg.connect(warehouse.owner_url) as conn:
        expected = conn.execute("select email from public.incoming_users"
                                " order by created_at desc, user_id limit 50").fetchall()
    columns, shown = warehouse.as_reader(sql)
    assert [(row[columns.index("email")],) for row in shown] == expected


def test_users_last_minute_are_the_users_of_the_last_full_minute(warehouse: Warehouse, tmp_path: Path) -> None:
    """The batch's users moved into the minute before now and rebuilt (full refresh): the stat shows them while
    that minute is the last full one (the minute is read in the query's own transaction: one turning meanwhile
    changes what is expected, not the outcome). Runs last: it moves the module's users."""
    from userpipe.transform import Transformer

    with psycopg.connect(warehouse.owner_url) as conn:
        [(minute,)] = conn.execute(
            "select date_trunc('minute', now() at time zone 'UTC') - interval '1 minute'").fetchall()
    (panel,) = [panel for panel in panels() if panel["title"] == "Users Last Minute"]
    with psycopg.connect(warehouse.owner_url, autocommit=True) as conn:
        conn.execute("update raw.users set fetched_at = (%s at time zone 'UTC') + interval '20 seconds'", (minute,))
    Transformer(database_url=warehouse.owner_url, state_dir=tmp_path / "dbt").build(full_refresh=True)
    with psycopg.connect(warehouse.reader_url) as conn:
        [(now_minute,)] = conn.execute("select date_trunc('minute', now() at time zone 'UTC')").fetchall()
        [(shown,)] = conn.execute(panel["targets"][0]["rawSql"].encode()).fetchall()
    assert isinstance(minute, datetime) and isinstance(now_minute, datetime)
    expected = BATCH if now_minute - minute == timedelta(minutes=1) else 0
    assert shown == expected, (minute, now_minute, datetime.now(UTC))
