"""Fast ISO-8601 timestamps and ages for the fixed ranges randomuser draws `dob` and `registered` from."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

DAY_MS = 86_400_000
# randomuser 1.4 draws from fixed windows ending at its constant time 1653344189 (2022-05-23).
CONSTANT_TIME_MS = 1_653_344_189_000
DOB_RANGE = (-800_000_000_000, CONSTANT_TIME_MS - DAY_MS * 365 * 21)  # 1944-08-25 .. 2001-05-28
REGISTERED_RANGE = (1_016_688_461_000, CONSTANT_TIME_MS)  # 2002-03-21 .. 2022-05-23
_FIRST_DAY = DOB_RANGE[0] // DAY_MS
_LAST_DAY = CONSTANT_TIME_MS // DAY_MS


@lru_cache(maxsize=1)
def _days() -> tuple[tuple[int, int, int, str], ...]:
    """(year, month, day, "YYYY-MM-DDT") for every day in the drawn windows, from _FIRST_DAY on."""
    epoch = date(1970, 1, 1)
    out = []
    for n in range(_FIRST_DAY, _LAST_DAY + 1):
        dt = epoch + timedelta(days=n)
        out.append((dt.year, dt.month, dt.day, f"{dt.isoformat()}T"))
    return tuple(out)


@lru_cache(maxsize=1)
def _times() -> tuple[str, ...]:
    """"HH:MM:" for each minute of a day."""
    return tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))


def today() -> tuple[int, int, int]:
    now = datetime.now(UTC)
    return now.year, now.month, now.day


class Stamper:
    """Turns epoch milliseconds into randomuser's `{date, age}` (age in whole years as of `today`)."""

    __slots__ = ("_days", "_times", "_today")

    def __init__(self, on: tuple[int, int, int] | None = None) -> None:
        self._days = _days()
        self._times = _times()
        self._today = on or today()

    def stamp(self, ms: int) -> tuple[dict[str, object], tuple[int, int, int]]:
        """`({"date": ISO, "age": years}, (year, month, day))` for a millisecond timestamp in range."""
        day, rest = divmod(ms, DAY_MS)
        y, m, d, prefix = self._days[day - _FIRST_DAY]
        minute, rest = divmod(rest, 60_000)
        ty, tm, td = self._today
        age = ty - y - ((tm, td) < (m, d))
        return {"date": "%s%s%02d.%03dZ" % (prefix, self._times[minute], rest // 1000, rest % 1000),  # noqa: UP031
                "age": age}, (y, m, d)
