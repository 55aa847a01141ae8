"""Stand-in landing for the gate's tests: raw.users as dlt writes it and incoming_users as dbt builds it.

Used until the real ingestion and dbt layers are in git; the SQL mirrors their contracts in
docs/architecture.md (raw.users columns, the 29 incoming_users columns).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg

RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.users (
    uuid text not null, payload jsonb, fetched_at timestamptz, request_seed text, request_page bigint,
    api_version text, _dlt_load_id text not null, _dlt_id text not null unique
);
create unique index if not exists users_uuid_key on raw.users (uuid);
create table if not exists raw._dlt_loads (
    load_id text not null, schema_name text, status bigint not null, inserted_at timestamptz not null,
    schema_version_hash text
);
"""

INCOMING_DDL = """
create table if not exists public.incoming_users (
    user_id varchar(100) primary key, gender varchar(20), title varchar(20), first_name varchar(100),
    last_name varchar(100), email varchar(255), username varchar(100), date_of_birth timestamp, age int,
    phone varchar(50), cell varchar(50), street_number varchar(20), street_name varchar(255), city varchar(100),
    state varchar(100), country varchar(100), postcode varchar(20), latitude varchar(50), longitude varchar(50),
    timezone_offset varchar(20), timezone_description varchar(255), nationality varchar(10), picture_large text,
    picture_medium text, picture_thumbnail text, registered_date timestamp, registered_age int,
    created_at timestamp, synced_at timestamp
);
"""

MODEL_SQL = """
insert into public.incoming_users
select p->'login'->>'uuid', p->>'gender', p->'name'->>'title', p->'name'->>'first', p->'name'->>'last',
    p->>'email', p->'login'->>'username', (p->'dob'->>'date')::timestamptz at time zone 'UTC',
    (p->'dob'->>'age')::int, p->>'phone', p->>'cell', p->'location'->'street'->>'number',
    p->'location'->'street'->>'name', p->'location'->>'city', p->'location'->>'state', p->'location'->>'country',
    p->'location'->>'postcode', p->'location'->'coordinates'->>'latitude',
    p->'location'->'coordinates'->>'longitude', p->'location'->'timezone'->>'offset',
    p->'location'->'timezone'->>'description', p->>'nat', p->'picture'->>'large', p->'picture'->>'medium',
    p->'picture'->>'thumbnail', (p->'registered'->>'date')::timestamptz at time zone 'UTC',
    (p->'registered'->>'age')::int, now() at time zone 'UTC', now() at time zone 'UTC'
from (select payload as p from raw.users where _dlt_load_id = %s) as landed
on conflict (user_id) do nothing
"""

CREDENTIALS = ("password", "salt", "md5", "sha1", "sha256")


def create_tables(conn: psycopg.Connection) -> None:
    conn.execute(RAW_DDL)
    conn.execute(INCOMING_DDL)


def land(conn: psycopg.Connection, users: list[dict[str, Any]], load_id: str | None = None) -> str:
    """Land `users` (API objects) as one load: raw rows (credentials stripped) then the model rows."""
    load_id = load_id or f"{uuid.uuid4().int % 10**10}.{len(users)}"
    create_tables(conn)
    with conn.transaction():
        with conn.cursor() as cursor:
            cursor.executemany(
                "insert into raw.users values (%s, %s, now(), 'seed', 1, '1.4', %s, %s)"
                " on conflict (uuid) do nothing",
                [(u["login"]["uuid"], json.dumps(_without_credentials(u)), load_id, uuid.uuid4().hex) for u in users],
            )
        conn.execute("insert into raw._dlt_loads values (%s, 'randomuser', 0, now(), 'h')", (load_id,))
        conn.execute(MODEL_SQL, (load_id,))
    return load_id


def _without_credentials(user: dict[str, Any]) -> dict[str, Any]:
    login = {k: v for k, v in user["login"].items() if k not in CREDENTIALS}
    return {**user, "login": login}


def api_users(count: int, seed: str = "quality", page: int = 1) -> list[dict[str, Any]]:
    """`count` users exactly as our randomuser-compatible API generates them."""
    from randomuser_api import build_response

    body = build_response({"results": str(count), "seed": seed, "page": str(page)})
    return list(json.loads(body)["results"])
