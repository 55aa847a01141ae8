"""Cron parsing and the next run: 5 fields (or 6 with seconds), bad expressions rejected in one line."""

from __future__ import annotations

import re
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


@pytest.mark.parametrize(("expression", "message"), [
    ("61 * * * *", "the minute field '61' is not valid (it takes 0-59"),
    ("* 24 * * *", "the hour field '24' is not valid (it takes 0-23"),
    ("* * 32 * *", "the day of month field '32' is not valid (it takes 1-31"),
    ("* * * 13 *", "the month field '13' is not valid (it takes 1-12 or JAN-DEC"),
    ("* * * * 8", "the day of week field '8' is not valid (it takes 0-7 or SUN-SAT"),
    ("* * * * * 60", "the second field '60' is not valid (it takes 0-59"),
    ("* * * *", "expected 5 cron fields like '*/1 * * * *' (or 6 with seconds last), got 4"),
])
def test_the_wrong_field_is_named(expression: str, message: str) -> None:
    with pytest.raises(UserpipeError, match=re.escape(f"invalid --cron {expression!r}: {message}")):
        Schedule(expression)


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"])
def test_an_expression_that_never_fires_is_rejected(expression: str) -> None:
    with pytest.raises(UserpipeError, match=re.escape(f"invalid --cron {expression!r}: it never fires")):
        Schedule(expression)


def test_a_rare_date_is_fine() -> None:
    assert Schedule("0 0 29 2 *").next_after(datetime(2026, 1, 1, tzinfo=UTC)) == datetime(2028, 2, 29, tzinfo=UTC)
