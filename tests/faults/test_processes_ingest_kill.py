"""kill -9 of `userpipe ingest`: its worker and local API processes die with it, and the next ingest removes the
page folder it left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ingestion.randomuser import settings
from tests.faults.processes import alive, descendants

USERPIPE = str(Path(sys.executable).with_name("userpipe"))
TIMEOUT = 120.0  # bound of every wait; a slow machine only makes them longer
GONE_WITHIN = 10.0


def _page_folders(home: Path) -> list[Path]:
    return sorted((home / "dlt").glob(f"{settings.PAGE_FOLDER_PREFIX}*"))


def _holds_a_page(folder: Path) -> bool:
    try:
        return any(folder.iterdir())
    except OSError:  # removed meanwhile
        return False


def _wait_for(what: str, condition: object, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_kill_9_of_ingest_leaves_no_process_and_the_next_removes_its_page_folder(database_url: str) -> None:
    home = Path(os.environ["USERPIPE_HOME"])
    ingest = subprocess.Popen([USERPIPE, "ingest", "-n", "50000", "--seed", "orphans"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        # both local API servers and both fetch workers run once a page folder exists and holds a page
        expected = 2 * settings.FETCH_WORKERS

        def fetching() -> bool:
            assert ingest.poll() is None, f"ingest ended before it was killed: {ingest.stderr.read()}"  # type: ignore[union-attr]
            return len(descendants(ingest.pid)) >= expected and any(map(_holds_a_page, _page_folders(home)))

        _wait_for("the workers", fetching)
        children = descendants(ingest.pid)
        os.kill(ingest.pid, signal.SIGKILL)
        ingest.wait(timeout=TIMEOUT)
        _wait_for(f"every child of the killed ingest to end within {GONE_WITHIN} s",
                  lambda: not any(alive(pid) for pid in children), timeout=GONE_WITHIN)
    finally:
        if ingest.poll() is None:
            ingest.kill()
            ingest.wait(timeout=TIMEOUT)
    left = _page_folders(home)
    assert left, "the killed ingest left no page folder: the test did not kill it mid-fetch"

    again = subprocess.run([USERPIPE, "ingest", "-n", "10", "--seed", "after"], capture_output=True, text=True,
                           timeout=TIMEOUT, check=False)
    assert again.returncode == 0, again.stderr
    assert not any(folder.exists() for folder in left)
    assert _page_folders(home) == []
