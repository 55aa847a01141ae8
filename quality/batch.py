"""Read one landed batch (and catalog facts) from PostgreSQL into DataFrames for the expectations.

A batch is the set of users one dlt load added to raw.users (`_dlt_load_id`). Three small queries read only
that batch's rows and the catalog, never the whole tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import psycopg

from quality.suite import CREDENTIAL_PATTERN, NUMBER_PATTERN
from userpipe.errors import UserpipeError

if TYPE_CHECKING:
    import pandas as pd

RAW_TABLE = ("raw", "users")
INCOMING_TABLE = ("public", "incoming_users")
LOADS_TABLE = ("raw", "_dlt_loads")
QUARANTINE_TABLE = ("ops", "quarantined_users")

# Postgres regexes: the Python `(?i)` flag becomes the `~*` operator.
_PG_CREDENTIAL = CREDENTIAL_PATTERN.removeprefix("(?i)")

# One pass over raw.users per check, kept in a temporary table that the incoming_users query joins by primary
# key. A dlt load id is the unix time its package was created, at the start of extraction, before its pages
# were fetched; so the load's rows all have `fetched_at >= load time` (the margin covers clock steps). That
# range lets PostgreSQL read the load through dbt's fetched_at index instead of scanning raw.users, while
# `_dlt_load_id = ...` keeps the selection exact. Were a row ever outside the range, `ingestion_count` would
# fail: the shortcut cannot hide rows silently.
LOAD_MARGIN = "10 minutes"
BATCH_USERS_SQL = f"""
create temporary table batch_users on commit drop as
select r.uuid,
    (select string_agg(distinct k.key, ',' order by k.key)
       from jsonb_path_query(r.payload::jsonb, 'strict $.** ? (@.type() == "object")') as o(obj),
            jsonb_object_keys(o.obj) as k(key)
      where k.key ~* '{_PG_CREDENTIAL}') as credential_keys
from raw.users as r
where r._dlt_load_id = %(load_id)s
"""
SINCE_LOAD_TIME_SQL = f" and r.fetched_at >= to_timestamp(%(load_time)s) - interval '{LOAD_MARGIN}'"

RAW_BATCH_SQL = "select uuid, credential_keys from batch_users"

INCOMING_BATCH_SQL = f"""
select i.*,
    case when i.latitude ~ '{NUMBER_PATTERN}' then i.latitude::float8 end as latitude_value,
    case when i.longitude ~ '{NUMBER_PATTERN}' then i.longitude::float8 end as longitude_value,
    i.age - extract(year from age(i.created_at, i.date_of_birth))::int as age_minus_dob_years
from batch_users as b
join public.incoming_users as i on i.user_id = b.uuid
"""

# The batch's incoming_users rows are looked up by primary key, one probe per batch user. Left to itself the
# planner prefers a hash join over a sequential scan of incoming_users up to a few million rows (at 310,000:
# 0.6-1.0 s scanning against 0.18 s probing, bench/bench_check.py --explain), so sequential scans are priced
# out for that one query (the temporary table of the batch is still read whole: it is the batch).
PRIMARY_KEY_PROBES_SQL = "set local enable_seqscan = off"
DEFAULT_SCANS_SQL = "set local enable_seqscan = on"
# The batch's users in ops.quarantined_users, per rule: how many, and the first one with what the rule saw
# (through the table's _dlt_load_id index). Then how many distinct users that is.
QUARANTINE_BATCH_SQL = """
select rule, count(*) as users, min(user_id) as example_user,
    (array_agg(detail order by user_id))[1] as example_detail
from ops.quarantined_users
where _dlt_load_id = %(load_id)s
group by rule
"""
QUARANTINED_USERS_SQL = "select count(distinct user_id) from ops.quarantined_users where _dlt_load_id = %(load_id)s"

CATALOG_SQL = """
select n.nspname || '.' || t.relname as table_name,
    a.attname as column_name,
    case when exists (
        select 1 from pg_index as x
        where x.indrelid = t.oid and x.indisunique and x.indisvalid and x.indpred is null
          and x.indnkeyatts = 1 and x.indkey[0] = a.attnum
    ) then n.nspname || '.' || t.relname || '.' || a.attname end as unique_key
