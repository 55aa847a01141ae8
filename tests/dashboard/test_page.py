"""The page in headless Chromium over a loaded warehouse: every panel drawn, stats equal to their SQL, errors shown.

Tests run in file order on one warehouse; the last one adds a batch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.dashboard.conftest import USERS, PageLog, Warehouse, save_artifact, wait_until_drawn
from userpipe.dashboard import RunningDashboard, definition, reader
from userpipe.dashboard.macros import expand

DASHBOARD = definition.load()
PANELS = [panel for panel in definition.all_panels(DASHBOARD.document["panels"]) if panel["type"] != "row"]
CHARTS = {"timeseries", "piechart", "barchart", "gauge", "bargauge"}
SCREENSHOT_ENV = "USERPIPE_DASHBOARD_SCREENSHOT"  # `make screenshot` sets it to docs/dashboard.png

OpenPage = Callable[[RunningDashboard], tuple[Any, PageLog]]


def panel_states(page: Any) -> dict[str, dict[str, Any]]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.panel')].map(p => [p.dataset.title, {
        state: p.dataset.state, points: Number(p.dataset.points || 0),
        canvas: p.querySelectorAll('canvas, svg').length, text: p.querySelector('.panel-body').innerText,
        values: [...p.querySelectorAll('.stat-value')].map(v => ({text: v.innerText, value: JSON.parse(v.dataset.value)})),
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
