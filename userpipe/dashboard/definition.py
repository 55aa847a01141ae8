"""The dashboard definition: Grafana's JSON (grafana/dashboards/), read at run time, and the queries it holds.

The package's `definitions` folder is a symlink to `grafana/dashboards/` (copied into a built wheel), so the
page and Grafana read one file. Panels nested in a collapsed row are queried like the others.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
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
MAX_DATA_POINTS = 1000  # Grafana uses the panel's width in pixels; about that of a wide panel


class DashboardError(UserpipeError):
    """The dashboard cannot be served: unreadable definition, bad time range, no reader role."""


@dataclass(frozen=True)
class Query:
    """One panel target: the raw SQL Grafana would expand and send."""

    panel_id: int
    ref_id: str
    raw_sql: str
    format: str


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
                                 str(target.get("format", "table"))))
    return queries


def time_range(start: str, end: str = "now", now: datetime | None = None) -> TimeRange:
    """A Grafana relative range (`now-30m` .. `now`) as a TimeRange; `$__interval` as Grafana would size it."""
    now = now or datetime.now(UTC)
    begin, finish = _moment(start, now), _moment(end, now)
    if not begin < finish:
        raise DashboardError(f"time range must start before it ends, got {start} .. {end}")
    if finish - begin > LONGEST_RANGE:
        raise DashboardError(f"time range longer than {LONGEST_RANGE.days} days: {start} .. {end}")
    seconds = max(1, int((finish - begin).total_seconds() / MAX_DATA_POINTS))
    return TimeRange(begin, finish, interval=timedelta(seconds=seconds))


def _moment(text: str, now: datetime) -> datetime:
    match = RELATIVE.match(text.strip())
    if not match:
        raise DashboardError(f"time must be now or now-<N><s|m|h|d|w>, e.g. now-30m, got {text!r}")
    if match.group(1) is None:
        return now
    return now - timedelta(seconds=int(match.group(1)) * UNIT[match.group(2)])
