"""`userpipe db stop` says that a running runner (or any command) starts the server again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from userpipe import warehouse

USERPIPE = str(Path(sys.executable).with_name("userpipe"))


def test_db_stop_stops_and_says_the_next_cycle_starts_it_again(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != warehouse.DATABASE_URL_ENV}
    env[warehouse.HOME_ENV] = str(tmp_path)
    server = warehouse.EmbeddedPostgres(tmp_path)
    server.start()
    try:
        stop = subprocess.run([USERPIPE, "db", "stop"], capture_output=True, text=True, env=env, timeout=120,
                              check=False)
    finally:
        server.stop()
    assert stop.returncode == 0, stop.stderr
    assert stop.stdout.startswith("embedded PostgreSQL stopped;")
    assert "`userpipe run` at its next cycle" in stop.stdout and "stop the runner first" in stop.stdout
    assert not server.is_running()
    usage = subprocess.run([USERPIPE, "db", "stop", "--help"], capture_output=True, text=True, env=env,
                           timeout=60, check=False)
    assert "stop the runner first" in " ".join(usage.stdout.split())
