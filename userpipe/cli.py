"""The `userpipe` command line: parses arguments and calls into the layers, nothing more.

Each command group lives in `userpipe/commands/<group>.py`. Failures a user can act on are raised as
`UserpipeError` and printed here as one line, with a non-zero exit.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from userpipe.commands import api, check, db, ingest, kestra, quickstart, run, status, stream, transform
from userpipe.errors import UserpipeError

cli = typer.Typer(
    name="userpipe",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Real-time synthetic-user ELT pipeline: randomuser API -> dlt -> PostgreSQL -> dbt -> checks.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
cli.add_typer(db.app, name="db")
cli.command("run")(run.run)
cli.command("status")(status.status)
cli.add_typer(kestra.app, name="kestra")
cli.command("check")(check.check)
cli.command("ingest")(ingest.ingest)
cli.command("stream")(stream.stream)
cli.command("transform")(transform.transform)
cli.command("quickstart")(quickstart.quickstart)
cli.add_typer(api.app, name="api", help="Our randomuser.me-compatible API: serve it, with fault switches.")


@cli.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what every step does (INFO level)."),
) -> None:
    """userpipe: a steady stream of realistic fake users, landed, modelled and checked in PostgreSQL."""
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def app() -> None:
    """Console entry point: run the CLI, turning UserpipeError into one line and exit code 1."""
    try:
        cli()
    except UserpipeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__" or os.environ.get("USERPIPE_CLI_MAIN"):
    app()
