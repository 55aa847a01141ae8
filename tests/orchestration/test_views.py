"""What `userpipe run` prints: one line per cycle without a terminal, a live screen with one."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

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
