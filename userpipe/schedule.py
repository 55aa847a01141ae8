"""When cycles run: a cron expression (5 fields, or 6 with seconds last) and the next run after a moment."""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import croniter  # type: ignore[import-untyped]

from userpipe.errors import UserpipeError

DEFAULT_CRON = "*/1 * * * *"


class Schedule:
    """A validated cron expression; `next_after` gives the next tick in UTC."""

    def __init__(self, expression: str) -> None:
        cleaned = " ".join(expression.split())
        if len(cleaned.split()) not in (5, 6) or not croniter.is_valid(cleaned):
            raise UserpipeError(
                f"invalid --cron {expression!r}: expected 5 cron fields like '*/1 * * * *' "
                "(or 6 with seconds last)"
            )
        self.expression = cleaned

    def next_after(self, moment: datetime | None = None) -> datetime:
        start = moment or datetime.now(UTC)
        return croniter(self.expression, start).get_next(datetime).astimezone(UTC)

    def seconds_until_next(self, moment: datetime | None = None) -> float:
        now = moment or datetime.now(UTC)
        return max(0.0, (self.next_after(now) - now).total_seconds())

    def __repr__(self) -> str:
        return f"Schedule({self.expression!r})"
