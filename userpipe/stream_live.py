"""What `userpipe stream` shows: a rich Live panel on a terminal, one plain line every few seconds otherwise."""

from __future__ import annotations

import sys
import time

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ingestion.stream import StreamStats

PLAIN_EVERY_SECONDS = 5.0


def lag_text(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def stats_line(stats: StreamStats) -> str:
    """The stream's state as one line: rate, totals, lag, reconnects."""
    return " | ".join([
        f"seed {stats.seed}",
        f"rate {stats.rate():.1f} users/s",
        f"landed {stats.landed_new} new of {stats.received} received",
        f"last seq {stats.last_seq}",
        f"lag p50 {lag_text(stats.lag_percentile(0.5))} p95 {lag_text(stats.lag_percentile(0.95))}",
        f"reconnects {stats.reconnects}",
        *(["database DOWN"] if stats.database_down else []),
    ])


class PlainStreamView:
    """A line every PLAIN_EVERY_SECONDS and one per trouble (no TTY needed)."""

    def __init__(self, console: Console | None = None, every: float = PLAIN_EVERY_SECONDS) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.every = every
        self.stats: StreamStats | None = None
        self._last = 0.0
        self._printed_at_commit = -1

    def _print(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def connected(self, stats: StreamStats) -> None:
        self.stats = stats
        self._print(f"streaming {stats.url} seed {stats.seed} from sequence {stats.last_seq + 1}")

    def committed(self, stats: StreamStats) -> None:
        self.stats = stats
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._printed_at_commit = stats.commits
            self._print(stats_line(stats))

    def trouble(self, stats: StreamStats, message: str) -> None:
        self.stats = stats
        self._print(message)

    def close(self) -> None:
        if self.stats is not None and self.stats.commits != self._printed_at_commit:
            self._print(stats_line(self.stats))


class LiveStreamView(PlainStreamView):
    """A live panel: rate, landed, lag percentiles, reconnects and the last trouble."""

    def __init__(self, console: Console | None = None) -> None:
        super().__init__(console)
        self.message = "connecting"
        self.live = Live(self, console=self.console, refresh_per_second=4, transient=False)
        self.live.start()

    def __rich__(self) -> RenderableType:
        table = Table(show_header=False, box=None)
        stats = self.stats
        if stats is not None:
            rows = [
                ("feed", f"{stats.url} (seed {stats.seed})"),
                ("rate", f"{stats.rate():.1f} users/s (last 5 s)"),
                ("landed", f"{stats.landed_new} new in raw.users, {stats.received} received, last seq "
                           f"{stats.last_seq}"),
                ("lag emit->commit", f"p50 {lag_text(stats.lag_percentile(0.5))}, "
                                     f"p95 {lag_text(stats.lag_percentile(0.95))}"),
                ("reconnects", str(stats.reconnects)),
                ("database", "DOWN (not reading the feed)" if stats.database_down else "up"),
            ]
            for name, value in rows:
                table.add_row(Text(name, style="bold"), value)
        return Group(Text("userpipe stream - Ctrl-C stops", style="bold"), table, Text(self.message))

    def connected(self, stats: StreamStats) -> None:
        self.stats, self.message = stats, f"streaming from sequence {stats.last_seq + 1}"

    def committed(self, stats: StreamStats) -> None:
        self.stats = stats

    def trouble(self, stats: StreamStats, message: str) -> None:
        self.stats, self.message = stats, message

    def close(self) -> None:
        self.live.stop()


def choose_stream_view(plain: bool | None = None) -> PlainStreamView:
    if plain is None:
        plain = not sys.stdout.isatty()
    return PlainStreamView() if plain else LiveStreamView()
