"""Fault points reached by a lock the test holds: a process is stopped at a known statement (waiting on the
test's lock, seen in pg_locks), killed there, then the lock is let go and the killed process's server sessions
are waited out, so what follows never races with them.

- `hold_advisory(url, key)`: a session advisory lock, e.g. the dbt chain lock incoming_users takes first;
- `hold_table(url, relation)`: an ACCESS EXCLUSIVE lock on a table (a mart, ops.check_results);
- `hold_on_insert(url, relation, key)`: a trigger that makes every insert into `relation` wait on `key`.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg

from tests.faults.conftest import value, wait_for

CHAIN_LOCK = "select pg_advisory_lock(hashtext('userpipe.incremental_chain'))"  # dbt's lock_incremental_chain
HOLD_WAIT_SECONDS = 300.0  # far above how long any step takes to reach its hold
GONE_WAIT_SECONDS = 60.0


def waiting_on_advisory(url: str) -> bool:
    """True while a session of this database waits for an advisory lock."""
    return bool(value(url, "select count(*) from pg_locks where locktype = 'advisory' and not granted "
                           "and database = (select oid from pg_database where datname = current_database())"))


def waiting_on_table(url: str, relation: str) -> bool:
    """True while a session waits for a lock on `relation`."""
    return bool(value(url, "select count(*) from pg_locks where locktype = 'relation' and not granted "
                           "and relation = to_regclass(%s)", (relation,)))


def client_sessions(url: str) -> int:
    """Client sessions of this database besides the one asking."""
    return int(value(url, "select count(*) from pg_stat_activity where datname = current_database() "
                          "and backend_type = 'client backend' and pid <> pg_backend_pid()"))


def wait_sessions_gone(url: str) -> None:
    """Wait until a killed process's sessions ended (a session waiting on a lock notices its client is gone
    only once granted; the caller has let go)."""
    wait_for(lambda: client_sessions(url) == 0, "the killed process's database sessions to end", GONE_WAIT_SECONDS)


@contextlib.contextmanager
def hold_advisory(url: str, lock_sql: str = CHAIN_LOCK) -> Iterator[psycopg.Connection]:
    """Hold an advisory lock (taken by `lock_sql`) on a connection of the test's until the block ends."""
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute(lock_sql)
        yield holder


@contextlib.contextmanager
def hold_table(url: str, relation: str) -> Iterator[psycopg.Connection]:
    """Hold `relation` locked (ACCESS EXCLUSIVE: nobody reads or writes it) until the block ends."""
    with psycopg.connect(url) as holder:
        holder.execute(f"lock table {relation} in access exclusive mode")
        yield holder
        holder.rollback()


@contextlib.contextmanager
def hold_on_insert(url: str, relation: str, key: int) -> Iterator[psycopg.Connection]:
    """Every insert into `relation` waits on advisory lock `key`, held by the test until the block ends; the
    trigger is dropped afterwards."""
    trigger = f"hold_insert_{key}"
    holder = psycopg.connect(url, autocommit=True)
    holder.execute("select pg_advisory_lock(%s)", (key,))
    holder.execute(f"""
        create function public.{trigger}() returns trigger language plpgsql as $$
        begin
            perform pg_advisory_xact_lock({key});
            return new;
        end $$;
        create trigger {trigger} before insert on {relation} for each row execute function public.{trigger}();""")
    try:
        yield holder
    finally:
        holder.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("set lock_timeout = '60s'")
            conn.execute(f"drop trigger if exists {trigger} on {relation}")
            conn.execute(f"drop function if exists public.{trigger}()")


def kill(process: subprocess.Popen[str]) -> None:
    """kill -9 and reap `process`."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])
