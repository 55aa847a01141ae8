"""What `userpipe stream` shows: the live panel on a terminal, a line every few seconds otherwise."""

from __future__ import annotations

import io

from rich.console import Console

from ingestion.stream import stream
from randomuser_api.stream import LocalStream
from userpipe.stream_live import LiveStreamView, PlainStreamView


def test_live_panel_shows_rate_landed_lag_and_reconnects(feed: LocalStream, database_url: str) -> None:
    out = io.StringIO()
    view = LiveStreamView(Console(file=out, force_terminal=True, width=140))
    try:
        stream(rate=500, url=feed.url, seed="view", max_users=50, observer=view)
        view.live.refresh()
    finally:
        view.close()
    text = out.getvalue()
    for expected in ("userpipe stream", "rate", "users/s", "50 new in raw.users, 50 received, last seq 50",
                     "lag emit->commit", "p95", "reconnects", "database"):
        assert expected in text, expected


def test_plain_view_prints_a_line_every_few_seconds_and_one_at_the_end(feed: LocalStream,
                                                                      database_url: str) -> None:
    out = io.StringIO()
    view = PlainStreamView(Console(file=out, width=300), every=3600)
    stream(rate=500, url=feed.url, seed="plain", max_users=60, observer=view)
    view.close()
    lines = out.getvalue().strip().splitlines()
    assert lines[0] == f"streaming {feed.url} seed plain from sequence 1"
    assert len(lines) == 3  # the first commit's line, then the last one at close (none in between: every=1h)
    assert "landed 60 new of 60 received | last seq 60" in lines[-1] and "reconnects 0" in lines[-1]
