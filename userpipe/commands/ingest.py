"""`userpipe ingest`: fetch one batch of users from a randomuser-compatible API and land it in `raw.users`."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer
from rich.console import Console

# Numbers are taken as text and checked by the ingestion layer, so `--batch-size abc` fails in one line.
BatchSize = Annotated[str, typer.Option("--batch-size", "-n", metavar="N",
                                        help="Users to fetch, 1..100000 (pages of <= 5000).")]
Seed = Annotated[str | None, typer.Option(
    "--seed", help="Seed of the users (same seed + page = same users). Default: continue the last stream "
    "(a new seed the first time); the seed in use is printed.")]
Page = Annotated[str | None, typer.Option(
    "--page", metavar="P", help="First page of the seed (default: 1 with --seed, else the stream's next page).")]
Nat = Annotated[list[str] | None, typer.Option(
    "--nat", metavar="CODES", help="Nationalities, any case: --nat US,GB or --nat us --nat gb (AU BR CA CH DE DK "
    "ES FI FR GB IE IN IR MX NL NO NZ RS TR UA US).")]
ApiUrl = Annotated[str | None, typer.Option(
    "--api-url", metavar="URL", help="A randomuser-compatible API, e.g. https://randomuser.me/api/ "
    "(default: our local API, started in-process).")]

TimeLimit = Annotated[str | None, typer.Option(
    "--time-limit", metavar="SECONDS", help="Longest the fetching may take, retries included; past it the batch "
    "fails and lands nothing (default: 300).")]


def ingest(batch_size: BatchSize = "10", seed: Seed = None, page: Page = None, nat: Nat = None,
           api_url: ApiUrl = None, time_limit: TimeLimit = None) -> None:
    """Fetch N users and land them in raw.users (a user landed before keeps its first row)."""
    from ingestion.pipeline import ingest as ingest_batch
    from ingestion.randomuser.helpers import IngestError

    try:
        first_page = int(page) if page is not None else None
    except ValueError:
        raise IngestError(f"page must be a whole number, got {page!r}") from None
    limit = {} if time_limit is None else {"time_limit": time_limit}
    result = ingest_batch(batch_size, seed=seed, nat=nat, api_url=api_url, page=first_page, **limit)
    console = Console(highlight=False, soft_wrap=True)
    load = f"load {result.load_id}" if result.load_id else "nothing new to load"
    console.print(
        f"[bold]{result.users_fetched}[/] users fetched, {result.users_landed} landed, "
        f"[bold green]{result.users_new}[/] new in raw.users in {result.seconds:.2f} s ({load})"
    )
    console.print(f"seed [bold]{result.seed}[/], pages {result.first_page}..{result.last_page} of {result.api_url}")
    given_api = f" --api-url {shlex.quote(result.api_url)}" if api_url else ""  # not our in-process one
    console.print(f"reproduce: userpipe ingest {result.reproduce_args}{given_api}")
