"""The dashboard definition: Grafana's JSON (grafana/dashboards/), read at run time, and the queries it holds.

The package's `definitions` folder is a symlink to `grafana/dashboards/` (copied into a built wheel), so the
page and Grafana read one file. Panels nested in a collapsed row are queried like the others.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from userpipe.dashboard.macros import TimeRange
from userpipe.errors import UserpipeError

DEFAULT_DASHBOARD = "realtime_user_analytics.json"
RELATIVE = re.compile(r"^now(?:-(\d+)([smhdw]))?$")
UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
LONGEST_RANGE = timedelta(days=31)
GRID_COLUMNS = 24
PAGE_WIDTH = 1600  # pixels, when the page does not say
INTERVAL_TEXT = re.compile(r"^(\d+(?:\.\d+)?)(ms|[Mwdhmsy])$")
INTERVAL_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000,
               "M": 2_592_000_000, "y": 31_536_000_000}
# Grafana's roundInterval (rangeutil.ts): a raw interval below each bound (ms) becomes the nice value beside it
ROUND_BOUNDS = (10, 15, 35, 75, 150, 350, 750, 1500, 3500, 7500, 12500, 17500, 25000, 45000, 90000, 210000,
                450000, 750000, 1050000, 1500000, 2700000, 5400000, 9000000, 16200000, 32400000, 86400000,
                604800000, 1814400000, 3628800000)
ROUNDED = (1, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 15000, 20000, 30000, 60000, 120000, 300000,
           600000, 900000, 1200000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000, 86400000, 604800000,
           2592000000, 31536000000)


class DashboardError(UserpipeError):
    """The dashboard cannot be served: unreadable definition, bad time range, no reader role."""


@dataclass(frozen=True)
class Query:
    """One panel target: the raw SQL Grafana would expand and send."""

    panel_id: int
    ref_id: str
    raw_sql: str
    format: str
    width: int = GRID_COLUMNS  # grid columns of the panel
    max_data_points: int | None = None
    min_interval: str | None = None

    def time_range(self, page_range: TimeRange, page_width: int = PAGE_WIDTH) -> TimeRange:
        """The page's range with this panel's `$__interval`, as Grafana's calculateInterval sizes it.

        Points: the panel's maxDataPoints, else its width in pixels; the raw interval rounded to Grafana's nice
        values, at least the panel's min interval (1 ms when none).
        """
        points = self.max_data_points or max(1, round(page_width * self.width / GRID_COLUMNS))
        raw_ms = (page_range.end - page_range.start) / timedelta(milliseconds=1) / points
        interval_ms = max(round_interval(raw_ms), interval_ms_of(self.min_interval) or 1)
        return replace(page_range, interval=timedelta(milliseconds=interval_ms))


@dataclass(frozen=True)
class Dashboard:
    """The Grafana JSON as read, and its queries in panel order."""

    document: dict[str, Any]
    queries: tuple[Query, ...]

    @property
    def refresh(self) -> str:
        return str(self.document.get("refresh") or "")


def default_path() -> Path:
    """The shipped dashboard (grafana/dashboards/realtime_user_analytics.json)."""
    return Path(str(resources.files("userpipe.dashboard") / "definitions" / DEFAULT_DASHBOARD))


def load(path: Path | None = None) -> Dashboard:
    """Read a Grafana dashboard JSON and collect every panel's query (rows' nested panels included)."""
    path = path or default_path()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DashboardError(f"cannot read the dashboard {path}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("panels"), list):
        raise DashboardError(f"{path} is not a Grafana dashboard (no panels list)")
    return Dashboard(document, tuple(_queries(document["panels"])))


def all_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every panel, rows' nested panels after their row."""
    found: list[dict[str, Any]] = []
    for panel in panels:
        found.append(panel)
        found.extend(panel.get("panels") or [])
    return found


def _queries(panels: list[dict[str, Any]]) -> list[Query]:
    queries = []
    for panel in all_panels(panels):
        for target in panel.get("targets") or []:
            if target.get("hide") or not target.get("rawSql"):
                continue
            queries.append(Query(int(panel["id"]), str(target.get("refId", "A")), str(target["rawSql"]),
                                 str(target.get("format", "table")), int(panel.get("gridPos", {}).get("w", 24)),
                                 panel.get("maxDataPoints"), panel.get("interval")))
    return queries


def round_interval(milliseconds: float) -> int:
    """Grafana's roundInterval: the nice interval (ms) for a raw one."""
    return ROUNDED[bisect.bisect_right(ROUND_BOUNDS, milliseconds)]


def interval_ms_of(text: str | None) -> int | None:
    """A Grafana interval text (`30s`, `1m`, `>10s`) in ms; None when absent or not a plain interval."""
    match = INTERVAL_TEXT.match((text or "").lstrip(">"))
    return round(float(match.group(1)) * INTERVAL_MS[match.group(2)]) if match else None


def time_range(start: str, end: str = "now", now: datetime | None = None) -> TimeRange:
    """A Grafana relative range (`now-30m` .. `now`) as a TimeRange (each query sets its own `$__interval`)."""
    now = now or datetime.now(UTC)
    begin, finish = _moment(start, now), _moment(end, now)
    if not begin < finish:
        raise DashboardError(f"time range must start before it ends, got {start} .. {end}")
    if finish - begin > LONGEST_RANGE:
        raise DashboardError(f"time range longer than {LONGEST_RANGE.days} days: {start} .. {end}")
    return TimeRange(begin, finish)


def _moment(text: str, now: datetime) -> datetime:
    match = RELATIVE.match(text.strip())
    if not match:
        raise DashboardError(f"time must be now or now-<N><s|m|h|d|w>, e.g. now-30m, got {text!r}")
    if match.group(1) is None:
        return now
    return now - timedelta(seconds=int(match.group(1)) * UNIT[match.group(2)])
