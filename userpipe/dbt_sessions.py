"""One PostgreSQL session per dbt thread for a whole dbt command, instead of one per node.

dbt-postgres closes its connection after every node (model, test, hook) and opens a new one for the next:
a TCP connection, a SCRAM login and a fresh backend whose catalog caches start cold, ~45 times per `dbt build`
of a cycle. Inside `kept_sessions()` a node's connection is handed back as dbt would find a new one: the open
transaction rolled back (what closing it does) and `DISCARD ALL` (no temporary table, setting, prepared statement
or advisory lock left over), then kept for the next node of the same thread. dbt closes them all at the end
of the command, as before. A connection in any other state (failed, broken, a `role` to set again) is closed as
dbt closes it. dbt-snowflake's `reuse_connections` keeps its connections the same way (by overriding release).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

RESET_SQL = "discard all"
_patch_lock = threading.Lock()


@contextlib.contextmanager
def kept_sessions() -> Iterator[None]:
    """While inside, dbt-postgres keeps each thread's connection between the nodes of a command (one command at
    a time per process: userpipe.transform holds its lock around this)."""
    from dbt.adapters.postgres.connections import PostgresConnectionManager

    manager_class: Any = PostgresConnectionManager
    with _patch_lock:
        original = manager_class.__dict__.get("release")  # None: it inherits dbt-adapters' release
        manager_class.release = _release_keeping_session
        try:
            yield
        finally:
            if original is None:
                del manager_class.release
            else:
                manager_class.release = original


def _release_keeping_session(manager: Any) -> None:
    """dbt's `release()` for one thread's connection: reset and keep it when it is healthy, else close it."""
    with manager.lock:
        connection = manager.get_if_exists()
    if connection is None:
        return
    try:
        if _reset(connection):
            return
        manager.close(connection)
    except Exception:
        manager.clear_thread_connection()  # as dbt does when closing fails: the connection is dropped
        raise


def _reset(connection: Any) -> bool:
    """Roll back and DISCARD ALL on an open, healthy connection (True), or leave it to be closed (False)."""
    import psycopg2.extensions

    if str(getattr(connection.state, "value", connection.state)) != "open" or connection.credentials.role:
        return False
    handle = connection.handle
    if getattr(handle, "closed", 1) or not isinstance(handle, psycopg2.extensions.connection):
        return False
    try:
        handle.rollback()
        connection.transaction_open = False
        autocommit = handle.autocommit
        handle.autocommit = True
        try:
            with handle.cursor() as cursor:
                cursor.execute(RESET_SQL)
        finally:
            handle.autocommit = autocommit
    except psycopg2.Error as exc:  # the server went away or refused: a new connection next time
        log.debug("dbt connection %s not kept: %s", connection.name, exc)
        return False
    return handle.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
