"""The dashboard definition: every query of the JSON (rows included), Grafana's time ranges and `$__interval`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from userpipe.dashboard import definition
from userpipe.dashboard.definition import DashboardError, Query
from userpipe.dashboard.macros import TimeRange, expand

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_shipped_definition_is_grafanas_file_and_every_target_is_a_query() -> None:
    shipped = definition.default_path()
    grafana = Path(__file__).resolve().parents[2] / "grafana" / "dashboards" / "realtime_user_analytics.json"
    assert shipped.read_bytes() == grafana.read_bytes()
    loaded = definition.load()
    targets = [panel for panel in definition.all_panels(loaded.document["panels"]) if panel.get("targets")]
    assert [query.panel_id for query in loaded.queries] == [panel["id"] for panel in targets]
    assert loaded.refresh == "5s"


def test_panels_of_a_collapsed_row_are_queried_too(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text("""{"panels": [
        {"id": 1, "type": "row", "collapsed": true, "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": [
            {"id": 2, "type": "stat", "gridPos": {"x": 0, "y": 1, "w": 6, "h": 4},
             "targets": [{"refId": "A", "rawSql": "select 1"}, {"refId": "B", "rawSql": "select 2", "hide": true}]}]},
        {"id": 3, "type": "text", "gridPos": {"x": 0, "y": 1, "w": 6, "h": 4}}]}""")
    assert definition.load(path).queries == (Query(2, "A", "select 1", "table", 6),)


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"title": "no panels"}'])
def test_a_file_that_is_not_a_dashboard_is_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(DashboardError, match=str(path)):
        definition.load(path)


def test_relative_ranges_as_grafana_writes_them() -> None:
    assert definition.time_range("now-30m", now=NOW) == TimeRange(NOW - timedelta(minutes=30), NOW)
    assert definition.time_range("now-24h", "now-1h", now=NOW) == TimeRange(NOW - timedelta(hours=24),
                                                                            NOW - timedelta(hours=1))
    for start, end in (("now-2y", "now"), ("now", "now-1m"), ("30m", "now"), ("now-5q", "now")):
        with pytest.raises(DashboardError):
            definition.time_range(start, end, now=NOW)


@pytest.mark.parametrize(("raw_ms", "rounded_ms"), [
    (5, 1), (10, 10), (3499, 2000), (3500, 5000), (89_999, 60_000), (90_000, 120_000), (4e9, 31_536_000_000)])
def test_round_interval_matches_grafanas_table(raw_ms: float, rounded_ms: int) -> None:
    assert definition.round_interval(raw_ms) == rounded_ms


def test_interval_is_sized_by_the_panel_width_and_bounded_by_its_min_interval() -> None:
    page = definition.time_range("now-30m", now=NOW)
    half = Query(5, "A", "select $__interval", "time_series", width=12)  # 800 px: 1,800,000 ms / 800 = 2250 ms
    assert expand(half.raw_sql, half.time_range(page, page_width=1600)) == "select 2s"
    assert Query(5, "A", "", "table", max_data_points=10).time_range(page).interval == timedelta(minutes=2)  # 3 m raw
    assert Query(5, "A", "", "table", width=12, min_interval="1m").time_range(page).interval == timedelta(minutes=1)
