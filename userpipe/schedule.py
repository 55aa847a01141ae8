"""When cycles run: a cron expression (5 fields, or 6 with seconds last) and the next run after a moment."""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import CroniterBadDateError, croniter  # type: ignore[import-untyped]

from userpipe.errors import UserpipeError

DEFAULT_CRON = "*/1 * * * *"


# croniter's fields, in order (the sixth, seconds, is optional), with the values each takes
FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day of week", "0-7 or SUN-SAT"),
    ("second", "0-59"),
)


class Schedule:
    """A validated cron expression that fires; `next_after` gives the next tick in UTC."""

    def __init__(self, expression: str) -> None:
        cleaned = " ".join(expression.split())
        fields = cleaned.split()
        if len(fields) not in (5, 6):
            raise UserpipeError(
                f"invalid --cron {expression!r}: expected 5 cron fields like '*/1 * * * *' "
                f"(or 6 with seconds last), got {len(fields)}"
            )
        if not croniter.is_valid(cleaned):
            raise UserpipeError(f"invalid --cron {expression!r}: {_wrong_field(fields)}")
        self.expression = cleaned
        try:
            self.next_after()
        except CroniterBadDateError:
            raise UserpipeError(f"invalid --cron {expression!r}: it never fires (no such date)") from None

    def next_after(self, moment: datetime | None = None) -> datetime:
        start = moment or datetime.now(UTC)
        return croniter(self.expression, start).get_next(datetime).astimezone(UTC)

    def seconds_until_next(self, moment: datetime | None = None) -> float:
        now = moment or datetime.now(UTC)
        return max(0.0, (self.next_after(now) - now).total_seconds())

    def __repr__(self) -> str:
        return f"Schedule({self.expression!r})"


def _wrong_field(fields: list[str]) -> str:
    """Which field of an invalid expression is wrong (each checked with the others set to `*`)."""
    for index, (name, values) in enumerate(FIELDS[: len(fields)]):
        alone = ["*"] * len(fields)
        alone[index] = fields[index]
        if not croniter.is_valid(" ".join(alone)):
            return f"the {name} field {fields[index]!r} is not valid (it takes {values}, lists, ranges, */N)"
    return "its fields do not combine into a valid expression"
