"""The page in headless Chromium over a loaded warehouse: every panel drawn, stats equal to their SQL, errors shown.

Tests run in file order on one warehouse; the last one adds a batch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from tests.dashboard.conftest import STREAMED, USERS, PageLog, Warehouse, save_artifact, wait_until_drawn
from userpipe.dashboard import RunningDashboard, definition, reader
from userpipe.dashboard.macros import expand

DASHBOARD = definition.load()
PANELS = [panel for panel in definition.all_panels(DASHBOARD.document["panels"]) if panel["type"] != "row"]
CHARTS = {"timeseries", "piechart", "barchart", "gauge", "bargauge"}
SCREENSHOT_ENV = "USERPIPE_DASHBOARD_SCREENSHOT"  # `make screenshot` sets it to docs/dashboard.png

OpenPage = Callable[[RunningDashboard], tuple[Any, PageLog]]


def panel_states(page: Any) -> dict[str, dict[str, Any]]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.panel')].map(p => [
        p.dataset.title, {
        state: p.dataset.state, points: Number(p.dataset.points || 0),
        canvas: p.querySelectorAll('canvas, svg').length, text: p.querySelector('.panel-body').innerText,
        values: [...p.querySelectorAll('.stat-value')].map(v => ({
            text: v.innerText, value: JSON.parse(v.dataset.value)})),
        rows: p.querySelectorAll('tbody tr').length}]))""")


def reader_value(warehouse: Warehouse, sql: str) -> Any:
    with psycopg.connect(reader.reader_url(warehouse.url)) as conn:
        row = conn.execute(sql.encode()).fetchone()
    assert row is not None
    return row[0]


def test_every_panel_is_drawn_with_data_and_no_console_error(make_dashboard: Callable[..., RunningDashboard],
                                                              open_page: OpenPage, tmp_path: Path) -> None:
    page, log = open_page(make_dashboard())
    wait_until_drawn(page)
    states = panel_states(page)
    assert set(states) == {panel["title"] for panel in PANELS}
    for panel in PANELS:
        shown = states[panel["title"]]
        assert shown["state"] == "done", f"{panel['title']}: {shown}"
        assert shown["points"] > 0, f"{panel['title']} drew no data"
        if panel["type"] in CHARTS:
            assert shown["canvas"] >= 1, f"{panel['title']} has no canvas"
        elif panel["type"] == "table":
            assert shown["rows"] == shown["points"] > 0
        elif panel["type"] == "stat":
            assert shown["values"], f"{panel['title']} shows no value"
    assert log.errors == []
    assert all("randomuser.me/api/portraits/" in url for url in log.foreign_requests), log.foreign_requests
    screenshot = tmp_path / "dashboard.png"
    page.screenshot(path=str(screenshot), full_page=True)
    save_artifact(screenshot, "dashboard.png")
    if os.environ.get(SCREENSHOT_ENV):
        Path(os.environ[SCREENSHOT_ENV]).write_bytes(screenshot.read_bytes())


def stat_sql_values(warehouse: Warehouse) -> dict[str, Any]:
    values = {}
    for panel in PANELS:
        if panel["type"] == "stat":
            sql = expand(panel["targets"][0]["rawSql"], definition.time_range("now-30m"))
            values[panel["title"]] = reader_value(warehouse, sql)
    return values


def comparable(value: Any) -> Any:
    return float(value) if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) else value


def test_stat_values_equal_their_sql(make_dashboard: Callable[..., RunningDashboard], open_page: OpenPage,
                                     warehouse: Warehouse) -> None:
    page, log = open_page(make_dashboard())
    wait_until_drawn(page)
    before = stat_sql_values(warehouse)  # read around one refresh: clock-driven values (lag) lie between
    page.click("#refresh-now")
    wait_until_drawn(page, refreshes=2)
    after = stat_sql_values(warehouse)
    states = panel_states(page)
    for title, expected_before in before.items():
        (shown,) = states[title]["values"]
        low, high, value = comparable(expected_before), comparable(after[title]), shown["value"]
        if isinstance(value, (float, int)):
            assert min(low, high) - 1e-9 <= value <= max(low, high) + 1e-9, (title, value, low, high)
        else:
            assert value in (low, high), (title, value, low, high)
    assert states["Total Users"]["values"][0]["text"] == str(USERS)
    assert states["Last Cycle Status"]["values"][0]["text"] == "success"
    assert states["Failed Checks (last cycle)"]["values"][0]["text"] == "1"
    assert log.errors == []


def test_a_broken_panel_query_shows_its_error_and_the_others_still_draw(
        make_dashboard: Callable[..., RunningDashboard], open_page: OpenPage, tmp_path: Path) -> None:
    document = json.loads(definition.default_path().read_text())
    broken = next(panel for panel in document["panels"] if panel["title"] == "Unique Countries")
    broken["targets"][0]["rawSql"] = "select no_such_column from marts.kpis"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    page, log = open_page(make_dashboard(path))
    wait_until_drawn(page)
    states = panel_states(page)
    assert states["Unique Countries"]["state"] == "error"
    assert 'column "no_such_column" does not exist' in states["Unique Countries"]["text"]
    others = {title: shown["state"] for title, shown in states.items() if title != "Unique Countries"}
    assert set(others.values()) == {"done"}, others
    assert log.errors == []


