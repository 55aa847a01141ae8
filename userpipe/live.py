"""What `userpipe run` shows: a rich Live screen on a terminal, one plain line per cycle otherwise (CI, logs)."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from userpipe import status
from userpipe.runs import RunRecord

HISTORY = 10
HISTORY_WINDOW = timedelta(hours=1)  # recorded cycles older than this are not shown at start


class CycleView(Protocol):
    """Receives the loop's events."""

    def cycle_started(self) -> None: ...

    def cycle_finished(self, record: RunRecord, kpis: dict[str, Any] | None, next_at: datetime | None) -> None: ...

    def waiting(self) -> None:
        """Called every few seconds between cycles."""

    def close(self) -> None: ...


def cycle_line(record: RunRecord, next_at: datetime | None = None) -> str:
    """One cycle as one line: when, outcome, users, seconds per step, next run."""
    users = "-" if record.users_fetched is None else f"{record.users_new} new of {record.users_fetched}"
    parts = [
        f"{record.started_at:%Y-%m-%dT%H:%M:%SZ}",
        record.run_id,
        record.status,
        f"users {users}",
        f"ingest {status.seconds_text(record.ingest_seconds)}",
        f"transform {status.seconds_text(record.transform_seconds)}",
        f"check {status.seconds_text(record.check_seconds)}",
        f"total {status.seconds_text(record.seconds)}",
    ]
    if record.error:
        parts.append(f"error: {record.error}")
    if next_at is not None:
        parts.append(f"next {next_at:%H:%M:%S}Z")
    return " | ".join(parts)


class PlainView:
    """One line per cycle on stdout (no TTY needed)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)

    def cycle_started(self) -> None:
        pass

    def cycle_finished(self, record: RunRecord, kpis: dict[str, Any] | None, next_at: datetime | None) -> None:
        self.console.print(cycle_line(record, next_at), markup=False, highlight=False)

    def waiting(self) -> None:
        pass

    def close(self) -> None:
        pass


class LiveView:
    """A live screen: settings, KPIs from marts.kpis, the last cycles, and what happens next.

    At start it shows the recorded cycles of the last hour (older failures are history, not the current state).
    The KPIs come with each cycle's outcome and, between cycles, from `read_kpis` whenever the loop calls
    `waiting()`: `freshness_lag_seconds` and "last minute" are computed when read, so they move while it waits.
    """

    def __init__(self, header: str, history: list[RunRecord] | None = None, console: Console | None = None,
                 read_kpis: Callable[[], dict[str, Any] | None] | None = None) -> None:
        self.header = header
        self.read_kpis = read_kpis
        shown_from = datetime.now(UTC) - HISTORY_WINDOW
        recent = [record for record in history or [] if record.started_at >= shown_from]
        self.cycles: deque[RunRecord] = deque(recent[:HISTORY], maxlen=HISTORY)
        self.kpis: dict[str, Any] | None = None
        self.next_at: datetime | None = None
        self.running_since: datetime | None = None
        self.live = Live(self, console=console, refresh_per_second=2, transient=False)
        self.live.start()

    def __rich__(self) -> RenderableType:
        now = datetime.now(UTC)
        if self.running_since is not None:
            state = Text(f"cycle running for {(now - self.running_since).total_seconds():.0f}s", style="cyan")
        elif self.next_at is not None:
            wait = max(0.0, (self.next_at - now).total_seconds())
            state = Text(f"next run at {self.next_at:%H:%M:%S} UTC (in {wait:.0f}s) - Ctrl-C stops after the "
                         "current step")
        else:
            state = Text("done", style="yellow")
        parts: list[RenderableType] = [Text(self.header, style="bold"), status.kpis_table(self.kpis),
                                       status.cycles_table(list(self.cycles), wrap_errors=False)]
        newest = self.cycles[0] if self.cycles else None
        if newest is not None and newest.error:  # whole here, cut in the table
            parts.append(Text(f"last cycle ({newest.started_at:%H:%M:%S}, {newest.status}): {newest.error}",
                              style="red" if newest.status == "failed" else "yellow", overflow="fold"))
        return Group(*parts, state)

    def cycle_started(self) -> None:
        self.running_since = datetime.now(UTC)
        self.next_at = None

    def cycle_finished(self, record: RunRecord, kpis: dict[str, Any] | None, next_at: datetime | None) -> None:
        self.running_since = None
        self.cycles.appendleft(record)
        if kpis is not None:
            self.kpis = kpis
        self.next_at = next_at
        self.live.refresh()

    def waiting(self) -> None:
        """Re-read the KPIs (kept as they were when they cannot be read)."""
        kpis = self.read_kpis() if self.read_kpis is not None else None
        if kpis is not None:
            self.kpis = kpis
            self.live.refresh()

    def close(self) -> None:
        self.live.stop()


def choose_view(header: str, history: list[RunRecord] | None = None, plain: bool | None = None,
                read_kpis: Callable[[], dict[str, Any] | None] | None = None) -> CycleView:
    """The live screen on a terminal, plain lines otherwise (or when `plain` says so)."""
    if plain is None:
        plain = not sys.stdout.isatty()
    return PlainView() if plain else LiveView(header, history, read_kpis=read_kpis)
