"""A malformed USERPIPE_DATABASE_URL or an unusable USERPIPE_HOME: one line naming what is wrong, in every command."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from userpipe import warehouse
from userpipe.warehouse import WarehouseError

USERPIPE = str(Path(sys.executable).with_name("userpipe"))
COMMANDS = [["status"], ["run", "--once"], ["transform"], ["check"], ["ingest", "-n", "1"], ["kestra", "dbt-env"],
            ["db", "url"]]


def userpipe(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([USERPIPE, *args], capture_output=True, text=True, timeout=120, check=False,
                          env=os.environ | env)


def assert_one_error_line(done: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    for part in parts:
        assert part in done.stderr, done.stderr


@pytest.mark.parametrize(("url", "message"), [
    ("garbage", "must be a URL like postgresql://user:password@host:5432/database, got 'garbage'"),
    ("mysql://u@h/db", "must be a URL like postgresql://"),
    ("postgresql://u:s3cret@h:abc/db", "'postgresql://u:***@h:abc/db': the port must be a number in 1..65535, "
                                       "got 'abc'"),
    ("postgresql://u:s3cret@h:99999/db", "got '99999'"),
    ("postgresql://u@h/db?port=x", "got 'x'"),
    ("postgresql://u@h/db?colour=blue", 'invalid URI query parameter: "colour"'),
    ("postgresql://u:my secret@h/db", "'postgresql://u:***@h/db': unexpected spaces found in \"***\""),
])
def test_a_malformed_database_url_says_what_is_wrong_without_the_password(url: str, message: str) -> None:
    with pytest.raises(WarehouseError) as caught:
        warehouse.check_database_url(url)
    assert message in str(caught.value)
    assert "secret" not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("url", ["postgresql://u:p@db.example:5433/analytics", "postgres://u@h/db",
                                 "postgresql://u@/db?host=/run/postgresql&port=5433"])
def test_well_formed_urls_pass(url: str) -> None:
    assert warehouse.check_database_url(url) == url


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_rejects_a_garbage_database_url_in_one_line(args: list[str], tmp_path: Path) -> None:
    done = userpipe(args, USERPIPE_DATABASE_URL="garbage", USERPIPE_HOME=str(tmp_path / "home"))

    assert_one_error_line(done, "USERPIPE_DATABASE_URL must be a URL like postgresql://", "got 'garbage'")
    assert done.stdout == ""  # dbt-env printed its exports and exited 0 before


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_home_that_is_a_file_is_one_line(args: list[str], tmp_path: Path, database_url: str) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder")
    env = {"USERPIPE_HOME": str(home)}
    if args[0] in ("status", "kestra", "db"):  # these need the home only for the embedded server
        env["USERPIPE_DATABASE_URL"] = ""

    done = userpipe(args, **env)

    assert_one_error_line(done, f"USERPIPE_HOME {home} is a file, not a folder")


def test_a_home_inside_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    done = userpipe(["db", "url"], USERPIPE_HOME=str(tmp_path / "file" / "home"), USERPIPE_DATABASE_URL="")

    assert_one_error_line(done, f"USERPIPE_HOME {tmp_path / 'file' / 'home'} cannot be created (Not a directory)")


@contextlib.contextmanager
def read_only_folder(path: Path) -> Iterator[None]:
    """`path` made unwritable: mode 0555, and as root (whom modes do not stop) a read-only tmpfs mounted there."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)],
                             capture_output=True, text=True, timeout=30)
    if mounted.returncode != 0:
        pytest.skip(f"root ignores modes and cannot mount a read-only tmpfs here: {mounted.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True, timeout=30)


@pytest.mark.parametrize("args", [["check"], ["ingest", "-n", "1"], ["run", "--once"]], ids=" ".join)
def test_a_read_only_home_is_one_line(args: list[str], tmp_path: Path, database_url: str) -> None:
    home = tmp_path / "home"
    with read_only_folder(home):
        done = userpipe(args, USERPIPE_HOME=str(home))

    assert_one_error_line(done, f"USERPIPE_HOME {home} is not writable")


def test_home_is_created_when_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warehouse.HOME_ENV, str(tmp_path / "a" / "b"))
    assert warehouse.home() == tmp_path / "a" / "b" and (tmp_path / "a" / "b").is_dir()
