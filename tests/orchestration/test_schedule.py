"""Cron parsing and the next run: 5 fields (or 6 with seconds), bad expressions rejected in one line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from userpipe.errors import UserpipeError
from userpipe.schedule import DEFAULT_CRON, Schedule


def test_default_cron_ticks_every_minute() -> None:
    schedule = Schedule(DEFAULT_CRON)
    moment = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)
    assert schedule.next_after(moment) == datetime(2026, 1, 1, 12, 1, tzinfo=UTC)
    assert schedule.seconds_until_next(moment) == 30


def test_six_fields_take_seconds_last_and_spacing_is_normalised() -> None:
    schedule = Schedule("*  * * * *   */5")
    assert schedule.expression == "* * * * * */5"
    assert schedule.next_after(datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)) == datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)


def test_every_five_minutes() -> None:
    moment = datetime(2026, 1, 1, 12, 3, 0, tzinfo=UTC)
    assert Schedule("*/5 * * * *").next_after(moment) == datetime(2026, 1, 1, 12, 5, tzinfo=UTC)


@pytest.mark.parametrize("expression", ["", "bad", "* * * *", "61 * * * *", "* * * * * * *", "*/0 * * * *"])
def test_invalid_cron_is_one_readable_error(expression: str) -> None:
    with pytest.raises(UserpipeError, match="invalid --cron") as info:
        Schedule(expression)
    assert "\n" not in str(info.value)
