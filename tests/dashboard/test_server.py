"""The dashboard's server and data endpoint over real HTTP and a real database, and its command line."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import psycopg
import pytest
from psycopg import sql

from randomuser_api.faults import FaultPlan
from randomuser_api.server import LocalApi
from tests.dashboard.conftest import Warehouse
from userpipe.dashboard import DashboardError, RunningDashboard, definition, reader
from userpipe.dashboard.queries import QueryRunner

USERPIPE = str(Path(sys.executable).with_name("userpipe"))


def get(url: str) -> tuple[int, dict]:
    try:
        with urlopen(url, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_one_request_returns_every_panel_of_the_definition(make_dashboard: Callable[..., RunningDashboard]) -> None:
    running = make_dashboard()
    status, data = get(running.url + "api/query?from=now-30m&to=now")
    assert status == 200
    ids = {str(panel["id"]) for panel in definition.all_panels(definition.load().document["panels"])
           if panel.get("targets")}
    assert set(data["panels"]) == ids
    assert all(panel["error"] is None and panel["frames"] for panel in data["panels"].values())
    assert data["to"] - data["from"] == 30 * 60 * 1000
    rate = data["panels"]["5"]["frames"][0]  # Real-time Ingestion Rate: epoch seconds read as time, in ms
    assert [field["type"] for field in rate["fields"]] == ["time", "number"]
    assert all(row[0] % 60_000 == 0 and row[0] > 1.7e12 for row in rate["rows"])
    status, document = get(running.url + "api/dashboard")
    assert status == 200 and document["uid"] == "realtime_users_001"


def test_panels_asks_for_those_panels_only(make_dashboard: Callable[..., RunningDashboard]) -> None:
    running = make_dashboard()
    status, data = get(running.url + "api/query?panels=1,5,999")
    assert status == 200 and set(data["panels"]) == {"1", "5"}
    assert {panel_id for panel_id, _ in running.runner.executed} == {1, 5}


@pytest.mark.parametrize(("query", "message"), [
    ("from=yesterday", "time must be now or now-<N><s|m|h|d|w>"),
    ("from=now&to=now-5m", "must start before it ends"),
    ("from=now-90d", "longer than 31 days"),
    ("panels=1,two", "panels must be panel ids separated by commas"),
    ("width=12", "width must be between 100 and 20000 pixels"),
])
def test_a_bad_time_range_is_a_400_with_one_line(make_dashboard: Callable[..., RunningDashboard], query: str,
                                                 message: str) -> None:
    status, data = get(make_dashboard().url + "api/query?" + query)
    assert status == 400
    assert message in data["error"] and "\n" not in data["error"]


def test_unknown_paths_and_files_outside_static_are_404(make_dashboard: Callable[..., RunningDashboard]) -> None:
    running = make_dashboard()
    for path in ("nope", "static/../server.py", "static/server.py"):
        assert get(running.url + path)[0] == 404


def test_the_reader_cannot_write_even_from_a_panel(warehouse: Warehouse, tmp_path: Path) -> None:
    document = {"panels": [{"id": 1, "type": "table", "title": "evil", "gridPos": {"x": 0, "y": 0, "w": 4, "h": 4},
                            "targets": [{"refId": "A", "rawSql": "delete from marts.users_by_gender"}]},
                           {"id": 2, "type": "table", "title": "raw", "gridPos": {"x": 4, "y": 0, "w": 4, "h": 4},
                            "targets": [{"refId": "A", "rawSql": "reset role; select count(*) from raw.users"}]}]}
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(document))
    runner = QueryRunner(reader.reader_url(warehouse.url)).open()
    try:
        panels = runner.refresh(definition.load(path), definition.time_range("now-5m"))["panels"]
    finally:
        runner.close()
    assert "permission denied" in panels["1"]["error"] or "read-only" in panels["1"]["error"]
    assert "permission denied for schema raw" in panels["2"]["error"]
    with psycopg.connect(warehouse.url) as conn:
        assert conn.execute("select count(*) from marts.users_by_gender").fetchone() != (0,)


def test_the_reader_password_is_generated_once_and_private(warehouse: Warehouse,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # the session's reader password is set aside (tests/conftest.py): the role has none, as on a new server
    session_password = os.environ[reader.PASSWORD_ENV]
    monkeypatch.delenv(reader.PASSWORD_ENV)
    with psycopg.connect(warehouse.url, autocommit=True) as admin:
        admin.execute("alter role grafana_reader password null")
        try:
            url = reader.reader_url(warehouse.url)
            password_file = warehouse.home / reader.PASSWORD_FILE
            assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
            assert password_file.read_text().strip() in url
            assert reader.reader_url(warehouse.url) == url
            with psycopg.connect(url) as conn:
                assert conn.execute("select current_user, current_setting('default_transaction_read_only')"
                                    ).fetchone() == ("grafana_reader", "on")
        finally:
            admin.execute(sql.SQL("alter role grafana_reader password {}").format(sql.Literal(session_password)))


def test_a_reader_that_cannot_log_in_is_one_line_naming_the_password() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once closed
    with pytest.raises(DashboardError) as error:
        QueryRunner(f"postgresql://grafana_reader:x@127.0.0.1:{port}/nowhere", wait_seconds=1).open()
    assert str(error.value).startswith("the dashboard cannot connect as grafana_reader: ")
    assert "USERPIPE_DASHBOARD_READER_PASSWORD" in str(error.value) and "\n" not in str(error.value)


def test_a_busy_port_falls_back_to_a_free_one_and_says_so(make_dashboard: Callable[..., RunningDashboard],
                                                          warehouse: Warehouse) -> None:
    from userpipe.dashboard import start_dashboard

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with pytest.MonkeyPatch.context() as env:
            env.setenv("USERPIPE_HOME", str(warehouse.home))
            running = start_dashboard(warehouse.url, port=busy)
        try:
            assert running.port != busy
            assert running.notice == f"port {busy} is busy: the dashboard listens on {running.port} instead"
            assert get(running.url + "api/dashboard")[0] == 200
        finally:
            running.stop()


@pytest.mark.parametrize(("args", "message"), [
    (["--port", "abc"], "error: --port must be a whole number between 0 and 65535, got 'abc'"),
    (["--port", "70000"], "error: --port must be between 0 and 65535, got 70000"),
    (["--definition", "/nonexistent.json"], "error: cannot read the dashboard /nonexistent.json"),
])
def test_bad_input_is_one_line_and_exit_1(database_url: str, args: list[str], message: str) -> None:
    result = subprocess.run([USERPIPE, "dashboard", *args], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr


def test_a_bad_dashboard_port_stops_run_before_anything_runs(database_url: str) -> None:
    result = subprocess.run([USERPIPE, "run", "--once", "--dashboard-port", "-1"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 1
    assert result.stderr == "error: --dashboard-port must be between 0 and 65535, got -1\n"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select to_regclass('ops.pipeline_runs')").fetchone() == (None,)


def test_the_command_serves_the_page_until_interrupted(database_url: str) -> None:
    process = subprocess.Popen([USERPIPE, "dashboard", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ})
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("dashboard: http://127.0.0.1:"), line
        url = line.split()[1]
        with urlopen(url, timeout=30) as answer:
            assert b"/static/echarts.min.js" in answer.read()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_run_serves_the_dashboard_while_its_cycle_runs_and_prints_its_url(
        database_url: str, faulty_api: Callable[..., LocalApi]) -> None:
    """The page answers while the cycle is still fetching (a slow API, past the cycle's time limit), and goes with
    the runner; --no-dashboard starts none."""
    api = faulty_api(FaultPlan.of("slow", times=-1, delay=60))
    run = subprocess.Popen([USERPIPE, "run", "--once", "--plain", "--api-url", api.url, "--time-limit", "8"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert run.stdout is not None
        first = run.stdout.readline()
        assert first.startswith("dashboard: http://127.0.0.1:"), first
        url = first.removeprefix("dashboard: ").strip()
        status, document = get(url + "api/dashboard")
        assert status == 200 and document["uid"] == definition.load().document["uid"]
        _, err = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode == 1 and "time limit of 8 s passed" in err, err
    with pytest.raises(OSError):
        urlopen(url, timeout=5)  # stopped with the runner

    skipped = subprocess.run([USERPIPE, "run", "--once", "--plain", "--no-dashboard", "--api-url", api.url,
                              "--time-limit", "1"], capture_output=True, text=True, timeout=120, check=False)
    assert skipped.returncode == 1 and "time limit of 1 s passed" in skipped.stderr, skipped.stderr
    assert "dashboard" not in skipped.stdout
