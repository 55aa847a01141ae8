"""What `userpipe run` prints: one line per cycle without a terminal, a live screen with one."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from userpipe.live import LiveView, PlainView, cycle_line
from userpipe.runs import RunRecord


def finished(status: str, error: str | None = None) -> RunRecord:
    record = RunRecord.start("local", run_id=f"local-{status}")
    record.ingest_seconds, record.transform_seconds, record.check_seconds = 1.0, 2.5, 3.25
    record.users_fetched, record.users_new = 10, 9
    record.finish(status, error)
    return record


def test_cycle_line_has_outcome_users_steps_and_next_run() -> None:
    next_at = datetime(2026, 1, 1, 12, 1, tzinfo=UTC)
    line = cycle_line(finished("failed", "checks failed: 1 of 30 (email)"), next_at)
    assert "\n" not in line
    for part in ("local-failed", "| failed |", "users 9 new of 10", "ingest 1.0s", "transform 2.5s",
                 "check 3.2s", "error: checks failed: 1 of 30 (email)", "next 12:01:00Z"):
        assert part in line


def test_plain_view_prints_one_line_per_cycle() -> None:
    out = io.StringIO()
    view = PlainView(Console(file=out, width=300))
    view.cycle_finished(finished("success"), None, None)
    view.cycle_finished(finished("skipped", "another cycle holds the lock"), None, None)
    assert len(out.getvalue().splitlines()) == 2


def test_live_view_shows_kpis_cycles_and_next_run() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True, color_system=None)
    view = LiveView("userpipe run - cron '*/1 * * * *'", history=[finished("failed", "ingest failed: x")],
                    console=console)
    view.cycle_started()
    view.cycle_finished(finished("success"), {"total_users": 42, "users_last_minute": 10, "unique_countries": 7,
                                              "average_age": 44.5, "freshness_lag_seconds": 3.2},
                        datetime.now(UTC) + timedelta(seconds=30))
    view.close()
    rendered = out.getvalue()
    for part in ("userpipe run - cron", "Total users", "42", "44.5", "success", "failed", "next run at"):
        assert part in rendered, part


LONG_ERROR = "ingest failed: " + "API http://127.0.0.1:4242/api/ (seed 0123456789abcdef, page 7) timed out; " * 8


@pytest.mark.parametrize("width", [80, 120, 160])
def test_a_long_error_is_cut_to_fit_and_the_other_columns_keep_their_width(width: int) -> None:
    history = [finished("success") for _ in range(9)]
    history.insert(3, finished("failed", LONG_ERROR))
    out = io.StringIO()
    view = LiveView("userpipe run", history=history, console=Console(file=out, width=width, color_system=None))
    view.close()  # a console that is no terminal gets the screen once, when the view closes
    lines = out.getvalue().splitlines()
    assert all(len(line) <= width for line in lines)
    header = next(line for line in lines if "started" in line)
    assert header.split()[:9] == ["started", "trigger", "status", "users", "ingest", "dbt", "check", "total",
                                  "error"]
    rows = [line for line in lines if line.strip().startswith(f"{history[0].started_at:%H:%M:%S}")]
    assert len(rows) == 10  # one line per cycle: the error is not folded
    for row in rows:
        assert row.split()[1:8] == ["local", "failed" if "ingest failed" in row else "success", "9/10",
                                    "1.0", "2.5", "3.2", f"{history[0].seconds:.1f}"], row
    failed = next(row for row in rows if "failed" in row.split()[2])
    shown = failed[failed.index("ingest failed:"):].rstrip()
    assert shown.endswith("…") and LONG_ERROR.startswith(shown[:-1])
    assert len(shown) >= width - 65  # the error takes the room the other columns leave



def test_the_newest_cycles_error_is_shown_whole_below_the_table() -> None:
    failed = finished("failed", LONG_ERROR)
    assert failed.error is not None
    out = io.StringIO()
    view = LiveView("userpipe run", history=[failed, finished("success")],
                    console=Console(file=out, width=80, color_system=None))
    view.close()
    text = " ".join(out.getvalue().split())
    assert f"last cycle ({failed.started_at:%H:%M:%S}, failed): {' '.join(failed.error.split())}" in text


def test_live_view_starts_with_the_cycles_of_the_last_hour_only() -> None:
    old = finished("failed", "interrupted by SIGINT before transform")
    old.run_id, old.started_at = "local-yesterday", old.started_at - timedelta(days=1)
    recent = finished("success")
    out = io.StringIO()
    view = LiveView("userpipe run", history=[recent, old], console=Console(file=out, width=160, color_system=None))
    view.close()
    assert [r.run_id for r in view.cycles] == [recent.run_id]
    assert "interrupted by SIGINT" not in out.getvalue()
