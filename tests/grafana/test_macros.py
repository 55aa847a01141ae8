"""The macro expander matches Grafana's own expectations (grafana/grafana macros_test.go cases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from userpipe.dashboard.macros import MacroError, TimeRange, expand, go_interval_text, go_rfc3339nano

START = datetime(2018, 4, 12, 18, 0, 0, tzinfo=UTC)
RANGE = TimeRange(START, START + timedelta(minutes=5), interval=timedelta(minutes=10))


@pytest.mark.parametrize(("sql", "expected"), [
    ("select $__time(time_column)", 'select time_column AS "time"'),
    ("select min($__time(time_column))", 'select min(time_column AS "time")'),
    ("WHERE $__timeFilter(time_column)",
     "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'"),
    ("select $__timeFrom()", "select '2018-04-12T18:00:00Z'"),
    ("select $__timeTo()", "select '2018-04-12T18:05:00Z'"),
    ("SELECT $__timeGroup(time_column,'5m'), value",
     'SELECT floor(extract(epoch from time_column)/300)*300 AS "time", value'),
    ("SELECT $__timeGroup(time_column,'5m') as time, value",
     "SELECT floor(extract(epoch from time_column)/300)*300 as time, value"),
    ("SELECT $__timeGroup(time_column,'5m')", "SELECT floor(extract(epoch from time_column)/300)*300"),
    ("SELECT $__timeGroupAlias(time_column,'5m')", 'SELECT floor(extract(epoch from time_column)/300)*300 AS "time"'),
    ("$__timeGroup(time_column , '5m')", "floor(extract(epoch from time_column)/300)*300"),
    ("$__timeGroupAlias(created_at, 1m, 0)", 'floor(extract(epoch from created_at)/60)*60 AS "time"'),
    ("select $__unixEpochFilter(time)", "select time >= 1523556000 AND time <= 1523556300"),
    ("select $__unixEpochNanoFilter(time)",
     "select time >= 1523556000000000000 AND time <= 1523556300000000000"),
    ("select $__unixEpochNanoFrom()", "select 1523556000000000000"),
    ("SELECT $__unixEpochGroup(time_column+time_adjustment,'5m')",
     "SELECT floor((time_column+time_adjustment)/300)*300"),
    ("SELECT $__unixEpochGroupAlias(t,'5m')", 'SELECT floor((t)/300)*300 AS "time"'),
    ("SELECT $__interval, $__interval_ms", "SELECT 10m, 600000"),
    ("WHERE t > $__unixEpochFrom() AND t < $__unixEpochTo()", "WHERE t > 1523556000 AND t < 1523556300"),
])
def test_expansion_matches_grafana(sql: str, expected: str) -> None:
    assert expand(sql, RANGE) == expected


def test_times_before_1970_and_fractions_format_like_go() -> None:
    start = datetime(1960, 2, 1, 7, 0, 0, 500000, tzinfo=UTC)
    end = datetime(1980, 2, 3, 8, 0, 0, 500000, tzinfo=UTC)
    assert go_rfc3339nano(start) == "1960-02-01T07:00:00.5Z"
    assert expand("select $__unixEpochFilter(t)", TimeRange(start, end)) == "select t >= -312915600 AND t <= 318412800"


@pytest.mark.parametrize(("interval", "text"), [
    (timedelta(milliseconds=20), "20ms"), (timedelta(seconds=5), "5s"), (timedelta(minutes=90), "1h"),
    (timedelta(days=2), "2d"),
])
def test_interval_text_uses_the_largest_whole_unit(interval: timedelta, text: str) -> None:
    assert go_interval_text(interval) == text


@pytest.mark.parametrize("sql", ["select $__nope(x)", "select $__timeGroup(x)", "select $__timeGroup(x, 5q)"])
def test_invalid_macros_are_refused(sql: str) -> None:
    with pytest.raises(MacroError):
        expand(sql, RANGE)
