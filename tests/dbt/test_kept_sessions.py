"""One PostgreSQL session per dbt thread for a whole command (userpipe.dbt_sessions): nodes share it, and each
finds it as fresh as a new one (no setting, temporary table or open transaction left by the node before)."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import psycopg2.extensions
import pytest

from tests.dbt.conftest import query
from userpipe.dbt_sessions import _reset
from userpipe.transform import PROFILES_DIR, Transformer

CREDENTIALS = {"database": "x", "schema": "public", "host": "h", "user": "u", "password": "", "port": 5432}


def test_nodes_of_a_command_share_one_session_each_found_fresh(
        probe_project: Path, dbt_database: str, tmp_path: Path) -> None:
    transformer = Transformer(database_url=dbt_database, project_dir=probe_project, profiles_dir=PROFILES_DIR,
                              state_dir=tmp_path / "state", threads=1)
    transformer.parse()
    result = transformer.build()
    assert result.success, result.summary()
    [(first_pid,)] = query(dbt_database, "select pid from public.leaves_state")
    [(pid, timeout, no_leftover, no_lock)] = query(
        dbt_database, "select pid, statement_timeout, no_leftover, no_lock from public.sees_session")
    assert pid == first_pid  # the second model ran on the first one's session (dbt alone opens a new one)
    assert timeout != "4321s" and no_leftover and no_lock  # ... reset as a new session would be


def test_a_failed_transaction_is_rolled_back_and_a_closed_connection_is_not_kept(dbt_database: str) -> None:
    from dbt.adapters.contracts.connection import Connection, ConnectionState
    from dbt.adapters.postgres.connections import PostgresCredentials

    handle = psycopg2.connect(dbt_database)
    credentials = PostgresCredentials(**CREDENTIALS)
    connection = Connection(type="postgres", name="model.x", state=ConnectionState.OPEN, transaction_open=True,
                            handle=handle, credentials=credentials)
    cursor = handle.cursor()
    cursor.execute("create temporary table leftover (x int)")
    with pytest.raises(psycopg2.errors.DivisionByZero):
        cursor.execute("select 1 / 0")  # the transaction is now aborted
    assert _reset(connection)
    assert handle.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
    assert not connection.transaction_open
    cursor = handle.cursor()
    cursor.execute("select to_regclass('pg_temp.leftover') is null")
    assert cursor.fetchone() == (True,)
    handle.rollback()

    handle.close()
    assert not _reset(connection)  # dbt closes it, and opens a new one for the next node
    with_role = Connection(type="postgres", name="model.y", state=ConnectionState.OPEN, transaction_open=False,
                           handle=psycopg2.connect(dbt_database),
                           credentials=PostgresCredentials(**CREDENTIALS, role="someone"))
    assert not _reset(with_role)  # `set role` at connect would be undone by DISCARD ALL: not kept
    with_role.handle.close()
