"""Helpers for the fault suite: `userpipe` run as a real subprocess, bounded waits, and what raw and dbt hold."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

USERPIPE = str(Path(sys.executable).with_name("userpipe"))
TIMEOUT_SECONDS = 600  # a bound on any one command, far above what it takes


def userpipe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`userpipe ARGS` to its end (bounded), with the test's environment (its database and USERPIPE_HOME)."""
    return subprocess.run([USERPIPE, *args], capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                          env={**os.environ, **(env or {})}, check=False)


def start_userpipe(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([USERPIPE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT_SECONDS) -> None:
    """Poll `condition` until true; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def rows(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params or None).fetchall()


def value(url: str, sql: str, params: tuple[object, ...] = ()) -> Any:
    return rows(url, sql, params)[0][0]


INCOMPLETE_ROWS = ("select count(*) from raw.users as u where not exists "
                   "(select 1 from raw._dlt_loads as l where l.load_id = u._dlt_load_id)")
