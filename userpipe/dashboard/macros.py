"""Grafana's PostgreSQL datasource macro expansion, re-done in Python for the dashboard page (and its tests).

Mirrors grafana/grafana `pkg/tsdb/grafana-postgresql-datasource` (Grafana 11.x, TimescaleDB off): first the
global SQL substitutions of `sqleng.Interpolate` (`$__interval_ms`, `$__interval`, `$__unixEpochFrom()`,
`$__unixEpochTo()`, plain string replaces), then `macros.go`: every `$__name(args)` matched by
`\\$([_a-zA-Z0-9]+)\\(([^\\)]*)\\)`, args split on "," and trimmed of spaces (so there is always at least one,
maybe empty, argument), times formatted as Go's RFC3339Nano in UTC. Fill modes (a third `$__timeGroup`
argument) change only Grafana's post-processing, not the SQL, so they are accepted and ignored here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
INTERVAL = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class MacroError(ValueError):
    """A macro Grafana would refuse (unknown name, missing argument, bad interval)."""


@dataclass(frozen=True)
class TimeRange:
    """The dashboard time range a query runs for, plus the panel's interval (`$__interval`)."""

    start: datetime
    end: datetime
    interval: timedelta = timedelta(seconds=60)

    @classmethod
    def last(cls, minutes: int, now: datetime | None = None) -> TimeRange:
        end = (now or datetime.now(UTC)).astimezone(UTC)
        return cls(start=end - timedelta(minutes=minutes), end=end)


def expand(sql: str, time_range: TimeRange) -> str:
    """The SQL Grafana sends to PostgreSQL for `sql` over `time_range`."""
    sql = _global_substitutions(sql, time_range)
    original = sql
    result: list[str] = []
    last = 0
    for match in MACRO.finditer(original):
        name, params = match.group(1), match.group(2)
        if name == "__timeGroup":  # pre-5.3 compatibility: a "," right after the macro means "add AS time"
            index = original.find(match.group(0))
            after = index + len(match.group(0))
            if index >= 0 and len(original) > after and original[after] == ",":
                name = "__timeGroupAlias"
        args = [arg.strip(" ") for arg in params.split(",")]
        result.append(original[last:match.start()])
        result.append(_evaluate(name, args, time_range))
        last = match.end()
    result.append(original[last:])
    return "".join(result)


def go_rfc3339nano(moment: datetime) -> str:
    """Go's `t.UTC().Format(time.RFC3339Nano)`: fractional seconds without trailing zeros, `Z` for UTC."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def go_interval_text(interval: timedelta) -> str:
    """gtime.FormatInterval: the largest whole unit (y, d, h, m, s, ms)."""
    milliseconds = int(interval / timedelta(milliseconds=1))
    for unit, size in (("y", 31536000000), ("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000)):
        if milliseconds >= size:
            return f"{milliseconds // size}{unit}"
    return f"{milliseconds}ms" if milliseconds >= 1 else "1ms"


def _global_substitutions(sql: str, time_range: TimeRange) -> str:
    milliseconds = int(time_range.interval / timedelta(milliseconds=1))
    sql = sql.replace("$__interval_ms", str(milliseconds))
    sql = sql.replace("$__interval", go_interval_text(time_range.interval))
    sql = sql.replace("$__unixEpochFrom()", str(_unix(time_range.start)))
    return sql.replace("$__unixEpochTo()", str(_unix(time_range.end)))


def _unix(moment: datetime) -> int:
    """Go's `t.Unix()`: whole seconds, rounded down (also before 1970)."""
    delta = moment.astimezone(UTC) - EPOCH
    return delta.days * 86400 + delta.seconds


def _unix_nano(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - EPOCH
    return _unix(moment) * 1_000_000_000 + delta.microseconds * 1000


def _interval_seconds(arg: str) -> str:
    match = INTERVAL.match(arg.strip("'"))
    if not match:
        raise MacroError(f"error parsing interval {arg}")
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise MacroError(f"interval must be positive, got {arg}")
    return _go_float(float(seconds))


def _go_float(value: float) -> str:
    """Go's `%v` of a float64 for the values intervals take (no exponent below 1e6)."""
    if value >= 1e6:
        raise MacroError(f"interval of {value} s is beyond what this expander formats")
    return str(int(value)) if value.is_integer() else repr(value)


def _group(name: str, args: list[str], expression: str) -> str:
    if len(args) < 2:
        raise MacroError(f"macro {name} needs time column and interval and optional fill value")
    seconds = _interval_seconds(args[1])
    return expression.format(column=args[0], seconds=seconds)


def _evaluate(name: str, args: list[str], time_range: TimeRange) -> str:
    start, end = time_range.start, time_range.end
    match name:
        case "__time":
            return f'{args[0]} AS "time"'
        case "__timeEpoch":
            return f'extract(epoch from {args[0]}) as "time"'
        case "__timeFilter":
            column = args[0]
            return f"{column} BETWEEN '{go_rfc3339nano(start)}' AND '{go_rfc3339nano(end)}'"
        case "__timeFrom":
            return f"'{go_rfc3339nano(start)}'"
        case "__timeTo":
            return f"'{go_rfc3339nano(end)}'"
        case "__timeGroup":
            return _group(name, args, "floor(extract(epoch from {column})/{seconds})*{seconds}")
        case "__timeGroupAlias":
            return _group(name, args, "floor(extract(epoch from {column})/{seconds})*{seconds}") + ' AS "time"'
        case "__unixEpochFilter":
            column = args[0]
            return f"{column} >= {_unix(start)} AND {column} <= {_unix(end)}"
        case "__unixEpochNanoFilter":
            column = args[0]
            return f"{column} >= {_unix_nano(start)} AND {column} <= {_unix_nano(end)}"
        case "__unixEpochNanoFrom":
            return str(_unix_nano(start))
        case "__unixEpochNanoTo":
            return str(_unix_nano(end))
        case "__unixEpochGroup":
            return _group(name, args, "floor(({column})/{seconds})*{seconds}")
        case "__unixEpochGroupAlias":
            return _group(name, args, "floor(({column})/{seconds})*{seconds}") + ' AS "time"'
    raise MacroError(f'unknown macro "{name}"')