def test_a_collapsed_row_hides_its_panels_until_opened(make_dashboard: Callable[..., RunningDashboard],
                                                       open_page: OpenPage, tmp_path: Path) -> None:
    document = json.loads(definition.default_path().read_text())
    row = next(panel for panel in document["panels"] if panel["type"] == "row")
    next_row_y = min((panel["gridPos"]["y"] for panel in document["panels"]
                      if panel["type"] == "row" and panel["gridPos"]["y"] > row["gridPos"]["y"]), default=10**6)
    below = [panel for panel in document["panels"]  # the row's own panels: those down to the next row
             if row["gridPos"]["y"] < panel["gridPos"]["y"] < next_row_y]
    row["collapsed"], row["panels"] = True, below
    document["panels"] = [panel for panel in document["panels"] if panel not in below]
    path = tmp_path / "collapsed.json"
    path.write_text(json.dumps(document))
    running = make_dashboard(path)
    page, log = open_page(running)
    wait_until_drawn(page)
    hidden = {panel["title"] for panel in below}
    assert hidden.isdisjoint(panel_states(page))
    queried = {panel_id for panel_id, _ in running.runner.executed}
    assert queried.isdisjoint(panel["id"] for panel in below), "a folded row's panels were queried"
    page.click(f'.row[data-row-id="{row["id"]}"]')
    page.wait_for_function("n => document.querySelectorAll('.panel[data-state=\"done\"]').length >= n",
                           arg=len(PANELS), timeout=30_000)
    states = panel_states(page)
    assert hidden <= set(states)
    assert {title: states[title]["points"] for title in hidden if states[title]["points"] == 0} == {}
    assert log.errors == []


def test_types_the_json_does_not_use_yet_are_drawn_too(make_dashboard: Callable[..., RunningDashboard],
                                                       open_page: OpenPage, tmp_path: Path) -> None:
    def panel(id_: int, kind: str, sql: str | None, **extra: Any) -> dict[str, Any]:
        targets = [{"refId": "A", "rawSql": sql, "format": "table"}] if sql else []
        return {"id": id_, "type": kind, "title": kind, "gridPos": {"x": 6 * (id_ - 1), "y": 0, "w": 6, "h": 8},
                "targets": targets, **extra}

    document = {"title": "other types", "refresh": "5s", "time": {"from": "now-15m", "to": "now"}, "panels": [
        panel(1, "gauge", "select average_age from marts.kpis",
              fieldConfig={"defaults": {"min": 0, "max": 100, "thresholds": {"mode": "absolute", "steps": [
                  {"color": "green", "value": None}, {"color": "red", "value": 80}]}}}),
        panel(2, "bargauge", "select gender, user_count from marts.users_by_gender",
              options={"reduceOptions": {"values": True, "calcs": ["lastNotNull"]}}),
        panel(3, "text", None, options={"mode": "markdown", "content": "Synthetic users, landed every minute."}),
        panel(4, "logs", "select email, created_at from public.incoming_users limit 5"),
    ]}
    path = tmp_path / "types.json"
    path.write_text(json.dumps(document))
    page, log = open_page(make_dashboard(path))
    wait_until_drawn(page)
    states = panel_states(page)
    assert {title: shown["state"] for title, shown in states.items()} == dict.fromkeys(
        ("gauge", "bargauge", "text", "logs"), "done")
    assert states["gauge"]["canvas"] and states["bargauge"]["canvas"]
    assert states["bargauge"]["points"] == 2
    assert states["text"]["text"] == "Synthetic users, landed every minute."
    assert states["logs"]["rows"] == 5 and 'panel type "logs" is shown as a table here' in states["logs"]["text"]
    assert page.eval_on_selector("#range", "select => select.value") == "15m"
    assert log.errors == []


def test_the_time_picker_sets_the_range_of_the_queries(make_dashboard: Callable[..., RunningDashboard],
                                                       open_page: OpenPage) -> None:
    page, _ = open_page(make_dashboard())
    wait_until_drawn(page)
    assert page.eval_on_selector("#range", "select => select.value") == "30m"  # the JSON's time.from
    assert page.eval_on_selector("#refresh", "select => select.value") == DASHBOARD.refresh
    with page.expect_request(lambda request: "from=now-5m" in request.url, timeout=30_000):
        page.select_option("#range", "5m")
    page.wait_for_function("() => window.userpipeDashboard.last.to - window.userpipeDashboard.last.from === 300000",
                           timeout=30_000)


def test_each_panel_query_runs_once_per_refresh(make_dashboard: Callable[..., RunningDashboard],
                                                open_page: OpenPage) -> None:
    running = make_dashboard()
    page, log = open_page(running)
    wait_until_drawn(page)
    page.select_option("#refresh", "")  # Off: only the refreshes asked for below
    refreshes = int(page.evaluate("() => document.body.dataset.refreshes"))
    for _ in range(2):
        page.click("#refresh-now")
        refreshes += 1
        wait_until_drawn(page, refreshes=refreshes)
    assert log.queries == refreshes
    assert set(running.runner.executed.values()) == {refreshes}
    assert len(running.runner.executed) == len(DASHBOARD.queries)


def test_a_new_batch_shows_on_the_next_automatic_refresh(make_dashboard: Callable[..., RunningDashboard],
                                                         open_page: OpenPage, warehouse: Warehouse) -> None:
    page, log = open_page(make_dashboard())
    wait_until_drawn(page)
    total = panel_states(page)["Total Users"]["values"][0]["value"]
    assert total == USERS
    warehouse.add_batch(15)  # its build also builds the streamed users
    page.wait_for_function(  # the 5 s refresh of the JSON; the bound is generous for a slow machine
        """n => [...document.querySelectorAll('.panel[data-title="Total Users"] .stat-value')]
                  .some(v => v.innerText === String(n))""", arg=USERS + STREAMED + 15, timeout=90_000)
    assert log.errors == []
