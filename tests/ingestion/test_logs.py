"""A batch's diagnostics (dlt's log, ours, raw stderr) go to $USERPIPE_HOME/logs/ingest.log, and to stderr only
with INFO logging (`userpipe -v`); the loggers are as they were afterwards."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.logs import LOG_FILE, MAX_LOG_BYTES, batch_log


def write_diagnostics() -> None:
    logging.getLogger("dlt").error("dlt says job failed\nTraceback (most recent call last): ...")
    logging.getLogger("ingestion.pipeline").warning("could not undo the load")
    sys.stderr.write("SystemError: printed by a C extension\n")


@pytest.fixture
def root_level() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    level = root.level
    yield root
    root.setLevel(level)


def test_without_verbose_nothing_reaches_stderr_and_all_is_in_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], root_level: logging.Logger) -> None:
    root_level.setLevel(logging.WARNING)
    dlt_handlers = logging.getLogger("dlt").handlers[:]
    with batch_log(tmp_path / "logs") as path:
        write_diagnostics()
    assert capsys.readouterr().err == ""
    assert path == tmp_path / "logs" / LOG_FILE
    text = path.read_text()
    assert "dlt says job failed" in text and "Traceback" in text
    assert "could not undo the load" in text and "printed by a C extension" in text
    assert logging.getLogger("dlt").handlers == dlt_handlers and logging.getLogger("ingestion").propagate


def test_with_verbose_they_are_shown_on_stderr_too(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   root_level: logging.Logger) -> None:
    root_level.setLevel(logging.INFO)
    with batch_log(tmp_path / "logs") as path:
        write_diagnostics()
    err = capsys.readouterr().err
    assert "dlt says job failed" in err and "printed by a C extension" in err
    assert path is not None and "dlt says job failed" in path.read_text()


def test_a_big_log_is_moved_aside_and_an_unwritable_one_drops_silently(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], root_level: logging.Logger) -> None:
    root_level.setLevel(logging.WARNING)
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / LOG_FILE).write_bytes(b"x" * (MAX_LOG_BYTES + 1))
    with batch_log(folder):
        write_diagnostics()
    assert (folder / f"{LOG_FILE}.1").stat().st_size == MAX_LOG_BYTES + 1
    assert (folder / LOG_FILE).stat().st_size < 1000
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with batch_log(blocked) as path:
        write_diagnostics()
    assert path is None and capsys.readouterr().err == ""