from pg_class as t
join pg_namespace as n on n.oid = t.relnamespace
join pg_attribute as a on a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped
where (n.nspname, t.relname) in (('public', 'incoming_users'), ('raw', 'users'))
order by table_name, a.attnum
"""

LATEST_LOAD_SQL = """
select l.load_id from raw._dlt_loads as l
where l.status = 0
order by l.inserted_at desc, l.load_id desc
limit 1
"""


@dataclass(frozen=True)
class Batch:
    """One load's rows, ready for GX: incoming_users rows, raw rows, catalog facts; and what dbt quarantined of
    it: rule -> (users, an example user, what the rule saw there), and how many distinct users."""

    load_id: str
    incoming_users: pd.DataFrame
    raw_users: pd.DataFrame
    catalog: pd.DataFrame
    quarantine: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    quarantined_users: int = 0

    @property
    def modelled_users(self) -> int:
        """How many users of the batch incoming_users must hold: the raw ones, but those quarantined."""
        return len(self.raw_users) - self.quarantined_users


def table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    row = conn.execute("select to_regclass(%s)", (f'"{schema}"."{table}"',)).fetchone()
    return bool(row and row[0])


def latest_load_id(conn: psycopg.Connection) -> str:
    """The newest completed dlt load (its batch may be empty); a one-line error when there is none."""
    if not table_exists(conn, *LOADS_TABLE):
        raise UserpipeError("no batch has landed yet (raw._dlt_loads is missing): run `userpipe ingest` first")
    row = conn.execute(LATEST_LOAD_SQL).fetchone()
    if row is None:
        raise UserpipeError("no completed load in raw._dlt_loads: run `userpipe ingest` first")
    return str(row[0])


def read_batch(conn: psycopg.Connection, load_id: str) -> Batch:
    """The rows of load `load_id` in raw.users, public.incoming_users and ops.quarantined_users, plus the catalog
    facts."""
    for schema, table in (LOADS_TABLE, RAW_TABLE, INCOMING_TABLE, QUARANTINE_TABLE):
        if not table_exists(conn, schema, table):
            step = "ingest" if schema == "raw" else "transform"
            raise UserpipeError(f"{schema}.{table} does not exist: run `userpipe {step}` first")
    if conn.execute("select 1 from raw._dlt_loads where load_id = %s", (load_id,)).fetchone() is None:
        raise UserpipeError(f"no load {load_id!r} in raw._dlt_loads: pass a load id `userpipe ingest` reported")
    with conn.transaction():
        _select_batch_users(conn, load_id)
        conn.execute(PRIMARY_KEY_PROBES_SQL)
        incoming_users = _frame(conn, INCOMING_BATCH_SQL)
        conn.execute(DEFAULT_SCANS_SQL)
        params = {"load_id": load_id}
        quarantine = {str(rule): (int(users), str(user), str(detail)) for rule, users, user, detail
                      in conn.execute(QUARANTINE_BATCH_SQL.encode(), params).fetchall()}
        row = conn.execute(QUARANTINED_USERS_SQL.encode(), params).fetchone()
        return Batch(
            load_id=load_id,
            incoming_users=incoming_users,
            raw_users=_frame(conn, RAW_BATCH_SQL),
            catalog=_frame(conn, CATALOG_SQL),
            quarantine=quarantine,
            quarantined_users=int(row[0]) if row else 0,
        )


def incoming_batch_plan(conn: psycopg.Connection, load_id: str, analyze: bool = False) -> str:
    """The plan of read_batch's incoming_users query, planned as read_batch plans it (for benchmarks and tests).
    `conn` in autocommit mode, as for read_batch."""
    with conn.transaction():
        _select_batch_users(conn, load_id)
        conn.execute(PRIMARY_KEY_PROBES_SQL)
        options = "(analyze) " if analyze else ""
        rows = conn.execute(f"explain {options}{INCOMING_BATCH_SQL}".encode()).fetchall()
    return "\n".join(str(row[0]) for row in rows)


def _select_batch_users(conn: psycopg.Connection, load_id: str) -> None:
    """The temporary table batch_users: the load's raw users (dropped at the end of the transaction)."""
    load_time = _load_time(load_id)
    sql = BATCH_USERS_SQL + (SINCE_LOAD_TIME_SQL if load_time is not None else "")
    conn.execute(sql.encode(), {"load_id": load_id, "load_time": load_time})
    conn.execute("analyze batch_users")  # so the join below knows the batch is small


def _load_time(load_id: str) -> float | None:
    """The unix time in a dlt load id (`1795750779.7554584`), None for any other id."""
    try:
        seconds = float(load_id)
    except ValueError:
        return None
    return seconds if 0 < seconds < 1e11 else None


def _frame(conn: psycopg.Connection, sql: str) -> pd.DataFrame:
    import pandas as pd

    with conn.cursor() as cursor:
        cursor.execute(sql.encode())
        columns = [column.name for column in cursor.description or ()]
        return pd.DataFrame(cursor.fetchall(), columns=columns)
