"""What a batch that did not complete leaves behind, and how the next batch takes it back.

dlt commits each load file in its own transaction, so a load that is killed or fails half way leaves rows in
`raw.users` under a load id that never reaches `raw._dlt_loads`. Before a load starts, its id is written as a
marker file in dlt's working dir; the marker is removed once the load completed or its rows were taken back.
Every batch starts by undoing the loads whose marker is still there (retried at each start until done), under a
lock on the working dir held for the whole batch, so a running load is never undone. Until then dbt reads only
rows of completed loads (`stg_randomuser__users`), so a half-landed batch is never seen downstream.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt

from ingestion.randomuser import settings
from ingestion.randomuser.helpers import IngestError

log = logging.getLogger(__name__)

LOCK_FILE = "ingest.lock"
MARKER_DIR = "incomplete_loads"
LOCK_WAIT_SECONDS = 60.0
# rows of a load are fetched after its id (a timestamp) was made; the margin allows for a clock step back
FETCHED_AT_MARGIN = "1 hour"


@contextlib.contextmanager
def working_dir_lock(pipelines_dir: Path, wait: float | None = None) -> Iterator[None]:
    """Hold the batch lock of dlt's working dir (one batch at a time per USERPIPE_HOME; freed by the kernel
    when the process dies); IngestError if another batch holds it for longer than `wait` seconds (default
    LOCK_WAIT_SECONDS, read at the call)."""
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    try:
        pipelines_dir.mkdir(parents=True, exist_ok=True)
        handle = (pipelines_dir / LOCK_FILE).open("a")
    except OSError as exc:
        disk = disk_full(exc, pipelines_dir)
        reason = f"{disk} is full" if disk else f"{type(exc).__name__}: {exc.strerror or exc}"
        raise IngestError(f"cannot use the dlt working dir {pipelines_dir}, nothing landed: {reason}") from exc
    with handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IngestError(f"another ingest is running with the dlt working dir {pipelines_dir} "
                                      f"(waited {wait:.0f} s)") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _markers(pipeline: dlt.Pipeline) -> Path:
    return Path(pipeline.working_dir) / MARKER_DIR


def mark_loading(pipeline: dlt.Pipeline) -> list[str]:
    """Write a marker for each normalized package (about to be loaded); their load ids."""
    load_ids = list(pipeline.list_normalized_load_packages())
    folder = _markers(pipeline)
    folder.mkdir(parents=True, exist_ok=True)
    for load_id in load_ids:
        (folder / load_id).touch()
    return load_ids


def unmark(pipeline: dlt.Pipeline, load_ids: list[str]) -> None:
    """The loads completed or were taken back: drop their markers."""
    for load_id in load_ids:
        (_markers(pipeline) / load_id).unlink(missing_ok=True)


def undo_incomplete_loads(pipeline: dlt.Pipeline) -> int:
    """Take back the rows of every marked load that is not in `raw._dlt_loads`; the rows removed."""
    folder = _markers(pipeline)
    load_ids = sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []
    removed = 0
    for load_id in load_ids:
        removed += undo_load(pipeline, load_id)
        unmark(pipeline, [load_id])
    return removed


def undo_load(pipeline: dlt.Pipeline, load_id: str) -> int:
    """Delete the rows a load committed unless the load completed; the rows removed. Read through
    `raw.users`' index on fetched_at where there is one: only rows fetched since the load started."""
    with pipeline.sql_client() as sql:
        if not sql.has_dataset():
            return 0
        loads = sql.make_qualified_table_name("_dlt_loads")
        if _exists(sql, loads) and sql.execute_sql(
                f"select 1 from {loads} where load_id = %s and status = 0", load_id):
            return 0  # the process died after the load completed
        removed = 0
        with sql.begin_transaction():
            for table in (settings.TABLE_NAME, "_dlt_pipeline_state"):
                name = sql.make_qualified_table_name(table)
                if not _exists(sql, name):
                    continue
                since = (f" and fetched_at >= to_timestamp(%s::double precision) - interval '{FETCHED_AT_MARGIN}'"
                         if table == settings.TABLE_NAME else "")
                args = (load_id, load_id) if since else (load_id,)
                rows = sql.execute_sql(f"with gone as (delete from {name} where _dlt_load_id = %s{since} "
                                       f"returning 1) select count(*) from gone", *args)
                if table == settings.TABLE_NAME and rows:
                    removed = int(rows[0][0])
    if removed:
        log.warning("took back %s rows of the incomplete load %s", removed, load_id)
    return removed


def _exists(sql: Any, qualified_name: str) -> bool:
    rows = sql.execute_sql("select to_regclass(%s) is not null", qualified_name)
    return bool(rows and rows[0][0])


def disk_full(exc: BaseException, working_dir: Path) -> str | None:
    """Which disk filled up and stopped the batch, if that is what `exc` (or its chain) says; else None.
    A full local disk without a file name (e.g. in a worker process) is the one of dlt's `working_dir`."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        cause = stack.pop()
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
            return f"the disk holding {cause.filename or working_dir}"
        code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
        if code == "53100" or "could not extend file" in str(cause):
            return "the database's disk"
        if "No space left on device" in str(cause):
            return "the database's disk" if "psycopg" in type(cause).__module__ else f"the disk holding {working_dir}"
        stack.extend(c for c in (cause.__cause__, cause.__context__) if c is not None)
    return None
