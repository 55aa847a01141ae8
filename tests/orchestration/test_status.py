"""`userpipe status`'s report on a real database: failures since the last successful cycle, not forever."""

from __future__ import annotations

import io
from datetime import timedelta

import psycopg
from rich.console import Console

from quality.results import CheckResult, store
from userpipe import runs, status
from userpipe.runs import RunRecord


def cycle(conn: psycopg.Connection, outcome: str, minutes_ago: float, error: str | None = None) -> RunRecord:
    record = RunRecord.start("local")
    record.finish(outcome, error)
    record.started_at -= timedelta(minutes=minutes_ago)
    record.ended_at = record.started_at + timedelta(seconds=3)
    runs.save(conn, record)
    return record


def report_text(conn: psycopg.Connection) -> str:
    out = io.StringIO()
    status.print_report(status.collect(conn), Console(file=out, width=200, color_system=None))
    return out.getvalue()


def test_failed_checks_before_the_last_successful_cycle_are_history(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        runs.ensure_table(conn)
        old = cycle(conn, "failed", 90, "checks failed: 1 of 30 (email)")
        store(conn, old.run_id, [CheckResult("incoming_users_batch.email_format", "gx", "fail", 3)],
              old.started_at + timedelta(seconds=2))
        assert "incoming_users_batch.email_format" in report_text(conn)  # no success since: still current

        success = cycle(conn, "success", 30)
        store(conn, success.run_id, [CheckResult("incoming_users_batch.email_format", "gx", "pass")],
              success.started_at + timedelta(seconds=2))
        text = report_text(conn)
        assert "incoming_users_batch.email_format" not in text
        assert "Failed checks: none since the last successful cycle" in text
        assert "1 failed check(s) before the last successful cycle are history" in text

        newer = cycle(conn, "failed", 1, "checks failed: 1 of 30 (nat)")
        store(conn, newer.run_id, [CheckResult("incoming_users_batch.nat_known", "gx", "fail", 1)],
              newer.started_at + timedelta(seconds=2))
        text = report_text(conn)
        assert "Failed checks since the last successful cycle" in text
        assert "incoming_users_batch.nat_known" in text and "incoming_users_batch.email_format" not in text


def test_an_interrupted_cycle_is_its_own_status(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        runs.ensure_table(conn)
        cycle(conn, "interrupted", 0, "interrupted by SIGINT before transform")
        text = report_text(conn)
    row = next(line for line in text.splitlines() if "interrupted by SIGINT" in line)
    assert row.split()[2] == "interrupted"
