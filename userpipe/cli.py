"""The `userpipe` command line: parses arguments and calls into the layers, nothing more.

Each command group lives in `userpipe/commands/<group>.py`. Failures a user can act on are raised as
`UserpipeError` and printed here as one line, with a non-zero exit.
"""

from __future__ import annotations

import logging
import os
import sys

import typer
import typer.core
import typer.main

# typer (>= 0.26) carries its own copy of Click: its commands raise that copy's exceptions
from typer._click import exceptions as click_errors

from userpipe.commands import api, check, dashboard, db, ingest, kestra, quickstart, run, status, stream, transform
from userpipe.errors import UserpipeError

HELP_OPTIONS = ["-h", "--help"]
cli = typer.Typer(
    name="userpipe",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Real-time synthetic-user ELT pipeline: randomuser API -> dlt -> PostgreSQL -> dbt -> checks.",
    context_settings={"help_option_names": HELP_OPTIONS},
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
cli.command("dashboard")(dashboard.dashboard)
cli.add_typer(api.app, name="api", help="Our randomuser.me-compatible API: serve it, with fault switches.")


@cli.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what every step does (INFO level)."),
) -> None:
    """userpipe: a steady stream of realistic fake users, landed, modelled and checked in PostgreSQL."""
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def command() -> typer.core.TyperGroup:
    """The Click command tree of `cli`, with flags shown bare in --help (typer would print `--once <bool>`)."""
    root = typer.main.get_command(cli)
    assert isinstance(root, typer.core.TyperGroup)
    pending: list[typer.core.TyperCommand | typer.core.TyperGroup] = [root]
    while pending:
        current = pending.pop()
        # the help option is made (and kept) on first use: make it now, to show it bare too
        help_option = current.get_help_option(typer.Context(current, help_option_names=HELP_OPTIONS))
        for param in [*current.params, help_option]:
            if isinstance(param, typer.core.TyperOption) and param.is_flag:
                param.metavar = ""
        if isinstance(current, typer.core.TyperGroup):
            pending += current.commands.values()  # type: ignore[arg-type]
    return root


def app() -> None:
    """Console entry point: a UserpipeError is one `error:` line and exit code 1; a malformed command line
    (unknown command or option, missing or unreadable value) is one `error:` line, a hint and exit code 2."""
    root = command()
    try:
        code = root.main(prog_name="userpipe", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:  # a group given no command: its help
        exc.show()
        sys.exit(exc.exit_code)
    except click_errors.UsageError as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        path = exc.ctx.command_path if exc.ctx is not None else _command_path(root, sys.argv[1:])
        print(f"try '{path} --help'", file=sys.stderr)
        sys.exit(exc.exit_code)
    except click_errors.ClickException as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(1)
    except UserpipeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _command_path(root: typer.core.TyperGroup, args: list[str]) -> str:
    """`userpipe kestra ingest` for `kestra ingest --run-id`: the command the arguments name (for errors the
    parser raises without a context)."""
    words, current = ["userpipe"], root
    for arg in (arg for arg in args if not arg.startswith("-")):  # a group's options are flags (-v)
        sub = current.commands.get(arg) if isinstance(current, typer.core.TyperGroup) else None
        if sub is None:
            break
        words.append(arg)
        current = sub  # type: ignore[assignment]
    return " ".join(words)


if __name__ == "__main__" or os.environ.get("USERPIPE_CLI_MAIN"):
    app()
