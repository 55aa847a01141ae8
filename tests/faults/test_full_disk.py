"""A full disk under dlt's working dir: one `error:` line naming it, nothing landed, the leftovers cleaned at the
next start, and the same seed landed whole once there is room again. The small disk is a tmpfs the test mounts."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.faults.conftest import INCOMPLETE_ROWS, rows, userpipe, value
from userpipe import warehouse


def mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True, timeout=30, check=False)
    return done.returncode == 0


@pytest.fixture
def small_dlt_dir(database_url: str) -> Iterator[Path]:
    """dlt's working dir on a 5 MB tmpfs (grown by remounting it); skipped where mounting is not permitted."""
    folder = warehouse.home() / "dlt"
    if not mount_tmpfs(folder, "5m"):
        pytest.skip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): the full-disk case is not run")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30, check=False)


def test_a_full_disk_in_dlts_working_dir_is_one_line_and_a_rerun_with_room_lands_the_batch(
        database_url: str, small_dlt_dir: Path) -> None:
    assert userpipe("ingest", "-n", "10", "--seed", "before").returncode == 0  # raw.users exists, 10 rows

    full = userpipe("ingest", "-n", "20000", "--seed", "full")  # ~11 MB of page files

    assert full.returncode == 1
    errors = [line for line in full.stderr.splitlines() if line.startswith("error:")]
    assert errors == [full.stderr.splitlines()[-1]], full.stderr
    assert errors[0].startswith(f"error: the disk holding {small_dlt_dir} is full: the batch failed, nothing "
                                "landed; free space and run it again"), errors[0]
    assert "Traceback" not in full.stderr
    assert value(database_url, "select count(*) from raw.users") == 10
    subprocess.run(["mount", "-o", "remount,size=200m", str(small_dlt_dir)], check=True, timeout=30)

    rerun = userpipe("ingest", "-n", "20000", "--seed", "full")

    assert rerun.returncode == 0, rerun.stderr
    assert "20000 users fetched, 20000 landed, 20000 new" in rerun.stdout
    assert value(database_url, INCOMPLETE_ROWS) == 0
    assert rows(database_url, "select count(*), count(distinct uuid) from raw.users") == [(20010, 20010)]
    assert not list(small_dlt_dir.glob("randomuser-pages-*"))


@pytest.fixture
def small_raw_users_disk(database_url: str) -> Iterator[Path]:
    """raw.users (a first batch of 10 users) moved to a tablespace on a 4 MB tmpfs; moved back afterwards.
    Skipped unless the test can mount one and give it to the database server's OS user."""
    assert userpipe("ingest", "-n", "10", "--seed", "before").returncode == 0
    data_dir = Path(str(value(database_url, "select current_setting('data_directory')")))
    folder = Path(tempfile.mkdtemp(prefix="userpipe-small-tablespace-"))  # in /tmp: the server can reach it
    if not data_dir.is_dir() or not mount_tmpfs(folder, "4m"):
        folder.rmdir()
        pytest.skip("cannot mount a tmpfs for the database server here: the database's full disk is not run")
    tablespace = f"small_{database_url.rsplit('/', 1)[1].split('?')[0]}"
    try:
        owner = data_dir.stat()
        os.chown(folder, owner.st_uid, owner.st_gid)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'create tablespace "{tablespace}" location \'{folder}\'')
            conn.execute(f'alter table raw.users set tablespace "{tablespace}"')
        yield folder
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("alter table raw.users set tablespace pg_default")
            conn.execute(f'drop tablespace if exists "{tablespace}"')
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30, check=False)
        folder.rmdir()


def test_a_full_disk_in_the_database_is_one_line_and_nothing_of_the_batch_stays(
        database_url: str, small_raw_users_disk: Path) -> None:
    full = userpipe("ingest", "-n", "20000", "--seed", "full", env={"LOAD__RAISE_ON_MAX_RETRIES": "1"})

    assert full.returncode == 1
    errors = [line for line in full.stderr.splitlines() if line.startswith("error:")]
    assert errors == [full.stderr.splitlines()[-1]], full.stderr
    assert errors[0].startswith("error: the database's disk is full: the batch failed, nothing landed"), errors[0]
    assert value(database_url, INCOMPLETE_ROWS) == 0
    assert value(database_url, "select count(*) from raw.users") == 10


def test_a_dlt_working_dir_full_before_the_first_batch_is_one_line(database_url: str, small_dlt_dir: Path) -> None:
    filler = small_dlt_dir / "filler"
    with filler.open("wb") as out, pytest.raises(OSError, match="No space left"):
        while True:  # a 5 MB tmpfs: ends within 5 writes
            out.write(b"\0" * (1 << 20))
            out.flush()

    full = userpipe("ingest", "-n", "10", "--seed", "first")

    assert full.returncode == 1
    assert full.stderr.startswith("error: ") and full.stderr.count("\n") == 1, full.stderr
    assert full.stderr.startswith(f"error: the disk holding {small_dlt_dir} is full: the batch failed, nothing "
                                  "landed"), full.stderr
    filler.unlink()
    assert userpipe("ingest", "-n", "10", "--seed", "first").returncode == 0
    assert value(database_url, "select count(*) from raw.users") == 10
