"""`userpipe stream`: land users from our WebSocket feed in `raw.users` as they arrive."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

# Numbers are taken as text and checked by the ingestion layer, so `--rate abc` fails in one line.
Rate = Annotated[str, typer.Option("--rate", metavar="N", help="Users per second the feed sends (up to 20000).")]
Url = Annotated[str | None, typer.Option(
    "--url", metavar="URL", help="The feed, e.g. ws://127.0.0.1:8001/api/stream (default: ours, started "
    "in-process).")]
Seed = Annotated[str | None, typer.Option(
    "--seed", help="Seed of the users (default: resume the last stream, a new seed the first time).")]
Nat = Annotated[list[str] | None, typer.Option(
    "--nat", metavar="CODES", help="Nationalities, any case: --nat US,GB or --nat us --nat gb.")]
MaxUsers = Annotated[str | None, typer.Option(
    "--max-users", metavar="N", help="Stop after N users received (default: run until Ctrl-C / SIGTERM).")]
Plain = Annotated[bool, typer.Option(
    "--plain", help="A line every few seconds instead of the live panel (the default without a terminal).")]


def stream(rate: Rate = "1", url: Url = None, seed: Seed = None, nat: Nat = None, max_users: MaxUsers = None,
           plain: Plain = False) -> None:
    """Land each user of the stream in raw.users within a fraction of a second; a restart resumes exactly."""
    from ingestion.stream import StreamError, parse_rate
    from ingestion.stream import stream as run_stream
    from userpipe.cycle import StopRequest
    from userpipe.stream_live import choose_stream_view

    users_per_second = parse_rate(rate)  # checked before anything starts
    try:
        limit = int(max_users) if max_users is not None else None
    except ValueError:
        raise StreamError(f"max users must be a whole number, got {max_users!r}") from None
    stop = StopRequest()
    view = choose_stream_view(True if plain else None)
    try:
        with stop.on_signals():
            result = run_stream(users_per_second, url=url, seed=seed, nat=nat, max_users=limit, observer=view,
                                should_stop=lambda: bool(stop))
    finally:
        view.close()
    Console(highlight=False, soft_wrap=True).print(
        f"{result.received} users received, {result.landed_new} new in raw.users, last sequence "
        f"{result.last_seq} of seed {result.seed}, {result.reconnects} reconnects")
