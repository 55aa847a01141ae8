"""PostgreSQL killed (kill -9 of the embedded postmaster): the next start sees it dead and starts it again in
seconds, instead of taking the dead server for a running one and waiting out the start timeout.

A killed postmaster stays a zombie until its parent reaps it, and `pg_ctl status` counts a zombie as running.
How long that lasts depends on who reaps it, so the scenario runs in a child process that makes itself the
reaper of its orphans (PR_SET_CHILD_SUBREAPER) and reaps the postmaster only at the end: a zombie throughout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg

BACK_WITHIN = 30.0  # a correctness bound (the bug was a 60 s wait), not a benchmark

SCENARIO = r"""
import ctypes, json, os, signal, sys, time
from pathlib import Path
from userpipe import warehouse

ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the orphaned postmaster becomes our child
server = warehouse.EmbeddedPostgres(Path(sys.argv[1]))
url = server.start()
with warehouse.connect(url, autocommit=True) as conn:
    conn.execute("create table kept (n int)")
    conn.execute("insert into kept values (1)")
killed = int((server.pgdata / "postmaster.pid").read_text().split()[0])
os.kill(killed, signal.SIGKILL)
deadline = time.monotonic() + 30
while Path(f"/proc/{killed}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
    assert time.monotonic() < deadline, "the killed postmaster did not become a zombie"
    time.sleep(0.01)
started = time.monotonic()
again = server.start()
took = time.monotonic() - started
zombie = Path(f"/proc/{killed}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
new_pid = int((server.pgdata / "postmaster.pid").read_text().split()[0])
print(json.dumps({"url": url, "again": again, "took": took, "zombie_meanwhile": zombie,
                  "killed": killed, "new_pid": new_pid}))
"""


def test_a_killed_server_is_started_again_in_seconds(tmp_path: Path) -> None:
    from userpipe import warehouse

    server = warehouse.EmbeddedPostgres(tmp_path)
    try:
        run = subprocess.run([sys.executable, "-c", SCENARIO, str(tmp_path)], capture_output=True, text=True,
                             timeout=180, check=False)
        assert run.returncode == 0, run.stderr[-2000:]
        seen = json.loads(run.stdout.strip().splitlines()[-1])
        assert seen["zombie_meanwhile"], "the scenario did not keep the dead postmaster a zombie"
        assert seen["took"] < BACK_WITHIN, f"the restart took {seen['took']:.1f} s"
        assert seen["again"] == seen["url"] and seen["new_pid"] != seen["killed"]
        assert server.is_running()
        with psycopg.connect(seen["url"]) as conn:
            assert conn.execute("select n from kept").fetchall() == [(1,)]
    finally:
        server.stop()
    assert not server.is_running()
